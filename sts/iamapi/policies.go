package iamapi

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// checkDocument checks a policy document of kind with the policy engine, within IAM's
// size quota limit: policy.LimitManaged for a managed policy (6,144 characters),
// policy.LimitTrust for a role's trust policy (AssumeRolePolicyDocument).
func checkDocument(doc string, kind policy.Kind, limit policy.Limit) error {
	_, err := policy.Parse([]byte(doc), kind, func(o *policy.ParseOptions) { o.Limit = limit })
	return err
}

// awsPolicyID is a stable unique id for an AWS managed policy (AWS's own ids are not
// published with the documents): ANPA and 17 characters derived from the ARN.
func awsPolicyID(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return account.PrefixPolicy + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// awsPolicy is an AWS managed policy of the catalog as IAM shows it, with this
// account's attachment counts.
func awsPolicy(tx *store.Tx, m *policy.ManagedPolicy) (account.ManagedPolicy, error) {
	attached, err := tx.EntitiesForPolicy(m.ARN, false)
	if err != nil {
		return account.ManagedPolicy{}, err
	}
	bounds, err := tx.EntitiesForPolicy(m.ARN, true)
	if err != nil {
		return account.ManagedPolicy{}, err
	}
	return account.ManagedPolicy{ID: awsPolicyID(m.ARN), Name: m.Name, Path: m.Path, ARN: m.ARN, Description: m.Description,
		Created: m.CreateDate, Updated: m.CreateDate, DefaultVersion: m.DefaultVersionID,
		AttachmentCount: len(attached), PermissionsBoundaryUsageCount: len(bounds)}, nil
}

// catalogPolicy finds an AWS managed policy by ARN.
func catalogPolicy(c *sts.Call, arn string) (*policy.ManagedPolicy, error) {
	m, found := c.Catalog().Lookup(arn)
	if !found || m.ARN != arn {
		return nil, account.Errorf(account.NoSuchEntity, "Policy %s was not found.", arn)
	}
	return m, nil
}

// managedPolicy reads a customer managed policy, or an AWS managed one from the
// catalog.
func managedPolicy(c *sts.Call, tx *store.Tx, arn string) (account.ManagedPolicy, error) {
	if !account.IsAWSManagedPolicyARN(arn) {
		return tx.Policy(arn)
	}
	m, err := catalogPolicy(c, arn)
	if err != nil {
		return account.ManagedPolicy{}, err
	}
	return awsPolicy(tx, m)
}

// loadManaged reads the managed policy PolicyArn (customer or AWS managed) and
// authorizes action on it.
func loadManaged(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.ManagedPolicy, error) {
	arn := c.Params.String("PolicyArn")
	if err := account.ValidatePolicyARN(arn); err != nil {
		return account.ManagedPolicy{}, err
	}
	return loaded(ctx, c, action, arn,
		func(tx *store.Tx) (account.ManagedPolicy, error) { return managedPolicy(c, tx, arn) },
		func(p account.ManagedPolicy) target { return target{arn: p.ARN, tags: p.Tags} }, opts...)
}

// loadLocal is loadManaged for the actions that change a policy: AWS managed ones
// cannot be changed.
func loadLocal(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.ManagedPolicy, error) {
	p, err := loadManaged(ctx, c, action, opts...)
	if err == nil && account.IsAWSManagedPolicyARN(p.ARN) {
		// Authorize refuses these in AWS's words (policy.AWSOwned); this
		// guards the actions it does not list.
		return p, query.NewError(policy.CodeAccessDenied, "Cannot update policies outside your own account.")
	}
	return p, err
}

func (a *API) createPolicy(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	mp := account.ManagedPolicy{Name: p.String("PolicyName"), Path: pathParam(p), Description: p.String("Description"), Tags: readTags(p, "Tags")}
	doc := p.String("PolicyDocument")
	if err := authorizeCreate(c, "iam:CreatePolicy", "iam:TagPolicy", account.PolicyARN(c.AccountID(), mp.Path, mp.Name), mp.Tags); err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindIdentity, policy.LimitManaged); err != nil {
		return nil, err
	}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.ManagedPolicy, error) { return tx.CreatePolicy(mp, doc) })
	if err != nil {
		return nil, err
	}
	x := policyOf(out, true)
	x.Description = ""
	return one("Policy", x), nil
}

