package iamapi

import (
	"context"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store"
)

// holder is a user, group or role as the policy actions see it.
type holder struct {
	ref      account.Ref
	arn      string
	tags     account.Tags
	boundary string
	inline   account.InlinePolicies
	managed  []string
}

// noun is the kind as IAM's action and parameter names spell it.
func noun(k account.Kind) string {
	switch k {
	case account.KindUser:
		return "User"
	case account.KindGroup:
		return "Group"
	}
	return "Role"
}

// loadHolder reads the user, group or role named by the request's UserName, GroupName
// or RoleName and authorizes action on it; withBoundary adds iam:PermissionsBoundary,
// the entity's current boundary, as IAM does for the actions that change what a
// bounded entity may do.
func loadHolder(ctx context.Context, c *sts.Call, k account.Kind, action string, withBoundary bool, opts ...sts.AuthzOption) (holder, error) {
	name := c.Params.String(noun(k) + "Name")
	acct := c.AccountID()
	missing := account.RoleARN(acct, "/", name)
	switch k {
	case account.KindUser:
		missing = account.UserARN(acct, "/", name)
	case account.KindGroup:
		missing = account.GroupARN(acct, "/", name)
	}
	return loaded(ctx, c, action, missing, func(tx *store.Tx) (holder, error) {
		switch k {
		case account.KindUser:
			u, err := tx.User(name)
			if err == nil && u.IsRoot() {
				return holder{}, account.Errorf(account.NoSuchEntity, "The user with name %s cannot be found.", name)
			}
			return holder{ref: account.UserRef(u.Name), arn: u.ARN, tags: u.Tags, boundary: u.PermissionsBoundary, inline: u.InlinePolicies, managed: u.ManagedPolicies}, err
		case account.KindGroup:
			g, err := tx.Group(name)
			return holder{ref: account.GroupRef(g.Name), arn: g.ARN, inline: g.InlinePolicies, managed: g.ManagedPolicies}, err
		}
		r, err := tx.Role(name)
		return holder{ref: account.RoleRef(r.Name), arn: r.ARN, tags: r.Tags, boundary: r.PermissionsBoundary, inline: r.InlinePolicies, managed: r.ManagedPolicies}, err
	}, func(h holder) target {
		t := target{arn: h.arn, tags: h.tags}
		if withBoundary {
			t.extra = boundaryOpts(h.boundary)
		}
		return t
	}, opts...)
}

// onHolder returns the handler of action on the user, group or role (kind k) that the
// request names: it reads it with loadHolder (withBoundary) and answers fn.
func onHolder(k account.Kind, action string, withBoundary bool, fn func(ctx context.Context, c *sts.Call, h holder) (any, error)) sts.Handler {
	return func(ctx context.Context, c *sts.Call) (any, error) {
		h, err := loadHolder(ctx, c, k, action, withBoundary)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c, h)
	}
}

// attach returns the handler of Attach{User,Group,Role}Policy (attach true) or
// Detach…Policy; iam:PolicyARN is the policy's ARN.
func (a *API) attach(k account.Kind, attach bool) sts.Handler {
	verb := "Detach"
	if attach {
		verb = "Attach"
	}
	action := "iam:" + verb + noun(k) + "Policy"
	return func(ctx context.Context, c *sts.Call) (any, error) {
		arn := c.Params.String("PolicyArn")
		h, err := loadHolder(ctx, c, k, action, k != account.KindGroup, contextKey("iam:PolicyARN", arn))
		if err != nil {
			return nil, err
		}
		if err := account.ValidatePolicyARN(arn); err != nil {
			return nil, err
		}
		if !attach {
			return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DetachPolicy(h.ref, arn) }))
		}
		if err := checkAWSManaged(c, arn); err != nil {
			return nil, err
		}
		return ok(update(ctx, c, func(tx *store.Tx) error { return tx.AttachPolicy(h.ref, arn) }))
	}
}

