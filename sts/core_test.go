package sts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/internal/coretest"
	"github.com/credbroker/credbroker/sts/store"
)

func TestGetCallerIdentityUser(t *testing.T) {
	f := newFixture(t)
	creds := f.user("alice", nil)
	out, err := f.client(creds).GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *out.Arn, "arn:aws:iam::123456789012:user/alice"; got != want {
		t.Errorf("Arn = %s, want %s", got, want)
	}
	if *out.Account != testAccount || len(*out.UserId) != 21 || (*out.UserId)[:4] != "AIDA" {
		t.Errorf("Account %s UserId %s", *out.Account, *out.UserId)
	}
}

func TestDevAccount(t *testing.T) {
	ctx := context.Background()
	st, dev, err := sts.OpenDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if strings.Contains(dev.String(), dev.SecretAccessKey) || strings.Contains(fmt.Sprintf("%v %+v %#v", dev, dev, dev), dev.SecretAccessKey) {
		t.Fatal("DevAccount prints its secret")
	}
	if dev.AccountID != "123456789012" || dev.UserARN != "arn:aws:iam::123456789012:user/dev" || dev.RoleARN != "arn:aws:iam::123456789012:role/dev-admin" ||
		dev.InstanceProfileARN != "arn:aws:iam::123456789012:instance-profile/dev-admin" || !strings.HasPrefix(dev.AccessKeyID, "AKIA") || len(dev.SecretAccessKey) != 40 {
		t.Fatalf("dev account %v", dev)
	}
	core, err := sts.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if err := core.Register(iamService(t)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(core.Handler())
	defer srv.Close()
	f := &fixture{t: t, ctx: ctx, srv: srv, c: &coretest.Core{T: t, Srv: srv}}
	devc := f.client(aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey})
	out, err := devc.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(dev.RoleARN), RoleSessionName: aws.String("dev-session"), DurationSeconds: aws.Int32(43200)})
	if err != nil {
		t.Fatal(err)
	}
	// dev-admin is an administrator: IAM calls are allowed.
	u, err := iamClient(f, sessionCreds(out.Credentials)).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")})
	if err != nil || *u.User.Arn != dev.UserARN {
		t.Fatalf("GetUser as dev-admin: %v", err)
	}
	// dev itself is not.
	_, err = iamClient(f, aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")})
	assertAPIError(t, err, "AccessDenied", "", 403)
	if _, err := sts.SeedDev(ctx, st); err == nil {
		t.Error("SeedDev twice succeeded")
	}
}

func TestRequestLimits(t *testing.T) {
	f := newFixture(t, func(o *sts.Options) { o.MaxBodyBytes = 1024 })
	alice := f.user("alice", nil)
	status, body := f.rawCall(alice, "sts", "Action=GetCallerIdentity&Version=2011-06-15&Pad="+strings.Repeat("x", 2000), f.clock.Now())
	if code, _ := errorOf(t, body); status != 413 || code != "RequestEntityTooLarge" {
		t.Errorf("large body: %d %s", status, body)
	}
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/", nil)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d %v", resp.StatusCode, resp.Header)
	}
}