func (a *API) getPolicy(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadManaged(ctx, c, "iam:GetPolicy")
	if err != nil {
		return nil, err
	}
	x := policyOf(p, true)
	if x.Tags == nil {
		x.Tags = &members[tagXML]{} // GetPolicy answers Tags, empty when there are none
	}
	return one("Policy", x), nil
}

// listPolicies lists AWS managed policies (by name) then the account's (Scope All),
// or either. Markers say which part the next page starts in.
func (a *API) listPolicies(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	scope := p.String("Scope")
	if scope == "" {
		scope = "All"
	}
	onlyAttached, _ := p.Bool("OnlyAttached")
	f := store.PolicyFilter{PathPrefix: p.String("PathPrefix"), OnlyAttached: onlyAttached, Usage: p.String("PolicyUsageFilter")}
	if err := c.Authorize("iam:ListPolicies", listARN(c, account.ResourcePolicy, f.PathPrefix)); err != nil {
		return nil, err
	}
	pg := pageOf(p)
	limit := pg.MaxItems
	if limit <= 0 {
		limit = 100
	}
	part, inner := "A", ""
	if scope == "Local" {
		part = "L"
	}
	if pg.Marker != "" {
		var found bool
		part, inner, found = strings.Cut(pg.Marker, ".")
		if !found || (part != "A" && part != "L") {
			return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
		}
	}
	var out []account.ManagedPolicy
	next := ""
	err := view(ctx, c, func(tx *store.Tx) error {
		if part == "A" && scope != "Local" {
			aws, err := awsPolicies(c, tx, f)
			if err != nil {
				return err
			}
			items, n, err := paginate(aws, store.Page{Marker: inner, MaxItems: limit})
			if err != nil {
				return err
			}
			out = append(out, items...)
			if n != "" {
				next = "A." + n
				return nil
			}
			part, inner, limit = "L", "", limit-len(items)
		}
		if part != "L" || scope == "AWS" {
			return nil
		}
		if limit == 0 { // the page is full: is there a next one?
			more, _, err := tx.Policies(f, store.Page{MaxItems: 1})
			if len(more) > 0 {
				next = "L."
			}
			return err
		}
		items, n, err := tx.Policies(f, store.Page{Marker: inner, MaxItems: limit})
		out = append(out, items...)
		if n != "" {
			next = "L." + n
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return listOf("Policies", render(out, listedPolicy), pageResult(next)), nil
}

// awsPolicies are the AWS managed policies of the catalog that f keeps, by name.
func awsPolicies(c *sts.Call, tx *store.Tx, f store.PolicyFilter) ([]account.ManagedPolicy, error) {
	var out []account.ManagedPolicy
	for _, m := range c.Catalog().All() {
		if !account.IsAWSManagedPolicyARN(m.ARN) || !strings.HasPrefix(m.Path, f.PathPrefix) {
			continue
		}
		mp, err := awsPolicy(tx, m)
		if err != nil {
			return nil, err
		}
		if keepPolicy(mp, f) {
			out = append(out, mp)
		}
	}
	return out, nil
}

// keepPolicy applies ListPolicies' OnlyAttached and PolicyUsageFilter to a policy, as
// the store does for the account's own.
func keepPolicy(p account.ManagedPolicy, f store.PolicyFilter) bool {
	if !f.OnlyAttached {
		return true
	}
	switch f.Usage {
	case "PermissionsPolicy":
		return p.AttachmentCount > 0
	case "PermissionsBoundary":
		return p.PermissionsBoundaryUsageCount > 0
	}
	return p.AttachmentCount > 0 || p.PermissionsBoundaryUsageCount > 0
}

func (a *API) deletePolicy(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadLocal, "iam:DeletePolicy", func(tx *store.Tx, p account.ManagedPolicy) error { return tx.DeletePolicy(p.ARN) })
}

func (a *API) createPolicyVersion(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadLocal(ctx, c, "iam:CreatePolicyVersion")
	if err != nil {
		return nil, err
	}
	doc := c.Params.String("PolicyDocument")
	setDefault, _ := c.Params.Bool("SetAsDefault")
	if err := checkDocument(doc, policy.KindIdentity, policy.LimitManaged); err != nil {
		return nil, err
	}
	v, err := updated(ctx, c, func(tx *store.Tx) (account.PolicyVersion, error) {
		return tx.CreatePolicyVersion(p.ARN, doc, setDefault)
	})
	if err != nil {
		return nil, err
	}
	return one("PolicyVersion", versionOf(v, false)), nil
}

// versions returns the versions of a managed policy, newest first; an AWS managed
// policy's are the catalog's (at least its default version).
func versions(c *sts.Call, tx *store.Tx, arn string) ([]account.PolicyVersion, error) {
	if !account.IsAWSManagedPolicyARN(arn) {
		return tx.PolicyVersions(arn)
	}
	m, err := catalogPolicy(c, arn)
	if err != nil {
		return nil, err
	}
	known, err := c.Catalog().Versions(arn)
	if err != nil {
		return nil, err
	}
	out := make([]account.PolicyVersion, 0, len(known)+1)
	for _, v := range known {
		out = append(out, account.PolicyVersion{ID: v.ID, Document: string(v.Document), Created: v.CreateDate, IsDefault: v.ID == m.DefaultVersionID})
	}
	if len(out) == 0 {
		out = append(out, account.PolicyVersion{ID: m.DefaultVersionID, Document: string(m.Document), Created: m.CreateDate, IsDefault: true})
	}
	return out, nil
}

func (a *API) getPolicyVersion(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadManaged(ctx, c, "iam:GetPolicyVersion")
	if err != nil {
		return nil, err
	}
	id := c.Params.String("VersionId")
	vs, err := viewed(ctx, c, func(tx *store.Tx) ([]account.PolicyVersion, error) { return versions(c, tx, p.ARN) })
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.ID == id {
			return one("PolicyVersion", versionOf(v, true)), nil
		}
	}
	return nil, account.Errorf(account.NoSuchEntity, "Policy %s version %s does not exist or is not attachable.", p.ARN, id)
}

func (a *API) listPolicyVersions(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadManaged(ctx, c, "iam:ListPolicyVersions")
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, "Versions", func(tx *store.Tx) ([]account.PolicyVersion, error) { return versions(c, tx, p.ARN) },
		func(v account.PolicyVersion) versionXML { return versionOf(v, false) })
}

