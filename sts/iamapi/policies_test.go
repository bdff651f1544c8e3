package iamapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

const logsPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`

func docWith(action string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":"*"}]}`, action)
}

func TestManagedPolicies(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	p := must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{
		PolicyName: aws.String("logs-writer"), Path: aws.String("/team/"), PolicyDocument: aws.String(logsPolicy),
		Description: aws.String("write logs"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})).Policy
	arn := aws.ToString(p.Arn)
	if arn != "arn:aws:iam::123456789012:policy/team/logs-writer" || aws.ToString(p.DefaultVersionId) != "v1" || !p.IsAttachable {
		t.Fatalf("CreatePolicy = %+v", p)
	}
	got := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})).Policy
	if aws.ToString(got.Description) != "write logs" || tagMap(got.Tags)["k"] != "v" {
		t.Errorf("GetPolicy = %+v", got)
	}

	// Versions: at most five; the default cannot be deleted.
	for i := 2; i <= 5; i++ {
		v := must[*iam.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{
			PolicyArn: &arn, PolicyDocument: aws.String(docWith(fmt.Sprintf("logs:Describe%d", i))), SetAsDefault: i == 3}))
		if want := fmt.Sprintf("v%d", i); aws.ToString(v.PolicyVersion.VersionId) != want || v.PolicyVersion.IsDefaultVersion != (i == 3) {
			t.Errorf("version %d = %+v", i, v.PolicyVersion)
		}
	}
	_, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: aws.String(logsPolicy)})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	vs := must[*iam.ListPolicyVersionsOutput](t)(c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: &arn}))
	var ids []string
	for _, v := range vs.Versions {
		ids = append(ids, aws.ToString(v.VersionId))
	}
	if diff := cmp.Diff(ids, []string{"v5", "v4", "v3", "v2", "v1"}); diff != "" {
		t.Errorf("versions (-got +want):\n%s", diff)
	}
	v3 := must[*iam.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v3")}))
	if doc, _ := url.QueryUnescape(aws.ToString(v3.PolicyVersion.Document)); doc != docWith("logs:Describe3") || !v3.PolicyVersion.IsDefaultVersion {
		t.Errorf("v3 = %s default %v", doc, v3.PolicyVersion.IsDefaultVersion)
	}
	_, err = c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v3")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete the default version of a policy.")
	check(t, ignore(c.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")})))
	_, err = c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v9")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "version v9")

	// Attachments, and who has the policy.
	f.userGroupRole()
	check(t, ignore(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: &arn})))
	check(t, ignore(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: &arn})))
	check(t, ignore(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: &arn})))
	check(t, ignore(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String(iamReadOnlyARN)})))
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuch")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "does not exist or is not attachable")
	_, err = c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: aws.String("not-an-arn")})
	wantErr(t, err, "ValidationError", http.StatusBadRequest, "policyArn")

	ar := must[*iam.ListAttachedRolePoliciesOutput](t)(c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r")}))
	if diff := cmp.Diff(attachedNames(ar.AttachedPolicies), []string{"logs-writer", "IAMReadOnlyAccess"}); diff != "" {
		t.Errorf("attached to r (-got +want):\n%s", diff)
	}
	onlyTeam := must[*iam.ListAttachedRolePoliciesOutput](t)(c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("r"), PathPrefix: aws.String("/team/")}))
	if len(onlyTeam.AttachedPolicies) != 1 {
		t.Errorf("PathPrefix /team/: %v", attachedNames(onlyTeam.AttachedPolicies))
	}
	au := must[*iam.ListAttachedUserPoliciesOutput](t)(c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("u")}))
	ag := must[*iam.ListAttachedGroupPoliciesOutput](t)(c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: aws.String("g")}))
	if len(au.AttachedPolicies) != 1 || len(ag.AttachedPolicies) != 1 {
		t.Errorf("attached: user %d group %d", len(au.AttachedPolicies), len(ag.AttachedPolicies))
	}
	ents := must[*iam.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: &arn}))
	if len(ents.PolicyUsers) != 1 || len(ents.PolicyGroups) != 1 || len(ents.PolicyRoles) != 1 || aws.ToString(ents.PolicyRoles[0].RoleName) != "r" {
		t.Errorf("ListEntitiesForPolicy = %+v", ents)
	}
	onlyRoles := must[*iam.ListEntitiesForPolicyOutput](t)(c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: &arn, EntityFilter: types.EntityTypeRole}))
	if len(onlyRoles.PolicyUsers)+len(onlyRoles.PolicyGroups) != 0 || len(onlyRoles.PolicyRoles) != 1 {
		t.Errorf("EntityFilter Role = %+v", onlyRoles)
	}
	counted := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})).Policy
	if aws.ToInt32(counted.AttachmentCount) != 3 {
		t.Errorf("AttachmentCount = %d, want 3", aws.ToInt32(counted.AttachmentCount))
	}

	// ListPolicies: scopes, OnlyAttached, and pages that run from AWS's policies into
	// the account's.
	local := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal}))
	if len(local.Policies) != 1 || aws.ToString(local.Policies[0].Arn) != arn {
		t.Errorf("Scope Local = %+v", local.Policies)
	}
	attachedAWS := must[*iam.ListPoliciesOutput](t)(c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, OnlyAttached: true}))
	if len(attachedAWS.Policies) != 1 || aws.ToString(attachedAWS.Policies[0].PolicyName) != "IAMReadOnlyAccess" {
		t.Errorf("Scope AWS OnlyAttached = %v", policyNames(attachedAWS.Policies))
	}
	var everything []string
	pg := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{MaxItems: aws.Int32(3)})
	for pg.HasMorePages() {
		out := must[*iam.ListPoliciesOutput](t)(pg.NextPage(ctx))
		everything = append(everything, policyNames(out.Policies)...)
	}
	aws10 := len(f.core.Catalog().All())
	if len(everything) != aws10+1 || everything[len(everything)-1] != "logs-writer" {
		t.Errorf("all policies in pages of 3 = %v (want %d AWS managed, then logs-writer)", everything, aws10)
	}

	// AWS managed policies read like the account's own.
	ro := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(iamReadOnlyARN)})).Policy
	if aws.ToInt32(ro.AttachmentCount) != 1 || aws.ToString(ro.PolicyId)[:4] != "ANPA" {
		t.Errorf("GetPolicy IAMReadOnlyAccess = %+v", ro)
	}
	rov := must[*iam.GetPolicyVersionOutput](t)(c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(iamReadOnlyARN), VersionId: ro.DefaultVersionId}))
	if doc, _ := url.QueryUnescape(aws.ToString(rov.PolicyVersion.Document)); !strings.Contains(doc, "iam:Get*") {
		t.Errorf("IAMReadOnlyAccess document = %s", doc)
	}

	// Deletion in IAM's order.
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete a policy attached to entities.")
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete entity, must detach all policies first.")
	check(t, ignore(c.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("u"), PolicyArn: &arn})))
	check(t, ignore(c.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{GroupName: aws.String("g"), PolicyArn: &arn})))
	check(t, ignore(c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: &arn})))
	_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: &arn})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "you must delete the policy's versions")
	for _, v := range []string{"v2", "v3", "v4", "v5"} {
		check(t, ignore(c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: aws.String(v)})))
	}
	check(t, ignore(c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})))
	_, err = c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "Policy "+arn+" was not found.")
}

