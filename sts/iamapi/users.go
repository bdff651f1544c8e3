package iamapi

import (
	"context"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

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
	u := account.User{Name: p.String("UserName"), Path: pathParam(p), PermissionsBoundary: p.String("PermissionsBoundary"), Tags: readTags(p, "Tags")}
	arn := account.UserARN(c.AccountID(), u.Path, u.Name)
	if err := authorizeCreate(c, "iam:CreateUser", "iam:TagUser", arn, u.Tags, boundaryOpts(u.PermissionsBoundary)...); err != nil {
		return nil, err
	}
	if err := checkBoundaryARN(c, u.PermissionsBoundary); err != nil {
		return nil, err
	}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.User, error) { return tx.CreateUser(u) })
	if err != nil {
		return nil, err
	}
	return one("User", userOf(out, true)), nil
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
	u, err := loadUserOrSelf(ctx, c, "iam:GetUser")
	if err != nil {
		return nil, err
	}
	return one("User", userOf(u, true)), nil
}

func (a *API) updateUser(ctx context.Context, c *sts.Call) (any, error) {
	return updateMoved(ctx, c, loadNamedUser, "iam:UpdateUser", "NewUserName", account.UserARN,
		func(u account.User) (string, string) { return u.Path, u.Name }, (*store.Tx).UpdateUser)
}

func (a *API) deleteUser(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadNamedUser, "iam:DeleteUser", func(tx *store.Tx, u account.User) error { return tx.DeleteUser(u.Name) })
}

// tagsPage renders one page of tags.
func tagsPage(t account.Tags, c *sts.Call) (any, error) {
	return paged(c, "Tags", tagsXML(t), identity)
}
