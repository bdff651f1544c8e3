package iamapi

import (
	"context"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

func (a *API) createGroup(ctx context.Context, c *sts.Call) (any, error) {
	g := account.Group{Name: c.Params.String("GroupName"), Path: pathParam(c.Params)}
	if err := c.Authorize("iam:CreateGroup", account.GroupARN(c.AccountID(), g.Path, g.Name)); err != nil {
		return nil, err
	}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.Group, error) { return tx.CreateGroup(g) })
	if err != nil {
		return nil, err
	}
	return one("Group", groupOf(out)), nil
}

type getGroupResult struct {
	Group groupXML         `xml:"Group"`
	Users members[userXML] `xml:"Users"`
	page
}

func (a *API) getGroup(ctx context.Context, c *sts.Call) (any, error) {
	g, err := loadGroup(ctx, c, "iam:GetGroup")
	if err != nil {
		return nil, err
	}
	var next string
	users, err := viewed(ctx, c, func(tx *store.Tx) ([]account.User, error) {
		users, n, err := tx.GroupMembers(g.Name, pageOf(c.Params))
		next = n
		return users, err
	})
	if err != nil {
		return nil, err
	}
	return &getGroupResult{Group: groupOf(g), Users: list(render(users, listedUser)), page: pageResult(next)}, nil
}

func (a *API) updateGroup(ctx context.Context, c *sts.Call) (any, error) {
	return updateMoved(ctx, c, loadGroup, "iam:UpdateGroup", "NewGroupName", account.GroupARN,
		func(g account.Group) (string, string) { return g.Path, g.Name }, (*store.Tx).UpdateGroup)
}

func (a *API) deleteGroup(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadGroup, "iam:DeleteGroup", func(tx *store.Tx, g account.Group) error { return tx.DeleteGroup(g.Name) })
}

func (a *API) addUserToGroup(ctx context.Context, c *sts.Call) (any, error) {
	user := c.Params.String("UserName")
	return changeLoaded(ctx, c, loadGroup, "iam:AddUserToGroup", func(tx *store.Tx, g account.Group) error { return tx.AddUserToGroup(g.Name, user) })
}

func (a *API) removeUserFromGroup(ctx context.Context, c *sts.Call) (any, error) {
	user := c.Params.String("UserName")
	return changeLoaded(ctx, c, loadGroup, "iam:RemoveUserFromGroup", func(tx *store.Tx, g account.Group) error { return tx.RemoveUserFromGroup(g.Name, user) })
}

func (a *API) listGroupsForUser(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadNamedUser(ctx, c, "iam:ListGroupsForUser")
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, "Groups", func(tx *store.Tx) ([]account.Group, error) { return tx.GroupsForUser(u.Name) }, groupOf)
}