func (a *API) setDefaultPolicyVersion(ctx context.Context, c *sts.Call) (any, error) {
	id := c.Params.String("VersionId")
	return changeLoaded(ctx, c, loadLocal, "iam:SetDefaultPolicyVersion",
		func(tx *store.Tx, p account.ManagedPolicy) error { return tx.SetDefaultPolicyVersion(p.ARN, id) })
}

func (a *API) deletePolicyVersion(ctx context.Context, c *sts.Call) (any, error) {
	id := c.Params.String("VersionId")
	return changeLoaded(ctx, c, loadLocal, "iam:DeletePolicyVersion",
		func(tx *store.Tx, p account.ManagedPolicy) error { return tx.DeletePolicyVersion(p.ARN, id) })
}

func (a *API) tagPolicy(ctx context.Context, c *sts.Call) (any, error) {
	tags := readTags(c.Params, "Tags")
	return changeLoaded(ctx, c, loadLocal, "iam:TagPolicy",
		func(tx *store.Tx, p account.ManagedPolicy) error {
			return tx.TagResource(account.PolicyRef(p.ARN), tags)
		}, requestTagOpts(tags)...)
}

func (a *API) untagPolicy(ctx context.Context, c *sts.Call) (any, error) {
	keys := c.Params.Strings("TagKeys")
	return changeLoaded(ctx, c, loadLocal, "iam:UntagPolicy",
		func(tx *store.Tx, p account.ManagedPolicy) error {
			return tx.UntagResource(account.PolicyRef(p.ARN), keys)
		}, untagOpts(keys))
}

