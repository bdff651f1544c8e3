//lint:file-ignore SA1019 PackedPolicySize is what the STS API of this core answers; the SDK now prefers SessionTokenUtilization, which botocore 1.43 does not know.

package sts_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/oidc/oidctest"
	"github.com/credbroker/credbroker/sts/store"
)

func (f *fixture) oidcProvider(url string, clientIDs ...string) account.OIDCProvider {
	f.t.Helper()
	var p account.OIDCProvider
	f.update(func(tx *store.Tx) (err error) {
		p, err = tx.CreateOIDCProvider(account.OIDCProvider{URL: url, ClientIDs: clientIDs})
		return err
	})
	return p
}

func webTrust(providerARN, conditions string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithWebIdentity","Condition":%s}]}`, providerARN, conditions)
}

// GitLab CI: a self-managed GitLab's issuer, its keys found through discovery over TLS.
func TestAssumeRoleWithWebIdentityGitLab(t *testing.T) {
	key := oidctest.NewRSAKey(t, "gl-1")
	iss := oidctest.NewIssuer(t, key)
	f := newFixture(t, func(o *sts.Options) {
		o.OIDC = append(o.OIDC, func(oo *oidc.Options) { oo.HTTPClient = iss.Client() })
	})
	prov := f.oidcProvider(iss.URL(), "https://gitlab.example.com")
	host := strings.TrimPrefix(iss.URL(), "https://")
	f.role("deploy", webTrust(prov.ARN, fmt.Sprintf(`{"StringEquals":{%q:"https://gitlab.example.com"},"StringLike":{%q:"project_path:mygroup/myproject:ref_type:branch:ref:main"}}`,
		host+":aud", host+":sub")), 2*time.Hour, map[string]string{"sts": readOnlySTS})
	anon := f.client(aws.Credentials{})
	now := f.clock.Now()
	token := oidctest.Sign(t, key, oidctest.GitLabClaims(iss.URL(), "https://gitlab.example.com", "mygroup/myproject", "main", now))

	out, err := anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("deploy")), RoleSessionName: aws.String("gitlab-job-42"), WebIdentityToken: aws.String(token),
		DurationSeconds: aws.Int32(7200),
	})
	if err != nil {
		t.Fatal(err)
	}
	if *out.SubjectFromWebIdentityToken != "project_path:mygroup/myproject:ref_type:branch:ref:main" || *out.Provider != iss.URL() ||
		*out.Audience != "https://gitlab.example.com" || *out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/deploy/gitlab-job-42" ||
		!out.Credentials.Expiration.Equal(now.Add(2*time.Hour)) || out.PackedPolicySize != nil {
		t.Errorf("result %+v %+v", out, out.AssumedRoleUser)
	}
	sess := f.client(sessionCreds(out.Credentials))
	if _, err := sess.GetAccessKeyInfo(f.ctx, &awssts.GetAccessKeyInfoInput{AccessKeyId: out.Credentials.AccessKeyId}); err != nil {
		t.Fatalf("the session has the role's permissions: %v", err)
	}

	other := oidctest.Sign(t, key, oidctest.GitLabClaims(iss.URL(), "https://gitlab.example.com", "mygroup/myproject", "feature", now))
	expired := oidctest.Sign(t, key, oidctest.GitLabClaims(iss.URL(), "https://gitlab.example.com", "mygroup/myproject", "main", now.Add(-2*time.Hour)))
	wrongAud := oidctest.Sign(t, key, oidctest.GitLabClaims(iss.URL(), "https://elsewhere", "mygroup/myproject", "main", now))
	forged := oidctest.Sign(t, oidctest.NewRSAKey(t, "gl-1"), oidctest.GitLabClaims(iss.URL(), "https://gitlab.example.com", "mygroup/myproject", "main", now))
	unknownIssuer := oidctest.Sign(t, key, oidctest.GitLabClaims("https://gitlab.unknown.example", "https://gitlab.example.com", "mygroup/myproject", "main", now))
	cases := map[string]struct {
		token, role string
		code, msg   string
		status      int
	}{
		"branch not allowed": {other, "deploy", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403},
		"no such role":       {token, "ghost", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403},
		"expired":            {expired, "deploy", "ExpiredTokenException", fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), now.Add(-time.Hour).Unix()), 400},
		"audience":           {wrongAud, "deploy", "InvalidIdentityToken", "Incorrect token audience", 400},
		"forged":             {forged, "deploy", "InvalidIdentityToken", "", 400},
		"no provider":        {unknownIssuer, "deploy", "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://gitlab.unknown.example", 400},
		"not a token":        {"abcd", "deploy", "InvalidIdentityToken", "", 400},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
				RoleArn: aws.String(roleARN(c.role)), RoleSessionName: aws.String("job"), WebIdentityToken: aws.String(c.token)})
			assertAPIError(t, err, c.code, c.msg, c.status)
		})
	}
	// The SDK sends AssumeRoleWithWebIdentity unsigned; only it (and SAML's) may be.
	status, body := f.rawCall(aws.Credentials{}, "sts", "Action=AssumeRole&Version=2011-06-15&RoleArn="+roleARN("deploy")+"&RoleSessionName=ab", now)
	if code, _ := errorOf(t, body); status != 403 || code != "MissingAuthenticationToken" {
		t.Errorf("unsigned AssumeRole: %d %s", status, body)
	}
	// The issuer going away: keys already fetched keep working; a provider whose keys
	// were never fetched answers IDPCommunicationError.
	iss.Server.Close()
	if _, err := anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("deploy")), RoleSessionName: aws.String("job"), WebIdentityToken: aws.String(token)}); err != nil {
		t.Fatalf("cached keys through an outage: %v", err)
	}
	down := oidctest.NewIssuer(t, key)
	down.Server.Close()
	f.oidcProvider(down.URL(), "https://gitlab.example.com")
	_, err = anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN("deploy")), RoleSessionName: aws.String("job"),
		WebIdentityToken: aws.String(oidctest.Sign(t, key, oidctest.GitLabClaims(down.URL(), "https://gitlab.example.com", "mygroup/myproject", "main", now)))})
	assertAPIError(t, err, "IDPCommunicationError", oidc.CommunicationMessage, 400)
}

