package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
)

// holder is an entity loaded for a change to its policies, boundary or tags; the pointers
// reach into the loaded record and save writes it back. Fields a kind lacks are nil.
type holder struct {
	ref      account.Ref
	key      string // relation key: index kind letter + id
	name     string
	arn      string // of a user, group or role: the owner of its inline policies
	inline   *account.InlinePolicies
	managed  *[]string
	boundary *string
	tags     *account.Tags
	save     func() error
	// inlineQuota is IAM's aggregate inline policy size for the kind (non-whitespace
	// characters), and quotaName the quota's name in LimitExceeded messages.
	inlineQuota int
	quotaName   string
}

func holderKey(kind byte, id string) string { return string(kind) + id }

func (tx *Tx) holder(ref account.Ref) (*holder, error) {
	switch ref.Kind {
	case account.KindUser:
		if ref.Name == account.RootUserName {
			return nil, account.Errorf(account.InvalidInput, "The root user cannot have policies, a permissions boundary or tags.")
		}
		return load(ref, tx.User, func(u *account.User) *holder {
			return &holder{key: holderKey(nUser, u.ID), name: u.Name, arn: u.ARN, inline: &u.InlinePolicies, managed: &u.ManagedPolicies,
				boundary: &u.PermissionsBoundary, tags: &u.Tags, inlineQuota: policy.MaxUserInlineSize, quotaName: "PoliciesPerUser",
				save: func() error { return users.save(tx, *u) }}
		})
	case account.KindGroup:
		return load(ref, tx.Group, func(g *account.Group) *holder {
			return &holder{key: holderKey(nGroup, g.ID), name: g.Name, arn: g.ARN, inline: &g.InlinePolicies, managed: &g.ManagedPolicies,
				inlineQuota: policy.MaxGroupInlineSize, quotaName: "PoliciesPerGroup",
				save: func() error { return groups.save(tx, *g) }}
		})
	case account.KindRole:
		return load(ref, tx.Role, func(r *account.Role) *holder {
			return &holder{key: holderKey(nRole, r.ID), name: r.Name, arn: r.ARN, inline: &r.InlinePolicies, managed: &r.ManagedPolicies,
				boundary: &r.PermissionsBoundary, tags: &r.Tags, inlineQuota: policy.MaxRoleInlineSize, quotaName: "PoliciesPerRole",
				save: func() error { return roles.save(tx, *r) }}
		})
	case account.KindPolicy:
		return load(ref, tx.Policy, func(p *account.ManagedPolicy) *holder {
			return &holder{name: p.ARN, tags: &p.Tags, save: func() error { return policies.save(tx, *p) }}
		})
	case account.KindInstanceProfile:
		return load(ref, profiles.named(tx), func(rec *profileRecord) *holder {
			return &holder{name: rec.Name, tags: &rec.Tags, save: func() error { return profiles.save(tx, *rec) }}
		})
	case account.KindMFADevice:
		return load(ref, tx.mfaRecord, func(rec *mfaRecord) *holder {
			return &holder{name: rec.Serial, tags: &rec.Tags, save: func() error { return tx.saveMFA(*rec) }}
		})
	case account.KindOIDCProvider:
		return load(ref, tx.OIDCProvider, func(p *account.OIDCProvider) *holder {
			return &holder{name: p.ARN, tags: &p.Tags, save: func() error { return tx.put(bOIDC, []byte(p.ARN), p) }}
		})
	case account.KindServerCertificate:
		return load(ref, serverCerts.named(tx), func(rec *serverCertRecord) *holder {
			return &holder{name: rec.Name, tags: &rec.Tags, save: func() error { return serverCerts.save(tx, *rec) }}
		})
	}
	return nil, fmt.Errorf("store: unknown entity kind %d", ref.Kind)
}

// load loads the entity ref names with get and makes its holder with h.
func load[T any](ref account.Ref, get func(string) (T, error), h func(*T) *holder) (*holder, error) {
	v, err := get(ref.Name)
	if err != nil {
		return nil, err
	}
	hd := h(&v)
	hd.ref = ref
	return hd, nil
}

// part is a part of a holder that not every kind has; its value names it in the
// InvalidInput error for a kind that lacks it.
type part string

const (
	partManaged  part = "attached policies"
	partBoundary part = "a permissions boundary"
	partInline   part = "inline policies"
	partTags     part = "tags"
)

func (h *holder) has(p part) bool {
	switch p {
	case partManaged:
		return h.managed != nil
	case partBoundary:
		return h.boundary != nil
	case partInline:
		return h.inline != nil
	case partTags:
		return h.tags != nil
	}
	return false
}

// holderWith loads ref for a change to (or a read of) p, refusing a kind that lacks p.
func (tx *Tx) holderWith(ref account.Ref, p part) (*holder, error) {
	h, err := tx.holder(ref)
	if err != nil {
		return nil, err
	}
	if !h.has(p) {
		return nil, account.Errorf(account.InvalidInput, "A %s cannot have %s.", ref.Kind, string(p))
	}
	return h, nil
}

