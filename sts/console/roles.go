package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/internal/awserr"
)

func (c *Console) rolesPage(w http.ResponseWriter, r *http.Request, s *session) {
	out, err := c.client(s).ListRoles(callCtx(r), &iam.ListRolesInput{MaxItems: aws.Int32(pageSize), Marker: marker(r)})
	if err != nil {
		c.render(w, r, s, "roles", "Roles", rolesView{New: newRole{Trusted: "service", MaxHours: 1}}, err)
		return
	}
	c.render(w, r, s, "roles", "Roles", rolesView{listView: listView{Items: out.Roles, NextMarker: aws.ToString(out.Marker)}, New: newRole{Trusted: "service", MaxHours: 1}}, nil)
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
	c.render(w, r, s, "role", "Role "+name, v, cmp.Or(shown, err))
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
		if _, err = cl.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: p}); err == nil || awserr.Code(err) == "EntityAlreadyExists" {
			_, err = cl.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: p, RoleName: n})
		}
	case "delete":
		if err = confirmed(r, "role", name); err == nil {
			err = deletePrincipal(ctx, cl, "role", name)
		}
	default:
		err = errNoOp
	}
	opDone(w, r, err, Prefix+"/roles", Prefix+"/roles/"+url.PathEscape(name), func(err error) { c.renderRole(w, r, s, name, "", err) })
}

// newRole is the create-role form: who may assume the role (Trusted: service,
// account, web, saml or custom), its permissions and its settings.
type newRole struct {
	Trusted                     string
	Service                     string // AWS service: its principal, e.g. ec2.amazonaws.com
	Account, ExternalID         string // AWS account
	MFA                         bool
	Provider, Audience          string // web identity
	SAMLProvider, SAMLAudience  string // SAML 2.0 federation
	Custom                      string // a custom trust policy
	Policies, Name, Description string
	MaxHours                    int
}

type rolesView struct {
	listView
	New newRole
}

// samlSigninAudience is the SAML:aud AWS's console puts in a SAML role's trust
// policy for sign-in to the console (AWS's own ACS URL).
const samlSigninAudience = "https://signin.aws.amazon.com/saml"

func newRoleForm(r *http.Request) newRole {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	n := newRole{Trusted: f("trusted"), Service: f("service"), Account: f("account"), ExternalID: f("external-id"),
		MFA: f("mfa") == "on", Provider: f("provider"), Audience: f("audience"), SAMLProvider: f("saml-provider"),
		SAMLAudience: f("saml-audience"), Custom: r.PostFormValue("document"), Policies: f("policies"), Name: f("name"),
		Description: f("description")}
	n.MaxHours, _ = strconv.Atoi(f("max-hours"))
	return n
}

// statement is one statement of a trust policy the form builds.
type statement struct {
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    any                          `json:"Action"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// trustPolicy is the trust policy AWS's console writes for the trusted entity
// chosen (or the custom one as typed).
func (n newRole) trustPolicy(acct string) (string, error) {
	st := statement{Effect: "Allow", Action: "sts:AssumeRole", Condition: map[string]map[string]string{}}
	cond := func(op, key, value string) {
		if st.Condition[op] == nil {
			st.Condition[op] = map[string]string{}
		}
		st.Condition[op][key] = value
	}
	switch n.Trusted {
	case "custom":
		return n.Custom, nil
	case "service":
		if n.Service == "" {
			return "", userError("Name the AWS service that may use the role (its principal, such as ec2.amazonaws.com).")
		}
		st.Principal = map[string]string{"Service": n.Service}
	case "account":
		a := n.Account
		if a == "" {
			a = acct
		}
		st.Principal = map[string]string{"AWS": "arn:aws:iam::" + a + ":root"}
		if n.ExternalID != "" {
			cond("StringEquals", "sts:ExternalId", n.ExternalID)
		}
		if n.MFA {
			cond("Bool", "aws:MultiFactorAuthPresent", "true")
		}
	case "web":
		if n.Provider == "" || n.Audience == "" {
			return "", userError("Name the identity provider and the audience.")
		}
		host, key := n.Provider, "aud"
		if _, after, ok := strings.Cut(n.Provider, ":oidc-provider/"); ok {
			host = after
		}
		if host == "graph.facebook.com" || host == "www.amazon.com" {
			key = "app_id"
		}
		st.Principal, st.Action = map[string]string{"Federated": n.Provider}, "sts:AssumeRoleWithWebIdentity"
		cond("StringEquals", host+":"+key, n.Audience)
	case "saml":
		if n.SAMLProvider == "" {
			return "", userError("Name the SAML provider (its ARN).")
		}
		aud := n.SAMLAudience
		if aud == "" {
			aud = samlSigninAudience
		}
		st.Principal, st.Action = map[string]string{"Federated": n.SAMLProvider}, []string{"sts:AssumeRoleWithSAML", "sts:TagSession"}
		cond("StringEquals", "SAML:aud", aud)
	default:
		return "", userError("Choose who may assume the role (the trusted entity).")
	}
	b, err := json.MarshalIndent(map[string]any{"Version": "2012-10-17", "Statement": []statement{st}}, "", "  ")
	return string(b), err
}

// createRole is CreateRole with the trust policy built from the form, then
// AttachRolePolicy for each policy named.
func (c *Console) createRole(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	n := newRoleForm(r)
	fail := func(err error) {
		c.render(w, r, s, "roles", "Roles", rolesView{New: n}, err)
	}
	doc, err := n.trustPolicy(c.core.AccountID())
	if err != nil {
		fail(err)
		return
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(n.Name), AssumeRolePolicyDocument: aws.String(doc)}
	if n.Description != "" {
		in.Description = aws.String(n.Description)
	}
	if n.MaxHours > 0 {
		in.MaxSessionDuration = aws.Int32(int32(min(n.MaxHours, 12) * 3600))
	}
	if _, err := cl.CreateRole(ctx, in); err != nil {
		if n.Trusted != "custom" {
			n.Trusted, n.Custom = "custom", doc // show what was sent, to fix in the editor
		}
		fail(err)
		return
	}
	for _, arn := range strings.Fields(strings.ReplaceAll(n.Policies, ",", " ")) {
		if _, err := cl.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(n.Name), PolicyArn: aws.String(arn)}); err != nil {
			c.renderRole(w, r, s, n.Name, "", err)
			return
		}
	}
	back(w, r, Prefix+"/roles/"+url.PathEscape(n.Name))
}
