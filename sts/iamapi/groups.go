package iamapi

import (
	"context"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

type groupResult struct {
	Group groupXML `xml:"Group"`
}

func (a *API) createGroup(ctx context.Context, c *sts.Call) (any, error) {
	g := account.Group{Name: c.Params.String("GroupName"), Path: c.Params.String("Path")}
	if g.Path == "" {
		g.Path = "/"
	}
	if err := c.Authorize("iam:CreateGroup", account.GroupARN(c.AccountID(), g.Path, g.Name)); err != nil {
		return nil, err
	}
	var out account.Group
	err := update(ctx, c, func(tx *store.Tx) error {
		var err error
		out, err = tx.CreateGroup(g)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &groupResult{Group: groupOf(out)}, nil
}

type getGroupResult struct {
	Group groupXML         `xml:"Group"`
	Users members[userXML] `xml:"Users"`
	page
}

func (a *API) getGroup(ctx context.Context, c *sts.Call) (any, error) {
	g, err := loadGroup(ctx, c, "iam:GetGroup", c.Params.String("GroupName"))
	if err != nil {
		return nil, err
	}
	var users []account.User
	var next string
	err = view(ctx, c, func(tx *store.Tx) error {
		var err error
		users, next, err = tx.GroupMembers(g.Name, pageOf(c.Params))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]userXML, len(users))
	for i, u := range users {
		out[i] = userOf(u, false)
	}
	return &getGroupResult{Group: groupOf(g), Users: list(out), page: pageResult(next)}, nil
}

type listGroupsResult struct {
	Groups members[groupXML] `xml:"Groups"`
	page
}

func (a *API) listGroups(ctx context.Context, c *sts.Call) (any, error) {
	prefix := c.Params.String("PathPrefix")
	if err := c.Authorize("iam:ListGroups", listARN(c, account.ResourceGroup, prefix)); err != nil {
		return nil, err
	}
	out, pg, err := viewByPrefix(ctx, c, (*store.Tx).Groups, groupOf)
	if err != nil {
		return nil, err
	}
	return &listGroupsResult{Groups: list(out), page: pg}, nil
}

func (a *API) updateGroup(ctx context.Context, c *sts.Call) (any, error) {
	p := c.Params
	newName, newPath := p.String("NewGroupName"), p.String("NewPath")
	g, err := loadGroup(ctx, c, "iam:UpdateGroup", p.String("GroupName"))
	if err != nil {
		return nil, err
	}
	if newName != "" || newPath != "" {
		if err := c.Authorize("iam:UpdateGroup", movedARN(c, account.GroupARN, g.Path, g.Name, newPath, newName)); err != nil {
			return nil, err
		}
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateGroup(g.Name, newName, newPath)
		return err
	}))
}

func (a *API) deleteGroup(ctx context.Context, c *sts.Call) (any, error) {
	g, err := loadGroup(ctx, c, "iam:DeleteGroup", c.Params.String("GroupName"))
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteGroup(g.Name) }))
}

func (a *API) addUserToGroup(ctx context.Context, c *sts.Call) (any, error) {
	g, err := loadGroup(ctx, c, "iam:AddUserToGroup", c.Params.String("GroupName"))
	if err != nil {
		return nil, err
	}
	user := c.Params.String("UserName")
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.AddUserToGroup(g.Name, user) }))
}

func (a *API) removeUserFromGroup(ctx context.Context, c *sts.Call) (any, error) {
	g, err := loadGroup(ctx, c, "iam:RemoveUserFromGroup", c.Params.String("GroupName"))
	if err != nil {
		return nil, err
	}
	user := c.Params.String("UserName")
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.RemoveUserFromGroup(g.Name, user) }))
}

func (a *API) listGroupsForUser(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUser(ctx, c, "iam:ListGroupsForUser", c.Params.String("UserName"))
	if err != nil {
		return nil, err
	}
	out, pg, err := viewPaginated(ctx, c, func(tx *store.Tx) ([]account.Group, error) { return tx.GroupsForUser(u.Name) }, groupOf)
	if err != nil {
		return nil, err
	}
	return &listGroupsResult{Groups: list(out), page: pg}, nil
}
