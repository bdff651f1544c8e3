package console

import (
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func (c *Console) rolesPage(w http.ResponseWriter, r *http.Request, s *session) {
	in := &iam.ListRolesInput{MaxItems: aws.Int32(pageSize)}
	if m := r.URL.Query().Get("marker"); m != "" {
		in.Marker = aws.String(m)
	}
	out, err := c.client(s).ListRoles(callCtx(r), in)
	if err != nil {
		c.render(w, r, s, "roles", "Roles", nil, err)
		return
	}
	c.render(w, r, s, "roles", "Roles", listView{Items: out.Roles, NextMarker: aws.ToString(out.Marker)}, nil)
}

type roleView struct {
	Name     string
	Role     *types.Role
	Trust    string
	Attached []types.AttachedPolicy
	Profiles []types.InstanceProfile
}

func (c *Console) rolePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderRole(w, r, s, r.PathValue("name"), "", nil)
}

// renderRole shows a role: its trust policy in the editor (trust, when set, is the
// draft that failed), policies and instance profiles.
func (c *Console) renderRole(w http.ResponseWriter, r *http.Request, s *session, name, trust string, shown error) {
	ctx, cl := callCtx(r), c.client(s)
	v := roleView{Name: name}
	err := func() error {
		g, err := cl.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return err
		}
		v.Role = g.Role
		if v.Trust, err = url.QueryUnescape(aws.ToString(g.Role.AssumeRolePolicyDocument)); err != nil {
			v.Trust = aws.ToString(g.Role.AssumeRolePolicyDocument)
		}
		v.Trust = indentJSON(v.Trust)
		a, err := cl.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil {
			return err
		}
		v.Attached = a.AttachedPolicies
		p, err := cl.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return err
		}
		v.Profiles = p.InstanceProfiles
		return nil
	}()
	if trust != "" {
		v.Trust = trust
	}
	if shown == nil {
		shown = err
	}
	c.render(w, r, s, "role", "Role "+name, v, shown)
}

func (c *Console) roleOp(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	name := r.PathValue("name")
	n := aws.String(name)
	var err error
	switch r.PathValue("op") {
	case "trust":
		doc := r.PostFormValue("document")
		if _, err = cl.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: n, PolicyDocument: aws.String(doc)}); err != nil {
			c.renderRole(w, r, s, name, doc, err)
			return
		}
	case "policy-attach":
		_, err = cl.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: n, PolicyArn: aws.String(r.PostFormValue("arn"))})
	case "policy-detach":
		_, err = cl.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: n, PolicyArn: aws.String(r.PostFormValue("arn"))})
	case "profile-add":
		p := aws.String(r.PostFormValue("profile"))
		if _, err = cl.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: p}); err == nil || errCode(err) == "EntityAlreadyExists" {
			_, err = cl.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: p, RoleName: n})
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.renderRole(w, r, s, name, "", err)
		return
	}
	back(w, r, Prefix+"/roles/"+url.PathEscape(name))
}