func (a *API) listPolicyTags(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadManaged(ctx, c, "iam:ListPolicyTags")
	if err != nil {
		return nil, err
	}
	return tagsPage(p.Tags, c)
}

type policyUserXML struct {
	UserName string `xml:"UserName"`
	UserID   string `xml:"UserId"`
}

type policyGroupXML struct {
	GroupName string `xml:"GroupName"`
	GroupID   string `xml:"GroupId"`
}

type policyRoleXML struct {
	RoleName string `xml:"RoleName"`
	RoleID   string `xml:"RoleId"`
}

type entitiesResult struct {
	PolicyGroups members[policyGroupXML] `xml:"PolicyGroups"`
	PolicyUsers  members[policyUserXML]  `xml:"PolicyUsers"`
	PolicyRoles  members[policyRoleXML]  `xml:"PolicyRoles"`
	page
}

func (a *API) listEntitiesForPolicy(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadManaged(ctx, c, "iam:ListEntitiesForPolicy")
	if err != nil {
		return nil, err
	}
	filter, prefix, usage := c.Params.String("EntityFilter"), c.Params.String("PathPrefix"), c.Params.String("PolicyUsageFilter")
	var ents []store.PolicyEntity
	err = view(ctx, c, func(tx *store.Tx) error {
		for _, boundary := range []bool{false, true} {
			if (boundary && usage == "PermissionsPolicy") || (!boundary && usage == "PermissionsBoundary") {
				continue
			}
			es, err := tx.EntitiesForPolicy(p.ARN, boundary)
			if err != nil {
				return err
			}
			for _, e := range es {
				keep, err := entityMatches(tx, e, filter, prefix)
				if err != nil {
					return err
				}
				if keep && !containsEntity(ents, e) {
					ents = append(ents, e)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	items, next, err := paginate(ents, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	r := &entitiesResult{page: pageResult(next)}
	for _, e := range items {
		switch e.Kind {
		case account.KindUser:
			r.PolicyUsers.Member = append(r.PolicyUsers.Member, policyUserXML{e.Name, e.ID})
		case account.KindGroup:
			r.PolicyGroups.Member = append(r.PolicyGroups.Member, policyGroupXML{e.Name, e.ID})
		case account.KindRole:
			r.PolicyRoles.Member = append(r.PolicyRoles.Member, policyRoleXML{e.Name, e.ID})
		}
	}
	return r, nil
}

func containsEntity(es []store.PolicyEntity, e store.PolicyEntity) bool {
	for _, x := range es {
		if x.Kind == e.Kind && x.ID == e.ID {
			return true
		}
	}
	return false
}

// entityMatches applies ListEntitiesForPolicy's EntityFilter and PathPrefix.
func entityMatches(tx *store.Tx, e store.PolicyEntity, filter, prefix string) (bool, error) {
	switch filter {
	case "User", "Group", "Role":
		if filter != noun(e.Kind) {
			return false, nil
		}
	case "LocalManagedPolicy", "AWSManagedPolicy":
		return false, nil
	}
	if prefix == "" || prefix == "/" {
		return true, nil
	}
	path, err := entityPath(tx, e)
	return strings.HasPrefix(path, prefix), err
}

// entityPath is the path of the user, group or role e.
func entityPath(tx *store.Tx, e store.PolicyEntity) (string, error) {
	switch e.Kind {
	case account.KindUser:
		u, err := tx.UserByID(e.ID)
		return u.Path, err
	case account.KindGroup:
		g, err := tx.GroupByID(e.ID)
		return g.Path, err
	}
	r, err := tx.RoleByID(e.ID)
	return r.Path, err
}