// changeHolder starts a change to p of ref: it checks that the transaction may write,
// then loads ref with holderWith.
func (tx *Tx) changeHolder(ref account.Ref, p part) (*holder, error) {
	if err := tx.checkWritable(); err != nil {
		return nil, err
	}
	return tx.holderWith(ref, p)
}

// attachable resolves a policy ARN that may be attached: a customer managed policy of this
// account (its stored ARN is returned) or an AWS managed policy the store accepts.
func (tx *Tx) attachable(arn string) (string, error) {
	if err := account.ValidatePolicyARN(arn); err != nil {
		return "", err
	}
	if account.IsAWSManagedPolicyARN(arn) {
		if tx.s.o.AWSManagedPolicyExists(arn) {
			return arn, nil
		}
	} else if p, err := tx.Policy(arn); err == nil {
		return p.ARN, nil
	} else if !isCode(err, account.NoSuchEntity) {
		return "", err
	}
	return "", notFound("Policy %s does not exist or is not attachable.", arn)
}

// AttachPolicy attaches the managed policy arn to a user, group or role (IAM's
// Attach{User,Group,Role}Policy). Attaching it again is not an error.
func (tx *Tx) AttachPolicy(ref account.Ref, arn string) error {
	h, err := tx.changeHolder(ref, partManaged)
	if err != nil {
		return err
	}
	canonical, err := tx.attachable(arn)
	if err != nil {
		return err
	}
	if slices.Contains(*h.managed, canonical) {
		return nil
	}
	if len(*h.managed) >= account.MaxManagedPoliciesPerOne {
		return limitExceeded("Cannot exceed quota for %s: %d.", h.quotaName, account.MaxManagedPoliciesPerOne)
	}
	*h.managed = append(*h.managed, canonical)
	if err := tx.relAdd(rAttached, canonical, h.key); err != nil {
		return err
	}
	return h.save()
}

// DetachPolicy detaches the managed policy arn (NoSuchEntity when it is not attached).
func (tx *Tx) DetachPolicy(ref account.Ref, arn string) error {
	h, err := tx.changeHolder(ref, partManaged)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(*h.managed, func(a string) bool { return strings.EqualFold(a, arn) })
	if i < 0 {
		return notFound("Policy %s was not found.", arn)
	}
	canonical := (*h.managed)[i]
	*h.managed = slices.Delete(*h.managed, i, i+1)
	if err := tx.relDel(rAttached, canonical, h.key); err != nil {
		return err
	}
	return h.save()
}

// checkAttachable verifies, before a new entity is written, that its policies and
// boundary exist: a Tx method that fails must have changed nothing.
func (tx *Tx) checkAttachable(managed []string, boundary string) error {
	for _, arn := range managed {
		if _, err := tx.attachable(arn); err != nil {
			return err
		}
	}
	if boundary != "" {
		if _, err := tx.attachable(boundary); err != nil {
			return notFound("Scope ARN: %s does not exist or is not attachable.", boundary)
		}
	}
	return nil
}

// dropPolicies readies the deletion of the user, group or role id (of name index kind
// kind): as IAM, it refuses (DeleteConflict) while the entity has inline or attached
// policies; its permissions boundary (if any) is let go.
func (tx *Tx) dropPolicies(kind byte, id string, inline account.InlinePolicies, managed []string, boundary string) error {
	if len(inline) > 0 {
		return conflict("Cannot delete entity, must delete policies first.")
	}
	if len(managed) > 0 {
		return conflict("Cannot delete entity, must detach all policies first.")
	}
	if boundary == "" {
		return nil
	}
	return tx.relDel(rBoundary, boundary, holderKey(kind, id))
}

// insertAttached writes rec, a claimed user, group or role named ref, and then attaches
// the managed policies and boundary it was created with (boundary nil: groups have
// none). They are cleared from the record written first, so that attachAll adds them
// the way every later attach does, with its counts and links.
func insertAttached[R interface{ Validate() error }](tx *Tx, k *entityKind[R], rec *R, ref account.Ref, managed *[]string, boundary *string) error {
	m, b := *managed, ""
	*managed = nil
	if boundary != nil {
		b, *boundary = *boundary, ""
	}
	if err := k.insert(tx, *rec); err != nil {
		return err
	}
	return tx.attachAll(ref, m, b)
}

// attachAll attaches policies and a boundary to a new entity (checkAttachable first).
func (tx *Tx) attachAll(ref account.Ref, managed []string, boundary string) error {
	for _, arn := range managed {
		if err := tx.AttachPolicy(ref, arn); err != nil {
			return err
		}
	}
	if boundary != "" {
		return tx.SetPermissionsBoundary(ref, boundary)
	}
	return nil
}