func TestPolicyDocumentsRefused(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[` +
		strings.Repeat(`"arn:aws:s3:::bucket/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",`, 130) + `"*"]}]}`
	cases := map[string]struct {
		doc       string
		create    bool // CreatePolicy, else PutUserPolicy
		code, msg string
		status    int
	}{
		"not JSON":          {"{", true, "MalformedPolicyDocument", "Syntax errors in policy.", 400},
		"principal":         {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, true, "MalformedPolicyDocument", "Policy document should not specify a principal.", 400},
		"no effect":         {`{"Version":"2012-10-17","Statement":[{"Action":"s3:*","Resource":"*"}]}`, false, "MalformedPolicyDocument", "Syntax errors in policy.", 400},
		"no resource":       {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, false, "MalformedPolicyDocument", "Policy statement must contain resources.", 400},
		"managed too large": {big, true, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144", 409},
		"inline too large":  {big, false, "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user u", 409},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.create {
				_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(tc.doc)})
			} else {
				_, err = c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("p"), PolicyDocument: aws.String(tc.doc)})
			}
			wantErr(t, err, tc.code, tc.status, tc.msg)
		})
	}
	// The quota counts all of a user's inline policies together.
	half := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[` +
		strings.Repeat(`"arn:aws:s3:::bucket/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",`, 20) + `"*"]}]}`
	check(t, ignore(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("a"), PolicyDocument: aws.String(half)})))
	_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("b"), PolicyDocument: aws.String(half)})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "Maximum policy size of 2048 bytes exceeded for user u")
}

