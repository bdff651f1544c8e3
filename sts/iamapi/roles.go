package iamapi

import (
	"context"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

func (a *API) createRole(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	r := account.Role{Name: p.String("RoleName"), Path: pathParam(p), AssumeRolePolicy: p.String("AssumeRolePolicyDocument"),
		Description: p.String("Description"), PermissionsBoundary: p.String("PermissionsBoundary"), Tags: readTags(p, "Tags")}
	if n, ok := p.Int("MaxSessionDuration"); ok {
		r.MaxSessionDuration = time.Duration(n) * time.Second
	}
	arn := account.RoleARN(c.AccountID(), r.Path, r.Name)
	if err := authorizeCreate(c, "iam:CreateRole", "iam:TagRole", arn, r.Tags, boundaryOpts(r.PermissionsBoundary)...); err != nil {
		return nil, err
	}
	if err := checkDocument(r.AssumeRolePolicy, policy.KindTrust, policy.LimitTrust); err != nil {
		return nil, err
	}
	if err := checkBoundaryARN(c, r.PermissionsBoundary); err != nil {
		return nil, err
	}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.Role, error) { return tx.CreateRole(r) })
	if err != nil {
		return nil, err
	}
	return createdRole(out), nil
}

// createdRole is the result of a role creation: the role without RoleLastUsed.
func createdRole(r account.Role) *element {
	x := roleOf(r, true)
	x.RoleLastUsed = nil
	return one("Role", x)
}

func (a *API) getRole(ctx context.Context, c *sts.Call) (any, error) {
	r, err := loadRole(ctx, c, "iam:GetRole")
	if err != nil {
		return nil, err
	}
	return one("Role", roleOf(r, true)), nil
}

// changeRole authorizes action on the role and applies u.
// serviceLinkedPath is the path of every service-linked role.
const serviceLinkedPath = "/aws-service-role/"

func changeRole(ctx context.Context, c *sts.Call, action string, u store.RoleUpdate, opts ...sts.AuthzOption) (account.Role, error) {
	r, err := loadRole(ctx, c, action, opts...)
	if err != nil {
		return r, err
	}
	if u.MaxSessionDuration != 0 && strings.HasPrefix(r.Path, serviceLinkedPath) {
		// Its service sets a service-linked role's session duration.
		return r, query.NewError(policy.CodeUnmodifiableEntity, r.Name+" is an AWS service linked role, max session duration cannot be changed.")
	}
	err = update(ctx, c, func(tx *store.Tx) error {
		r, err = tx.UpdateRole(r.Name, u)
		return err
	})
	return r, err
}

func (a *API) updateRole(ctx context.Context, c *sts.Call) (any, error) {
	var u store.RoleUpdate
	if d, ok := c.Params.Lookup("Description"); ok {
		u.Description = &d
	}
	if n, ok := c.Params.Int("MaxSessionDuration"); ok {
		u.MaxSessionDuration = time.Duration(n) * time.Second
	}
	if _, err := changeRole(ctx, c, "iam:UpdateRole", u); err != nil {
		return nil, err
	}
	// UpdateRole's output shape has no members, but the SDKs expect its element.
	return &struct{}{}, nil
}

func (a *API) updateRoleDescription(ctx context.Context, c *sts.Call) (any, error) {
	d := c.Params.String("Description")
	r, err := changeRole(ctx, c, "iam:UpdateRoleDescription", store.RoleUpdate{Description: &d})
	if err != nil {
		return nil, err
	}
	return one("Role", roleOf(r, true)), nil
}

func (a *API) updateAssumeRolePolicy(ctx context.Context, c *sts.Call) (any, error) {
	doc := c.Params.String("PolicyDocument")
	r, err := loadRole(ctx, c, "iam:UpdateAssumeRolePolicy")
	if err != nil {
		return nil, err
	}
	if err := checkDocument(doc, policy.KindTrust, policy.LimitTrust); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateRole(r.Name, store.RoleUpdate{AssumeRolePolicy: doc})
		return err
	}))
}

func (a *API) deleteRole(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadRole, "iam:DeleteRole", func(tx *store.Tx, r account.Role) error { return tx.DeleteRole(r.Name) })
}

func (a *API) putRolePermissionsBoundary(ctx context.Context, c *sts.Call) (any, error) {
	arn := c.Params.String("PermissionsBoundary")
	r, err := loadRole(ctx, c, "iam:PutRolePermissionsBoundary", boundaryOpts(arn)...)
	if err != nil {
		return nil, err
	}
	if err := checkBoundaryARN(c, arn); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetPermissionsBoundary(account.RoleRef(r.Name), arn) }))
}

// Instance profiles.

func (a *API) createInstanceProfile(ctx context.Context, c *sts.Call) (any, error) {
	p := account.InstanceProfile{Name: c.Params.String("InstanceProfileName"), Path: pathParam(c.Params), Tags: readTags(c.Params, "Tags")}
	arn := account.InstanceProfileARN(c.AccountID(), p.Path, p.Name)
	if err := authorizeCreate(c, "iam:CreateInstanceProfile", "iam:TagInstanceProfile", arn, p.Tags); err != nil {
		return nil, err
	}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.InstanceProfile, error) { return tx.CreateInstanceProfile(p) })
	if err != nil {
		return nil, err
	}
	return one("InstanceProfile", profileOf(out)), nil
}

func (a *API) getInstanceProfile(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadProfile(ctx, c, "iam:GetInstanceProfile")
	if err != nil {
		return nil, err
	}
	return one("InstanceProfile", profileOf(p)), nil
}

func (a *API) deleteInstanceProfile(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadProfile, "iam:DeleteInstanceProfile",
		func(tx *store.Tx, p account.InstanceProfile) error { return tx.DeleteInstanceProfile(p.Name) })
}

// addRoleToInstanceProfile needs, as IAM, iam:PassRole on the role as well: a role in
// a profile is handed to EC2 (and to the broker's IMDS).
func (a *API) addRoleToInstanceProfile(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadProfile(ctx, c, "iam:AddRoleToInstanceProfile")
	if err != nil {
		return nil, err
	}
	r, err := loadRole(ctx, c, "iam:PassRole", contextKey("iam:PassedToService", "ec2.amazonaws.com"), contextKey("iam:AssociatedResourceArn", p.ARN))
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.AddRoleToInstanceProfile(p.Name, r.Name) }))
}

func (a *API) removeRoleFromInstanceProfile(ctx context.Context, c *sts.Call) (any, error) {
	role := c.Params.String("RoleName")
	return changeLoaded(ctx, c, loadProfile, "iam:RemoveRoleFromInstanceProfile",
		func(tx *store.Tx, p account.InstanceProfile) error {
			return tx.RemoveRoleFromInstanceProfile(p.Name, role)
		})
}

func (a *API) listInstanceProfilesForRole(ctx context.Context, c *sts.Call) (any, error) {
	r, err := loadRole(ctx, c, "iam:ListInstanceProfilesForRole")
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, "InstanceProfiles",
		func(tx *store.Tx) ([]account.InstanceProfile, error) { return tx.InstanceProfilesForRole(r.Name) }, profileOf)
}
