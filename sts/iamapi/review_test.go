package iamapi_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/sts/iamapi"
)

func TestOpenIDConnectProviders(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	const thumb = "6938fd4d98bab03faadb97b34396831e3780aea1"
	out := must[*iam.CreateOpenIDConnectProviderOutput](t)(c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://token.actions.githubusercontent.com"), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{thumb}}))
	arn := aws.ToString(out.OpenIDConnectProviderArn)
	if arn != "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" {
		t.Fatalf("ARN = %s", arn)
	}
	_, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com"), ThumbprintList: []string{thumb}})
	wantErr(t, err, "EntityAlreadyExists", http.StatusConflict, "")
	_, err = c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("http://insecure.example.com"), ThumbprintList: []string{thumb}})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "https://")

	check(t, ignore(c.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn, ClientID: aws.String("my-app")})))
	check(t, ignore(c.RemoveClientIDFromOpenIDConnectProvider(ctx, &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn, ClientID: aws.String("sts.amazonaws.com")})))
	check(t, ignore(c.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: &arn, ThumbprintList: []string{"1111111111111111111111111111111111111111"}})))
	got := must[*iam.GetOpenIDConnectProviderOutput](t)(c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn}))
	if aws.ToString(got.Url) != "token.actions.githubusercontent.com" ||
		!cmp.Equal(got.ClientIDList, []string{"my-app"}) || !cmp.Equal(got.ThumbprintList, []string{"1111111111111111111111111111111111111111"}) {
		t.Errorf("GetOpenIDConnectProvider = %s %v %v", aws.ToString(got.Url), got.ClientIDList, got.ThumbprintList)
	}
	list := must[*iam.ListOpenIDConnectProvidersOutput](t)(c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}))
	if len(list.OpenIDConnectProviderList) != 1 || aws.ToString(list.OpenIDConnectProviderList[0].Arn) != arn {
		t.Errorf("List = %+v", list.OpenIDConnectProviderList)
	}
	check(t, ignore(c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn})))
	_, err = c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: &arn})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "OpenIDConnect Provider not found")
}

func TestAccountAliasesAndSummary(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	_, err := c.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("Bad_Alias")})
	wantErr(t, err, "ValidationError", http.StatusBadRequest, "accountAlias")
	check(t, ignore(c.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("example-corp")})))
	_, err = c.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("other-corp")})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "AccountAliasesPerAccount")
	al := must[*iam.ListAccountAliasesOutput](t)(c.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}))
	if !cmp.Equal(al.AccountAliases, []string{"example-corp"}) {
		t.Errorf("aliases = %v", al.AccountAliases)
	}
	check(t, ignore(c.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("example-corp")})))
	_, err = c.DeleteAccountAlias(ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("example-corp")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")

	f.user("a", adminARN)
	f.user("b")
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)}))
	sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})).SummaryMap
	want := map[string]int32{"Users": 2, "Groups": 1, "Roles": 0, "Policies": 1, "AccountAccessKeysPresent": 1, "AccountMFAEnabled": 0,
		"AccessKeysPerUserQuota": 2, "VersionsPerPolicyQuota": 5, "PolicySizeQuota": 6144, "UserPolicySizeQuota": 2048}
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("SummaryMap[%s] = %d, want %d", k, sum[k], v)
		}
	}
}

