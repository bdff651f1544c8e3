package iamapi

import (
	"context"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

type userResult struct {
	User userXML `xml:"User"`
}

// boundaryOpts is iam:PermissionsBoundary when a boundary is set or being set.
func boundaryOpts(arn string) []sts.AuthzOption {
	if arn == "" {
		return nil
	}
	return []sts.AuthzOption{contextKey("iam:PermissionsBoundary", arn)}
}

// checkAWSManaged refuses an AWS managed policy ARN the core does not know, with the
// error IAM gives for a policy that does not exist.
func checkAWSManaged(c *sts.Call, arn string) error {
	if !account.IsAWSManagedPolicyARN(arn) {
		return nil
	}
	if _, ok := c.Catalog().Lookup(arn); !ok {
		return account.Errorf(account.NoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
	}
	return nil
}

func (a *API) createUser(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	u := account.User{Name: p.String("UserName"), Path: p.String("Path"), PermissionsBoundary: p.String("PermissionsBoundary"), Tags: readTags(p, "Tags")}
	if u.Path == "" {
		u.Path = "/"
	}
	arn := account.UserARN(c.AccountID(), u.Path, u.Name)
	opts := append(requestTagOpts(u.Tags), boundaryOpts(u.PermissionsBoundary)...)
	if err := c.Authorize("iam:CreateUser", arn, opts...); err != nil {
		return nil, err
	}
	if len(u.Tags) > 0 {
		if err := c.Authorize("iam:TagUser", arn, requestTagOpts(u.Tags)...); err != nil {
			return nil, err
		}
	}
	if err := checkBoundaryARN(c, u.PermissionsBoundary); err != nil {
		return nil, err
	}
	var out account.User
	err := update(ctx, c, func(tx *store.Tx) error {
		var err error
		out, err = tx.CreateUser(u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &userResult{User: userOf(out, true)}, nil
}

// checkBoundaryARN checks a PermissionsBoundary parameter: a policy ARN of a policy
// that exists.
func checkBoundaryARN(c *sts.Call, arn string) error {
	if arn == "" {
		return nil
	}
	if err := account.ValidatePolicyARN(arn); err != nil {
		return err
	}
	if account.IsAWSManagedPolicyARN(arn) {
		if _, ok := c.Catalog().Lookup(arn); !ok {
			return account.Errorf(account.NoSuchEntity, "Scope ARN: %s does not exist or is not attachable.", arn)
		}
	}
	return nil
}

func (a *API) getUser(ctx context.Context, c *sts.Call) (any, error) {
	name, err := userName(c)
	if err != nil {
		return nil, err
	}
	u, err := loadUser(ctx, c, "iam:GetUser", name)
	if err != nil {
		return nil, err
	}
	return &userResult{User: userOf(u, true)}, nil
}

type listUsersResult struct {
	Users members[userXML] `xml:"Users"`
	page
}

func (a *API) listUsers(ctx context.Context, c *sts.Call) (any, error) {
	prefix := c.Params.String("PathPrefix")
	if err := c.Authorize("iam:ListUsers", listARN(c, account.ResourceUser, prefix)); err != nil {
		return nil, err
	}
	out, pg, err := viewByPrefix(ctx, c, (*store.Tx).Users, func(u account.User) userXML { return userOf(u, false) })
	if err != nil {
		return nil, err
	}
	return &listUsersResult{Users: list(out), page: pg}, nil
}

func (a *API) updateUser(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	name, newName, newPath := p.String("UserName"), p.String("NewUserName"), p.String("NewPath")
	u, err := loadUser(ctx, c, "iam:UpdateUser", name)
	if err != nil {
		return nil, err
	}
	if newName != "" || newPath != "" {
		// Renaming or moving needs the permission on the new ARN too, as IAM requires.
		if err := c.Authorize("iam:UpdateUser", movedARN(c, account.UserARN, u.Path, u.Name, newPath, newName)); err != nil {
			return nil, err
		}
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateUser(u.Name, newName, newPath)
		return err
	}))
}

func (a *API) deleteUser(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUser(ctx, c, "iam:DeleteUser", c.Params.String("UserName"))
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteUser(u.Name) }))
}

type listTagsResult struct {
	Tags members[tagXML] `xml:"Tags"`
	page
}

// tagsPage renders one page of tags.
func tagsPage(t account.Tags, c *sts.Call) (any, error) {
	items, next, err := paginate(tagsXML(t), pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	return &listTagsResult{Tags: list(items), page: pageResult(next)}, nil
}