// Compiled policies are cached per store generation: a change to a managed policy, an
// attachment or a boundary takes effect on the next request.
func TestPolicyChangesTakeEffectAtOnce(t *testing.T) {
	f := newFixture(t)
	if err := f.core.Register(iamService(t)); err != nil {
		t.Fatal(err)
	}
	alice := f.user("alice", nil)
	c := f.client(alice)
	call := func() error {
		_, err := c.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: aws.String(alice.AccessKeyID)})
		return err
	}
	assertAPIError(t, call(), "AccessDenied", "", 403)
	var pol account.ManagedPolicy
	f.update(func(tx *store.Tx) (err error) {
		pol, err = tx.CreatePolicy(account.ManagedPolicy{Name: "keyinfo"}, readOnlySTS)
		if err != nil {
			return err
		}
		return tx.AttachPolicy(account.UserRef("alice"), pol.ARN)
	})
	if err := call(); err != nil {
		t.Fatalf("after attaching: %v", err)
	}
	f.update(func(tx *store.Tx) error {
		_, err := tx.CreatePolicyVersion(pol.ARN, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`, true)
		return err
	})
	assertAPIError(t, call(), "AccessDenied", "", 403)
	f.update(func(tx *store.Tx) error { return tx.SetDefaultPolicyVersion(pol.ARN, "v1") })
	if err := call(); err != nil {
		t.Fatalf("back to v1: %v", err)
	}
	// A permissions boundary without the action denies, and says so (IAM's wording).
	f.update(func(tx *store.Tx) error {
		b, err := tx.CreatePolicy(account.ManagedPolicy{Name: "boundary"}, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
		if err != nil {
			return err
		}
		if err := tx.AttachPolicy(account.UserRef("alice"), "arn:aws:iam::aws:policy/IAMFullAccess"); err != nil {
			return err
		}
		return tx.SetPermissionsBoundary(account.UserRef("alice"), b.ARN)
	})
	assertAPIError(t, call(), "AccessDenied", "", 403)
	_, err := iamClient(f, alice).DeleteAccountAlias(f.ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("my-alias")})
	if err != nil {
		t.Fatalf("IAMFullAccess within an iam:* boundary: %v", err)
	}
	f.update(func(tx *store.Tx) error {
		return tx.PutInlinePolicy(account.UserRef("alice"), "no-alias", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:DeleteAccountAlias","Resource":"*"}]}`)
	})
	_, err = iamClient(f, alice).DeleteAccountAlias(f.ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("my-alias")})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: iam:DeleteAccountAlias with an explicit deny in an identity-based policy", 403)
}

// As AWS: GetFederationToken sessions cannot call IAM; GetSessionToken sessions can only
// with MFA.
func TestTemporaryCredentialsAndIAM(t *testing.T) {
	f := newFixture(t)
	if err := f.core.Register(iamService(t)); err != nil {
		t.Fatal(err)
	}
	alice := f.user("alice", map[string]string{"all": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","sts:*"],"Resource":"*"}]}`})
	serial, seed := f.mfaDevice("alice")
	c := f.client(alice)
	getUser := func(creds aws.Credentials) error {
		_, err := iamClient(f, creds).GetUser(f.ctx, &iam.GetUserInput{UserName: aws.String("alice")})
		return err
	}
	if err := getUser(alice); err != nil {
		t.Fatal(err)
	}
	st, err := c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	assertAPIError(t, getUser(sessionCreds(st.Credentials)), "AccessDenied", "", 403)
	st, err = c.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(f.code(seed))})
	if err != nil {
		t.Fatal(err)
	}
	if err := getUser(sessionCreds(st.Credentials)); err != nil {
		t.Fatalf("MFA session: %v", err)
	}
	fed, err := c.GetFederationToken(f.ctx, &awssts.GetFederationTokenInput{Name: aws.String("fed"), PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/IAMFullAccess")}}})
	if err != nil {
		t.Fatal(err)
	}
	assertAPIError(t, getUser(sessionCreds(fed.Credentials)), "AccessDenied", "", 403)
}

// A session's tags take precedence over its role's tags of the same key.
func TestSessionTagsOverRoleTags(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	f.role("red", trustWith(`["sts:AssumeRole","sts:TagSession"]`, ""), 0, map[string]string{"assume": allowAssumeAll}, account.Tag{Key: "team", Value: "red"}, account.Tag{Key: "tier", Value: "1"})
	f.role("blue-only", trustWith(`"sts:AssumeRole"`, `{"StringEquals":{"aws:PrincipalTag/team":"blue","aws:PrincipalTag/tier":"1"}}`), 0, nil)
	assume := func(tags ...types.Tag) *awssts.Client {
		out, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("red")), RoleSessionName: aws.String("s1"), Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return f.client(sessionCreds(out.Credentials))
	}
	_, err := assume().AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("blue-only")), RoleSessionName: aws.String("s2")})
	assertAPIError(t, err, "AccessDenied", "", 403)
	if _, err := assume(types.Tag{Key: aws.String("Team"), Value: aws.String("blue")}).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(roleARN("blue-only")), RoleSessionName: aws.String("s2")}); err != nil {
		t.Fatalf("session tag over role tag: %v", err)
	}
}
