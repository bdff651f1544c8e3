package iamapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAuthorization decides IAM calls with the policy engine, for callers with the
// guides' typical policies.
func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	root := f.rootClient()
	must[*iam.CreateUserOutput](t)(root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("target"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}}))
	callers := map[string]*iam.Client{
		"root":      root,
		"admin":     f.client(f.user("admin", adminARN)),
		"reader":    f.client(f.user("reader", iamReadOnlyARN)),
		"poweruser": f.client(f.user("poweruser", powerUserARN)),
		"nobody":    f.client(f.user("nobody")),
		// Manages users of team blue only, and may create users only with that tag.
		"blue": f.client(f.inlineUser("blue", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["iam:GetUser","iam:TagUser"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}},
			{"Effect":"Allow","Action":["iam:CreateUser","iam:TagUser"],"Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"blue"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}},
			{"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*","Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}}},
			{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*","Condition":{"StringEquals":{"iam:PermissionsBoundary":"arn:aws:iam::aws:policy/PowerUserAccess"}}}]}`)),
	}
	// Every created name is new (name), so that only authorization can fail.
	createUser := func(tags ...types.Tag) func(*iam.Client, string) error {
		return func(c *iam.Client, name string) error {
			return ignore(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name), Tags: tags}))
		}
	}
	calls := map[string]func(c *iam.Client, name string) error{
		"ListUsers": func(c *iam.Client, _ string) error { return ignore(c.ListUsers(ctx, &iam.ListUsersInput{})) },
		"GetUser": func(c *iam.Client, _ string) error {
			return ignore(c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("target")}))
		},
		"ListRoles": func(c *iam.Client, _ string) error { return ignore(c.ListRoles(ctx, &iam.ListRolesInput{})) },
		"GetAccountSummary": func(c *iam.Client, _ string) error {
			return ignore(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
		},
		"CreateUser":      createUser(),
		"CreateUser blue": createUser(types.Tag{Key: aws.String("team"), Value: aws.String("blue")}),
		"CreateUser red":  createUser(types.Tag{Key: aws.String("team"), Value: aws.String("red")}),
		"AttachUserPolicy readonly": func(c *iam.Client, _ string) error {
			return ignore(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("target"), PolicyArn: aws.String(iamReadOnlyARN)}))
		},
		"AttachUserPolicy admin": func(c *iam.Client, _ string) error {
			return ignore(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("target"), PolicyArn: aws.String(adminARN)}))
		},
		"CreateRole bounded": func(c *iam.Client, name string) error {
			return ignore(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ec2Trust), PermissionsBoundary: aws.String(powerUserARN)}))
		},
		"CreateRole unbounded": func(c *iam.Client, name string) error {
			return ignore(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
		},
	}
	allowed := map[string][]string{
		"root":      {"ListUsers", "GetUser", "ListRoles", "GetAccountSummary", "CreateUser", "CreateUser blue", "CreateUser red", "AttachUserPolicy readonly", "AttachUserPolicy admin", "CreateRole bounded", "CreateRole unbounded"},
		"admin":     {"ListUsers", "GetUser", "ListRoles", "GetAccountSummary", "CreateUser", "CreateUser blue", "CreateUser red", "AttachUserPolicy readonly", "AttachUserPolicy admin", "CreateRole bounded", "CreateRole unbounded"},
		"reader":    {"ListUsers", "GetUser", "ListRoles", "GetAccountSummary"},
		"poweruser": {"ListRoles"},
		"nobody":    {},
		"blue":      {"GetUser", "CreateUser blue", "AttachUserPolicy readonly", "CreateRole bounded"},
	}
	n := 0
	for who, c := range callers {
		for call, fn := range calls {
			want := contains(allowed[who], call)
			t.Run(who+"/"+call, func(t *testing.T) {
				n++
				err := fn(c, fmt.Sprintf("new-%d", n))
				if want && err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				if !want {
					wantErr(t, err, "AccessDenied", http.StatusForbidden, "is not authorized to perform: iam:")
				}
			})
		}
	}

	// IAM's words, with the reason.
	_, err := callers["reader"].CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("x"), Path: aws.String("/p/")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden,
		"User: arn:aws:iam::123456789012:user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/p/x because no identity-based policy allows the iam:CreateUser action")
	// A caller without permission does not learn whether a user exists.
	_, err = callers["nobody"].GetUser(ctx, &iam.GetUserInput{UserName: aws.String("ghost")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "on resource: arn:aws:iam::123456789012:user/ghost")
	// An explicit deny wins over AdministratorAccess.
	denied := f.client(f.inlineUser("denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]}`))
	_, err = denied.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("target")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "with an explicit deny in an identity-based policy")
}

// TestRoleSessionCallsIAM: an admin role's session manages IAM; a GetSessionToken
// session without MFA may not call IAM at all, as AWS's rule.
func TestRoleSessionCallsIAM(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	root := f.rootClient()
	adminKey := f.user("ops", adminARN)
	must[*iam.CreateRoleOutput](t)(root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("iam-admin"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)}))
	check(t, ignore(root.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("iam-admin"), PolicyArn: aws.String(adminARN)})))
	stsc := sts.New(sts.Options{BaseEndpoint: aws.String(f.srv.URL), Region: "us-east-1", HTTPClient: f.srv.Client(),
		Credentials: credentials.StaticCredentialsProvider{Value: adminKey}, RetryMaxAttempts: 1})
	out := must[*sts.AssumeRoleOutput](t)(stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/iam-admin"), RoleSessionName: aws.String("ops-session")}))
	sess := f.client(aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken})
	check(t, ignore(sess.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("made-by-role")})))
	_, err := sess.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	wantErr(t, err, "ValidationError", http.StatusBadRequest, "Must specify userName when calling with non-User credentials")

	tok := must[*sts.GetSessionTokenOutput](t)(stsc.GetSessionToken(ctx, &sts.GetSessionTokenInput{}))
	noMFA := f.client(aws.Credentials{AccessKeyID: *tok.Credentials.AccessKeyId, SecretAccessKey: *tok.Credentials.SecretAccessKey, SessionToken: *tok.Credentials.SessionToken})
	_, err = noMFA.ListUsers(ctx, &iam.ListUsersInput{})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:ListUsers")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
