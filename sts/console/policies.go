package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/sts/policy"
)

type policiesView struct {
	listView
	Scope string
	Draft string
	Name  string
}

func (c *Console) policiesPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderPolicies(w, r, s, policiesView{}, nil)
}

func (c *Console) renderPolicies(w http.ResponseWriter, r *http.Request, s *session, v policiesView, shown error) {
	v.Scope = "Local"
	if r.URL.Query().Get("scope") == "AWS" {
		v.Scope = "AWS"
	}
	out, err := c.client(s).ListPolicies(callCtx(r), &iam.ListPoliciesInput{Scope: types.PolicyScopeType(v.Scope), MaxItems: aws.Int32(pageSize), Marker: marker(r)})
	if err == nil {
		v.Items, v.NextMarker = out.Policies, aws.ToString(out.Marker)
	}
	c.render(w, r, s, "policies", "Policies", v, cmp.Or(shown, err))
}

// createPolicy is CreatePolicy; a refused document comes back in the editor with
// IAM's message.
func (c *Console) createPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	name, doc := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("document")
	out, err := c.client(s).CreatePolicy(callCtx(r), &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	if err != nil {
		c.renderPolicies(w, r, s, policiesView{Draft: doc, Name: name}, err)
		return
	}
	back(w, r, Prefix+"/policy?arn="+url.QueryEscape(aws.ToString(out.Policy.Arn)))
}

type policyView struct {
	Policy   *types.Policy
	Document string
	Versions []types.PolicyVersion
	Groups   []types.PolicyGroup
	Users    []types.PolicyUser
	Roles    []types.PolicyRole
	Results  []types.EvaluationResult
	Draft    string
}

func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderPolicy(w, r, s, r.URL.Query().Get("arn"), policyView{}, nil)
}

func (c *Console) renderPolicy(w http.ResponseWriter, r *http.Request, s *session, arn string, v policyView, shown error) {
	ctx, cl := callCtx(r), c.client(s)
	a := aws.String(arn)
	err := func() error {
		p, err := cl.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a})
		if err != nil {
			return err
		}
		v.Policy = p.Policy
		pv, err := cl.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			return err
		}
		doc, uerr := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document))
		if uerr != nil {
			doc = aws.ToString(pv.PolicyVersion.Document)
		}
		v.Document = indentJSON(doc)
		vs, err := cl.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: a})
		if err != nil {
			return err
		}
		v.Versions = vs.Versions
		e, err := cl.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: a, MaxItems: aws.Int32(pageSize)})
		if err != nil {
			return err
		}
		v.Groups, v.Users, v.Roles = e.PolicyGroups, e.PolicyUsers, e.PolicyRoles
		return nil
	}()
	if v.Draft == "" {
		v.Draft = v.Document
	}
	title := "Policy"
	if v.Policy != nil {
		title = "Policy " + aws.ToString(v.Policy.PolicyName)
	}
	c.render(w, r, s, "policy", title, v, cmp.Or(shown, err))
}

func (c *Console) policyOp(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	arn := r.PostFormValue("arn")
	a := aws.String(arn)
	var err error
	v := policyView{}
	switch r.PathValue("op") {
	case "version":
		v.Draft = r.PostFormValue("document")
		_, err = cl.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: a, PolicyDocument: aws.String(v.Draft), SetAsDefault: true})
	case "default":
		_, err = cl.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: a, VersionId: aws.String(r.PostFormValue("version"))})
	case "attach":
		name := aws.String(strings.TrimSpace(r.PostFormValue("name")))
		switch r.PostFormValue("kind") {
		case "user":
			_, err = cl.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{PolicyArn: a, UserName: name})
		case "role":
			_, err = cl.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{PolicyArn: a, RoleName: name})
		default:
			_, err = cl.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{PolicyArn: a, GroupName: name})
		}
	case "simulate":
		var out *iam.SimulateCustomPolicyOutput
		actions := strings.Fields(strings.ReplaceAll(r.PostFormValue("actions"), ",", " "))
		in := &iam.SimulateCustomPolicyInput{PolicyInputList: []string{r.PostFormValue("document")}, ActionNames: actions}
		if res := strings.TrimSpace(r.PostFormValue("resource")); res != "" {
			in.ResourceArns = []string{res}
		}
		if out, err = cl.SimulateCustomPolicy(ctx, in); err == nil {
			v.Results = out.EvaluationResults
			v.Draft = r.PostFormValue("document")
			c.renderPolicy(w, r, s, arn, v, nil)
			return
		}
	case "delete":
		if err = confirmed(r, "policy", arn[strings.LastIndex(arn, "/")+1:]); err == nil {
			err = deletePolicy(ctx, cl, arn)
		}
	default:
		err = errNoOp
	}
	opDone(w, r, err, Prefix+"/policies", Prefix+"/policy?arn="+url.QueryEscape(arn), func(err error) { c.renderPolicy(w, r, s, arn, v, err) })
}

// Fault is one fault of a draft policy, as the editor shows it: the engine's own
// message and where it is.
type Fault struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// validate answers the editor's check of a draft (POST, JSON {document, kind}) with
// the policy engine's faults: nothing is changed, so no IAM call is needed.
func (c *Console) validate(w http.ResponseWriter, r *http.Request, _ *session) {
	var in struct{ Document, Kind string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "The body must be JSON: {\"Document\": \"…\", \"Kind\": \"identity|trust\"}.", http.StatusBadRequest)
		return
	}
	kind := policy.KindIdentity
	if in.Kind == "trust" {
		kind = policy.KindTrust
	}
	faults := []Fault{}
	for _, f := range policy.Validate([]byte(in.Document), kind) {
		faults = append(faults, Fault{Code: f.Code, Message: f.Message, Path: f.Path, Line: f.Line, Column: f.Column})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"faults": faults})
}

// indentJSON indents a JSON document for the editor (as it is, if it is not JSON).
func indentJSON(doc string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(doc), "", "  ") != nil {
		return doc
	}
	return b.String()
}