func TestInlinePolicies(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	f.userGroupRole()
	for _, k := range []struct{ noun, name string }{{"User", "u"}, {"Group", "g"}, {"Role", "r"}} {
		t.Run(strings.ToLower(k.noun), func(t *testing.T) {
			entity := k.noun + "Name"
			put := func(n, d string) error {
				return ignore(call(t, ctx, c, "Put"+k.noun+"Policy", in{entity: k.name, "PolicyName": n, "PolicyDocument": d}))
			}
			get := func(n string) (*string, error) {
				return field[*string]("PolicyDocument")(call(t, ctx, c, "Get"+k.noun+"Policy", in{entity: k.name, "PolicyName": n}))
			}
			del := func(n string) error {
				return ignore(call(t, ctx, c, "Delete"+k.noun+"Policy", in{entity: k.name, "PolicyName": n}))
			}
			remove := func() error { return ignore(call(t, ctx, c, "Delete"+k.noun, in{entity: k.name})) } // the entity itself
			check(t, put("logs", logsPolicy))
			check(t, put("describe", docWith("ec2:Describe*")))
			check(t, put("logs", docWith("logs:*"))) // replaces
			doc, err := get("logs")
			check(t, err)
			enc := aws.ToString(doc)
			if doc, _ := url.QueryUnescape(enc); doc != docWith("logs:*") {
				t.Errorf("document = %s", doc)
			}
			if strings.Contains(enc, "{") || strings.Contains(enc, " ") {
				t.Errorf("document is not URL-encoded: %s", enc)
			}
			names, err := field[[]string]("PolicyNames")(call(t, ctx, c, "List"+k.noun+"Policies", in{entity: k.name}))
			check(t, err)
			if diff := cmp.Diff(names, []string{"describe", "logs"}); diff != "" {
				t.Errorf("names (-got +want):\n%s", diff)
			}
			_, err = get("nope")
			wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "policy with name nope cannot be found")
			wantErr(t, remove(), "DeleteConflict", http.StatusConflict, "Cannot delete entity, must delete policies first.")
			check(t, del("logs"))
			check(t, del("describe"))
			wantErr(t, del("describe"), "NoSuchEntity", http.StatusNotFound, "")
			check(t, remove())
		})
	}
}

func TestUserPermissionsBoundaryAndPolicyTags(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	check(t, ignore(c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("u"), PermissionsBoundary: aws.String(powerUserARN)})))
	u := must[*iam.GetUserOutput](t)(c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("u")})).User
	if u.PermissionsBoundary == nil || u.PermissionsBoundary.PermissionsBoundaryType != types.PermissionsBoundaryAttachmentTypePolicy {
		t.Errorf("boundary = %+v", u.PermissionsBoundary)
	}
	pu := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(powerUserARN)})).Policy
	if aws.ToInt32(pu.PermissionsBoundaryUsageCount) != 1 {
		t.Errorf("PermissionsBoundaryUsageCount = %d", aws.ToInt32(pu.PermissionsBoundaryUsageCount))
	}
	check(t, ignore(c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("u")})))
	_, err := c.DeleteUserPermissionsBoundary(ctx, &iam.DeleteUserPermissionsBoundaryInput{UserName: aws.String("u")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "does not have a permissions boundary")
	_, err = c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("u"), PermissionsBoundary: aws.String("arn:aws:iam::123456789012:policy/none")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "Scope ARN")

	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
	check(t, ignore(c.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: &arn, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}})))
	check(t, ignore(c.UntagPolicy(ctx, &iam.UntagPolicyInput{PolicyArn: &arn, TagKeys: []string{"a"}})))
	tags := must[*iam.ListPolicyTagsOutput](t)(c.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: &arn}))
	if diff := cmp.Diff(tagMap(tags.Tags), map[string]string{"b": "2"}); diff != "" {
		t.Errorf("policy tags (-got +want):\n%s", diff)
	}
	_, err = c.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: aws.String(adminARN), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "Cannot update policies outside your own account.")
}

func attachedNames(ps []types.AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, aws.ToString(p.PolicyName))
	}
	return out
}

func policyNames(ps []types.Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, aws.ToString(p.PolicyName))
	}
	return out
}
