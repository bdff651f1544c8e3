package store

import (
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// CreateRole creates r (Name and AssumeRolePolicy required; Path defaults to "/",
// MaxSessionDuration to one hour; ID and Created set unless given).
func (tx *Tx) CreateRole(r account.Role) (account.Role, error) {
	if err := tx.checkWritable(); err != nil {
		return account.Role{}, err
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = account.DefaultSessionDuration
	}
	if err := roles.claim(tx, &r, func() error { return tx.checkAttachable(r.ManagedPolicies, r.PermissionsBoundary) }); err != nil {
		return account.Role{}, err
	}
	r.Created = tx.createdAt(r.Created)
	if !r.RevokeSessionsBefore.IsZero() {
		r.RevokeSessionsBefore = r.RevokeSessionsBefore.UTC()
	}
	r.InlinePolicies = sortedInline(r.InlinePolicies)
	if err := insertAttached(tx, roles, &r, account.RoleRef(r.Name), &r.ManagedPolicies, &r.PermissionsBoundary); err != nil {
		return account.Role{}, err
	}
	if !r.LastUsed.Date.IsZero() { // an import's RoleLastUsed
		if err := tx.putUsage(usageRole, r.ID, usageRecord{Date: r.LastUsed.Date.UTC(), Region: r.LastUsed.Region}); err != nil {
			return account.Role{}, err
		}
	}
	return tx.Role(r.Name)
}

// Role returns the role called name (without regard to case).
func (tx *Tx) Role(name string) (account.Role, error) {
	id, err := roles.id(tx, name)
	if err != nil {
		return account.Role{}, err
	}
	return tx.RoleByID(id)
}

// RoleByID returns the role with unique id id (AROA…). A session's role is checked this
// way: a role deleted and created again under the same name has a new id.
func (tx *Tx) RoleByID(id string) (account.Role, error) {
	r, err := roles.byID(tx, id)
	if err != nil {
		return r, err
	}
	return tx.withRoleLastUsed(r), nil
}

// withRoleLastUsed adds the role's last use (RoleLastUsed) to its record.
func (tx *Tx) withRoleLastUsed(r account.Role) account.Role {
	u := tx.usage(usageRole, r.ID)
	r.LastUsed = account.RoleLastUsed{Date: u.Date, Region: u.Region}
	return r
}

// RoleByARN returns the role arn names: the account, path and name must all match
// (names without regard to case), as AssumeRole's RoleArn.
func (tx *Tx) RoleByARN(arn string) (account.Role, error) {
	a, err := account.ParseARN(arn)
	if err != nil {
		return account.Role{}, err
	}
	typ, path, name := a.SplitResource()
	if a.Service != "iam" || a.Account != tx.s.accountID || typ != account.ResourceRole || name == "" {
		return account.Role{}, notFound("The role with ARN %s cannot be found.", arn)
	}
	r, err := tx.Role(name)
	if err != nil || r.Path != path {
		return account.Role{}, orErr(err, notFound("The role with ARN %s cannot be found.", arn))
	}
	return r, nil
}

// Roles lists roles whose path starts with pathPrefix, by name.
func (tx *Tx) Roles(pathPrefix string, p Page) ([]account.Role, string, error) {
	return listNamed(tx, roles, pathPrefix, p, func(r account.Role) (account.Role, bool, error) {
		return tx.withRoleLastUsed(r), true, nil
	})
}

// RoleUpdate changes a role's settings; nil or zero fields are left as they are
// (UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy, and session revocation).
type RoleUpdate struct {
	Description        *string
	MaxSessionDuration time.Duration // 1–12 h
	AssumeRolePolicy   string
	// RevokeSessionsBefore revokes every session of the role issued before it; use
	// RevokeNow for "now", as the console's "Revoke active sessions".
	RevokeSessionsBefore time.Time
}

// RevokeNow returns now rounded up to the next second: every session issued until then
// (a session's issue time is kept to the second) is revoked.
func RevokeNow(now time.Time) time.Time {
	t := now.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// UpdateRole applies u to the role called name.
func (tx *Tx) UpdateRole(name string, u RoleUpdate) (account.Role, error) {
	r, err := change(tx, tx.Role, name)
	if err != nil {
		return account.Role{}, err
	}
	if u.Description != nil {
		r.Description = *u.Description
	}
	if u.MaxSessionDuration != 0 {
		r.MaxSessionDuration = u.MaxSessionDuration
	}
	if u.AssumeRolePolicy != "" {
		r.AssumeRolePolicy = u.AssumeRolePolicy
	}
	if !u.RevokeSessionsBefore.IsZero() {
		r.RevokeSessionsBefore = u.RevokeSessionsBefore.UTC()
	}
	if err := r.Validate(); err != nil {
		return account.Role{}, err
	}
	if err := roles.save(tx, r); err != nil {
		return account.Role{}, err
	}
	return r, nil
}

// DeleteRole deletes a role; it must be in no instance profile and have no policies
// (DeleteConflict), as IAM requires.
func (tx *Tx) DeleteRole(name string) error {
	r, err := change(tx, tx.Role, name)
	if err != nil {
		return err
	}
	if n, err := tx.relCount(rRoleProfile, r.ID); err != nil || n > 0 {
		return orErr(err, conflict("Cannot delete entity, must remove roles from instance profile first."))
	}
	if err := tx.dropPolicies(nRole, r.ID, r.InlinePolicies, r.ManagedPolicies, r.PermissionsBoundary); err != nil {
		return err
	}
	if err := tx.deleteUsage(usageRole, r.ID); err != nil {
		return err
	}
	return roles.remove(tx, r)
}

// PolicyKind tells where a policy in a PolicySet comes from.
type PolicyKind uint8

// Policy kinds.
const (
	Inline     PolicyKind = iota + 1 // embedded in the user, group or role
	Managed                          // a customer managed policy of the account
	AWSManaged                       // an AWS managed policy: Document is empty, resolve ARN
)

// AppliedPolicy is one policy that applies to a principal.
type AppliedPolicy struct {
	Kind PolicyKind
	// ARN is the managed policy's ARN, or for an inline policy the ARN of the user, group
	// or role that holds it.
	ARN       string
	Name      string
	VersionID string // managed: the default version
	Document  string // "" for AWSManaged
}

// PolicySet is what the policy engine evaluates for a principal: identity policies (the
// principal's own inline and managed policies, then each group's) and the permissions
// boundary, read in one transaction at Generation.
type PolicySet struct {
	Identity   []AppliedPolicy
	Boundary   *AppliedPolicy
	Generation uint64
}

// PoliciesFor returns the policies that apply to a user (with its groups'), a group or
// a role. The root user has none: root is allowed everything by the evaluator.
func (tx *Tx) PoliciesFor(ref account.Ref) (PolicySet, error) {
	var set PolicySet
	var err error
	if set.Generation, err = tx.Generation(); err != nil {
		return set, err
	}
	add := func(owner string, inline account.InlinePolicies, managed []string) error {
		for _, ip := range inline {
			set.Identity = append(set.Identity, AppliedPolicy{Kind: Inline, ARN: owner, Name: ip.Name, Document: ip.Document})
		}
		for _, arn := range managed {
			d, err := tx.managedDocument(arn)
			if err != nil {
				return err
			}
			set.Identity = append(set.Identity, d)
		}
		return nil
	}
	switch {
	case ref.Kind == account.KindUser && ref.Name == account.RootUserName:
		return set, nil
	case ref.Kind != account.KindUser && ref.Kind != account.KindGroup && ref.Kind != account.KindRole:
		return set, account.Errorf(account.InvalidInput, "A %s has no identity policies.", ref.Kind)
	}
	h, err := tx.holder(ref)
	if err != nil {
		return set, err
	}
	if err := add(h.arn, *h.inline, *h.managed); err != nil {
		return set, err
	}
	if ref.Kind == account.KindUser {
		groups, err := tx.GroupsForUser(h.name)
		if err != nil {
			return set, err
		}
		for _, g := range groups {
			if err := add(g.ARN, g.InlinePolicies, g.ManagedPolicies); err != nil {
				return set, err
			}
		}
	}
	if h.boundary != nil && *h.boundary != "" {
		d, err := tx.managedDocument(*h.boundary)
		if err != nil {
			return set, err
		}
		set.Boundary = &d
	}
	return set, nil
}

func (tx *Tx) managedDocument(arn string) (AppliedPolicy, error) {
	if account.IsAWSManagedPolicyARN(arn) {
		return AppliedPolicy{Kind: AWSManaged, ARN: arn, Name: arn[strings.LastIndexByte(arn, '/')+1:]}, nil
	}
	p, err := tx.policyByARN(arn)
	if err != nil {
		return AppliedPolicy{}, err
	}
	v, err := tx.defaultVersion(p)
	if err != nil {
		return AppliedPolicy{}, err
	}
	return AppliedPolicy{Kind: Managed, ARN: p.ARN, Name: p.Name, VersionID: v.ID, Document: v.Document}, nil
}
