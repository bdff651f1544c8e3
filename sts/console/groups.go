package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := c.client(s).ListGroups(callCtx(r), &iam.ListGroupsInput{MaxItems: aws.Int32(pageSize), Marker: marker(r)})
	if err != nil {
		c.render(w, r, s, "groups", "Groups", nil, err)
		return
	}
	c.render(w, r, s, "groups", "Groups", listView{Items: out.Groups, NextMarker: aws.ToString(out.Marker)}, nil)
}

// createGroup is CreateGroup, then AttachGroupPolicy for the policy chosen.
func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, err := cl.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(name)}); err != nil {
		c.render(w, r, s, "groups", "Groups", nil, err)
		return
	}
	if arn := strings.TrimSpace(r.PostFormValue("arn")); arn != "" {
		if _, err := cl.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
			c.renderGroup(w, r, s, name, err)
			return
		}
	}
	back(w, r, Prefix+"/groups/"+url.PathEscape(name))
}

type groupView struct {
	Name     string
	Group    *types.Group
	Users    []types.User
	Attached []types.AttachedPolicy
}

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderGroup(w, r, s, r.PathValue("name"), nil)
}

func (c *Console) renderGroup(w http.ResponseWriter, r *http.Request, s *session, name string, shown error) {
	ctx, cl := callCtx(r), c.client(s)
	v := groupView{Name: name}
	err := func() error {
		g, err := cl.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String(name), MaxItems: aws.Int32(pageSize)})
		if err != nil {
			return err
		}
		v.Group, v.Users = g.Group, g.Users
		a, err := cl.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: aws.String(name)})
		if err != nil {
			return err
		}
		v.Attached = a.AttachedPolicies
		return nil
	}()
	c.render(w, r, s, "group", "Group "+name, v, cmp.Or(shown, err))
}

func (c *Console) groupOp(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	name := r.PathValue("name")
	g, f := aws.String(name), func(k string) *string { return aws.String(strings.TrimSpace(r.PostFormValue(k))) }
	var err error
	switch r.PathValue("op") {
	case "policy-attach":
		_, err = cl.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: g, PolicyArn: f("arn")})
	case "policy-detach":
		_, err = cl.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: g, PolicyArn: f("arn")})
	case "user-add", "user-remove":
		err = changeMembership(ctx, cl, f("user"), g, r.PathValue("op") == "user-add")
	case "delete":
		if err = confirmed(r, "group", name); err == nil {
			err = deletePrincipal(ctx, cl, "group", name)
		}
	default:
		err = errNoOp
	}
	opDone(w, r, err, Prefix+"/groups", Prefix+"/groups/"+url.PathEscape(name), func(err error) { c.renderGroup(w, r, s, name, err) })
}

// changeMembership adds user to group (add) or takes it out: the membership change
// that both the user's page (group-add, group-remove) and the group's page (user-add,
// user-remove) offer.
func changeMembership(ctx context.Context, cl *iam.Client, user, group *string, add bool) error {
	if add {
		_, err := cl.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: user, GroupName: group})
		return err
	}
	_, err := cl.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: user, GroupName: group})
	return err
}