// listAttached returns the handler of ListAttached{User,Group,Role}Policies.
func (a *API) listAttached(k account.Kind) sts.Handler {
	return onHolder(k, "iam:ListAttached"+noun(k)+"Policies", false, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		prefix := c.Params.String("PathPrefix")
		var out []attachedXML
		for _, arn := range h.managed {
			if prefix == "" || strings.HasPrefix(policyPathOf(arn), prefix) {
				out = append(out, attachedOf(arn))
			}
		}
		return paged(c, "AttachedPolicies", out, identity)
	})
}

// inlineLimit is IAM's size quota for one kind's inline policies.
func inlineLimit(k account.Kind) policy.Limit {
	switch k {
	case account.KindUser:
		return policy.LimitInlineUser
	case account.KindGroup:
		return policy.LimitInlineGroup
	}
	return policy.LimitInlineRole
}

// putInline returns the handler of Put{User,Group,Role}Policy: the document is checked
// by the policy engine (MalformedPolicyDocument) and against the kind's size quota.
func (a *API) putInline(k account.Kind) sts.Handler {
	return onHolder(k, "iam:Put"+noun(k)+"Policy", k != account.KindGroup, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		name, doc := c.Params.String("PolicyName"), c.Params.String("PolicyDocument")
		if _, err := policy.Parse([]byte(doc), policy.KindIdentity, func(o *policy.ParseOptions) {
			o.Name, o.Limit, o.Entity = name, inlineLimit(k), h.ref.Name
		}); err != nil {
			return nil, err
		}
		return ok(update(ctx, c, func(tx *store.Tx) error { return tx.PutInlinePolicy(h.ref, name, doc) }))
	})
}

type inlineResult struct {
	UserName       string `xml:"UserName,omitempty"`
	GroupName      string `xml:"GroupName,omitempty"`
	RoleName       string `xml:"RoleName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// getInline returns the handler of Get{User,Group,Role}Policy.
func (a *API) getInline(k account.Kind) sts.Handler {
	return onHolder(k, "iam:Get"+noun(k)+"Policy", false, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		name := c.Params.String("PolicyName")
		doc, found := h.inline.Get(name)
		if !found {
			return nil, account.Errorf(account.NoSuchEntity, "The %s policy with name %s cannot be found.", k, name)
		}
		r := &inlineResult{PolicyName: name, PolicyDocument: account.EscapePolicyDocument(doc)}
		switch k {
		case account.KindUser:
			r.UserName = h.ref.Name
		case account.KindGroup:
			r.GroupName = h.ref.Name
		default:
			r.RoleName = h.ref.Name
		}
		return r, nil
	})
}

// deleteInline returns the handler of Delete{User,Group,Role}Policy.
func (a *API) deleteInline(k account.Kind) sts.Handler {
	return onHolder(k, "iam:Delete"+noun(k)+"Policy", k != account.KindGroup, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		name := c.Params.String("PolicyName")
		return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteInlinePolicy(h.ref, name) }))
	})
}

// listInline returns the handler of List{User,Group,Role}Policies.
func (a *API) listInline(k account.Kind) sts.Handler {
	return onHolder(k, "iam:List"+noun(k)+"Policies", false, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		return paged(c, "PolicyNames", h.inline.Names(), identity)
	})
}

func (a *API) putUserPermissionsBoundary(ctx context.Context, c *sts.Call) (any, error) {
	arn := c.Params.String("PermissionsBoundary")
	h, err := loadHolder(ctx, c, account.KindUser, "iam:PutUserPermissionsBoundary", false, boundaryOpts(arn)...)
	if err != nil {
		return nil, err
	}
	if err := checkBoundaryARN(c, arn); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetPermissionsBoundary(h.ref, arn) }))
}

// deleteBoundary returns the handler of Delete{User,Role}PermissionsBoundary.
func deleteBoundary(k account.Kind) sts.Handler {
	return onHolder(k, "iam:Delete"+noun(k)+"PermissionsBoundary", true, func(ctx context.Context, c *sts.Call, h holder) (any, error) {
		if h.boundary == "" {
			return nil, account.Errorf(account.NoSuchEntity, "The %s with name %s does not have a permissions boundary.", k, h.ref.Name)
		}
		return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetPermissionsBoundary(h.ref, "") }))
	})
}