// SetPermissionsBoundary sets the permissions boundary of a user or role to the managed
// policy arn, or removes it when arn is "" (Put/Delete{User,Role}PermissionsBoundary).
func (tx *Tx) SetPermissionsBoundary(ref account.Ref, arn string) error {
	h, err := tx.changeHolder(ref, partBoundary)
	if err != nil {
		return err
	}
	canonical := ""
	if arn != "" {
		if canonical, err = tx.attachable(arn); err != nil {
			if isCode(err, account.NoSuchEntity) {
				return notFound("Scope ARN: %s does not exist or is not attachable.", arn)
			}
			return err
		}
	}
	if *h.boundary == canonical {
		return nil
	}
	if *h.boundary != "" {
		if err := tx.relDel(rBoundary, *h.boundary, h.key); err != nil {
			return err
		}
	}
	if canonical != "" {
		if err := tx.relAdd(rBoundary, canonical, h.key); err != nil {
			return err
		}
	}
	*h.boundary = canonical
	return h.save()
}

// PutInlinePolicy adds or replaces the inline policy name of a user, group or role
// (Put{User,Group,Role}Policy), within IAM's aggregate size quota for the kind.
func (tx *Tx) PutInlinePolicy(ref account.Ref, name, document string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if err := account.RulePolicyName.Check("policyName", name); err != nil {
		return err
	}
	if err := account.ValidatePolicyDocument("policyDocument", document); err != nil {
		return err
	}
	h, err := tx.holderWith(ref, partInline)
	if err != nil {
		return err
	}
	next := h.inline.Put(name, document)
	size := 0
	for _, p := range next {
		size += policySize(p.Document)
	}
	if size > h.inlineQuota {
		return limitExceeded("Maximum policy size of %d bytes exceeded for %s %s", h.inlineQuota, ref.Kind, h.name)
	}
	*h.inline = next
	return h.save()
}

// policySize counts a document as IAM's size quotas do: without whitespace.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// InlinePolicy returns the document of a user's, group's or role's inline policy name.
func (tx *Tx) InlinePolicy(ref account.Ref, name string) (string, error) {
	h, err := tx.holderWith(ref, partInline)
	if err != nil {
		return "", err
	}
	doc, ok := h.inline.Get(name)
	if !ok {
		return "", notFound("The %s policy with name %s cannot be found.", ref.Kind, name)
	}
	return doc, nil
}

// DeleteInlinePolicy deletes a user's, group's or role's inline policy name.
func (tx *Tx) DeleteInlinePolicy(ref account.Ref, name string) error {
	h, err := tx.changeHolder(ref, partInline)
	if err != nil {
		return err
	}
	next, ok := h.inline.Delete(name)
	if !ok {
		return notFound("The %s policy with name %s cannot be found.", ref.Kind, name)
	}
	*h.inline = next
	return h.save()
}

// TagResource adds or overwrites tags on a user, role, managed policy, instance profile,
// MFA device or OIDC provider (Tag{User,Role,…}).
func (tx *Tx) TagResource(ref account.Ref, tags account.Tags) error {
	h, err := tx.changeHolder(ref, partTags)
	if err != nil {
		return err
	}
	merged, err := h.tags.Merge(tags)
	if err != nil {
		return err
	}
	*h.tags = merged
	return h.save()
}

// UntagResource removes the tags with keys (absent keys are ignored).
func (tx *Tx) UntagResource(ref account.Ref, keys []string) error {
	h, err := tx.changeHolder(ref, partTags)
	if err != nil {
		return err
	}
	*h.tags = h.tags.Without(keys)
	return h.save()
}

// PolicyEntity is an entity a managed policy is attached to (or bounds).
type PolicyEntity struct {
	Kind account.Kind
	Name string
	ID   string
}

// EntitiesForPolicy lists the users, groups and roles the managed policy arn is attached
// to, or (boundary true) whose permissions boundary it is.
func (tx *Tx) EntitiesForPolicy(arn string, boundary bool) ([]PolicyEntity, error) {
	rel := rAttached
	if boundary {
		rel = rBoundary
	}
	keys, err := tx.relList(rel, arn)
	if err != nil {
		return nil, err
	}
	out := make([]PolicyEntity, 0, len(keys))
	for _, k := range keys {
		e := PolicyEntity{ID: k[1:]}
		switch k[0] {
		case nUser:
			u, err := tx.UserByID(e.ID)
			if err != nil {
				return nil, err
			}
			e.Kind, e.Name = account.KindUser, u.Name
		case nGroup:
			g, err := tx.GroupByID(e.ID)
			if err != nil {
				return nil, err
			}
			e.Kind, e.Name = account.KindGroup, g.Name
		case nRole:
			r, err := tx.RoleByID(e.ID)
			if err != nil {
				return nil, err
			}
			e.Kind, e.Name = account.KindRole, r.Name
		default:
			return nil, fmt.Errorf("policy %s: malformed attachment %q", arn, k)
		}
		out = append(out, e)
	}
	return out, nil
}

func isCode(err error, code account.Code) bool {
	var e *account.Error
	return errors.As(err, &e) && e.Code == code
}

func sortedInline(p account.InlinePolicies) account.InlinePolicies {
	var out account.InlinePolicies
	for _, ip := range p {
		out = out.Put(ip.Name, ip.Document)
	}
	return out
}