// GitHub Actions, offline: the issuer's keys are pinned in the configuration.
func TestAssumeRoleWithWebIdentityGitHubPinned(t *testing.T) {
	const gh = "https://token.actions.githubusercontent.com"
	key := oidctest.NewECKey(t, "gh-key")
	f := newFixture(t, func(o *sts.Options) {
		o.OIDC = append(o.OIDC, func(oo *oidc.Options) { oo.PinnedKeys = map[string][]byte{gh: oidctest.JWKS(key)} })
	})
	prov := f.oidcProvider(gh, "sts.amazonaws.com")
	if prov.ARN != "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" {
		t.Fatalf("provider ARN %s", prov.ARN)
	}
	f.role("gha", webTrust(prov.ARN, `{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:*"}}`), 0, nil)
	anon := f.client(aws.Credentials{})
	ok := oidctest.Sign(t, key, oidctest.GitHubClaims(gh, "octo-org/octo-repo", "refs/heads/main", f.clock.Now()))
	out, err := anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("gha")), RoleSessionName: aws.String("GitHubActions"), WebIdentityToken: aws.String(ok),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.SubjectFromWebIdentityToken != "repo:octo-org/octo-repo:ref:refs/heads/main" || *out.Audience != "sts.amazonaws.com" || out.PackedPolicySize == nil {
		t.Errorf("result %+v", out)
	}
	id, err := f.client(sessionCreds(out.Credentials)).GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:sts::123456789012:assumed-role/gha/GitHubActions" {
		t.Fatalf("GetCallerIdentity %v %v", err, id)
	}
	fork := oidctest.Sign(t, key, oidctest.GitHubClaims(gh, "evil-org/octo-repo", "refs/heads/main", f.clock.Now()))
	_, err = anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("gha")), RoleSessionName: aws.String("GitHubActions"), WebIdentityToken: aws.String(fork)})
	assertAPIError(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
	_, err = anon.AssumeRoleWithWebIdentity(f.ctx, &awssts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN("gha")), RoleSessionName: aws.String("GitHubActions"), WebIdentityToken: aws.String(ok), DurationSeconds: aws.Int32(7200)})
	assertAPIError(t, err, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)
}