func TestAccountAuthorizationDetails(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	for i := range 4 {
		must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("u%d", i))}))
	}
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Admins")}))
	check(t, ignore(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("Admins"), PolicyArn: aws.String(adminARN)})))
	check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("Admins"), UserName: aws.String("u0")})))
	check(t, ignore(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u1"), PolicyName: aws.String("logs"), PolicyDocument: aws.String(logsPolicy)})))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")}))
	check(t, ignore(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web")})))
	must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("logs"), PolicyDocument: aws.String(logsPolicy)}))

	// Pages of 2 walk users, groups, roles, the account's policies, then AWS's in use.
	var users, groups, roles, policies []string
	var u1 types.UserDetail
	var web types.RoleDetail
	p := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out := must[*iam.GetAccountAuthorizationDetailsOutput](t)(p.NextPage(ctx))
		pages++
		if n := len(out.UserDetailList) + len(out.GroupDetailList) + len(out.RoleDetailList) + len(out.Policies); n > 2 || n == 0 {
			t.Errorf("page %d has %d items", pages, n)
		}
		for _, u := range out.UserDetailList {
			users = append(users, aws.ToString(u.UserName))
			if aws.ToString(u.UserName) == "u1" {
				u1 = u
			}
		}
		for _, g := range out.GroupDetailList {
			groups = append(groups, aws.ToString(g.GroupName))
		}
		for _, r := range out.RoleDetailList {
			roles = append(roles, aws.ToString(r.RoleName))
			web = r
		}
		for _, pol := range out.Policies {
			policies = append(policies, aws.ToString(pol.PolicyName))
		}
	}
	if diff := cmp.Diff([][]string{users, groups, roles, policies},
		[][]string{{"u0", "u1", "u2", "u3"}, {"Admins"}, {"web"}, {"logs", "AdministratorAccess"}}); diff != "" {
		t.Errorf("GAAD (-got +want):\n%s", diff)
	}
	if pages != 4 {
		t.Errorf("%d pages, want 4", pages)
	}
	if len(u1.UserPolicyList) != 1 {
		t.Fatalf("u1 inline policies = %+v", u1.UserPolicyList)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(u1.UserPolicyList[0].PolicyDocument)); doc != logsPolicy {
		t.Errorf("u1's policy = %s", doc)
	}
	if len(web.InstanceProfileList) != 1 || aws.ToString(web.InstanceProfileList[0].InstanceProfileName) != "web" {
		t.Errorf("web's instance profiles = %+v", web.InstanceProfileList)
	}
	onlyRoles := must[*iam.GetAccountAuthorizationDetailsOutput](t)(c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}}))
	if len(onlyRoles.UserDetailList)+len(onlyRoles.GroupDetailList)+len(onlyRoles.Policies) != 0 || len(onlyRoles.RoleDetailList) != 1 {
		t.Errorf("Filter Role = %+v", onlyRoles)
	}
}

func TestCredentialReport(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	_, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
	wantErr(t, err, "ReportNotPresent", http.StatusGone, "")
	key := f.user("alice")
	check(t, ignore(c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("alice"), Password: aws.String("Sup3r-Secret!")})))
	_, _ = f.client(key).ListAccessKeys(ctx, &iam.ListAccessKeysInput{}) // denied, but the key is used
	f.user("bob")

	gen := must[*iam.GenerateCredentialReportOutput](t)(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if gen.State != types.ReportStateTypeStarted {
		t.Errorf("first GenerateCredentialReport = %s", gen.State)
	}
	again := must[*iam.GenerateCredentialReportOutput](t)(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}))
	if again.State != types.ReportStateTypeComplete {
		t.Errorf("second GenerateCredentialReport = %s", again.State)
	}
	rep := must[*iam.GetCredentialReportOutput](t)(c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}))
	if rep.ReportFormat != types.ReportFormatTypeTextCsv || rep.GeneratedTime == nil {
		t.Errorf("report format %s, generated %v", rep.ReportFormat, rep.GeneratedTime)
	}
	rows, err := csv.NewReader(bytes.NewReader(rep.Content)).ReadAll()
	check(t, err)
	if diff := cmp.Diff(rows[0], iamapi.CredentialReportColumns); diff != "" {
		t.Fatalf("header (-got +want):\n%s", diff)
	}
	byUser := map[string]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, col := range rows[0] {
			m[col] = r[i]
		}
		byUser[r[0]] = m
	}
	if len(byUser) != 3 {
		t.Fatalf("rows for %d users, want root, alice and bob", len(byUser))
	}
	root := byUser["<root_account>"]
	if root["arn"] != "arn:aws:iam::123456789012:root" || root["password_enabled"] != "not_supported" || root["access_key_1_active"] != "true" {
		t.Errorf("root row = %v", root)
	}
	alice := byUser["alice"]
	if alice["password_enabled"] != "true" || alice["password_last_used"] != "no_information" || alice["access_key_1_active"] != "true" ||
		alice["access_key_1_last_used_service"] != "iam" || alice["access_key_2_active"] != "false" || alice["mfa_active"] != "false" {
		t.Errorf("alice's row = %v", alice)
	}
	if bob := byUser["bob"]; bob["password_enabled"] != "false" || bob["password_last_used"] != "N/A" || bob["access_key_1_last_used_date"] != "N/A" {
		t.Errorf("bob's row = %v", bob)
	}
}
