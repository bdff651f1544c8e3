package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/imds"
)

const baseConfig = `
upstream "sts" {
  region = "us-east-1"
}
source "keyring" "alice" {}
source "role" "via-deploy" {
  role = "deploy"
}
role "deploy" {
  arn                 = "arn:aws:iam::123456789012:role/deploy"
  source              = "alice"
  external_id         = "ext-123"
  policy_arns         = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
  policy              = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })
  tags                = { team = "platform" }
  transitive_tag_keys = ["team"]
}
role "readonly" {
  arn    = "arn:aws:iam::123456789012:role/readonly"
  source = "via-deploy"
}
role "mine" {
  arn             = "arn:aws:iam::123456789012:role/mine"
  source          = "alice"
  session_name    = "cb-{user}"
  source_identity = "{user}"
}
client "alice" {
  uids        = [1001]
  role        = "deploy"
  allow_roles = ["readonly", "mine"]
}
client "bob" {
  uids = [1002]
  role = "readonly"
}
`

func TestCallersGetTheirRolesOnly(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		caller   *fakeCaller
		endpoint imds.Endpoint
		role     string // asked for ("" = the caller's own, through Role)
		bound    string
		wantRole string
		wantARN  string // the session's principal at the STS
		wantErr  error
	}{
		{name: "alice own role", caller: alice, wantRole: "deploy", wantARN: "arn:aws:sts::123456789012:assumed-role/deploy/credbroker-testhost"},
		{name: "bob own role (chained)", caller: bob, wantRole: "readonly", wantARN: "arn:aws:sts::123456789012:assumed-role/readonly/credbroker-testhost"},
		{name: "alice allowed role", caller: alice, role: "readonly", wantARN: "arn:aws:sts::123456789012:assumed-role/readonly/credbroker-testhost"},
		{name: "alice per-caller role", caller: alice, role: "mine", wantARN: "arn:aws:sts::123456789012:assumed-role/mine/cb-alice"},
		{name: "bob asks for alice's role", caller: bob, role: "deploy", wantErr: imds.ErrNoRole},
		{name: "bob asks for a role allowed to alice", caller: bob, role: "mine", wantErr: imds.ErrNoRole},
		{name: "eve has no rule", caller: eve, wantErr: imds.ErrNoRole},
		{name: "eve asks by name", caller: eve, role: "readonly", wantErr: imds.ErrNoRole},
		{name: "unknown role", caller: alice, role: "nope", wantErr: imds.ErrNoRole},
		{name: "eve with a token bound to readonly", caller: eve, endpoint: imds.EndpointContainer, role: "readonly", bound: "readonly",
			wantARN: "arn:aws:sts::123456789012:assumed-role/readonly/credbroker-testhost"},
		{name: "token bound elsewhere gives no other role", caller: eve, endpoint: imds.EndpointContainer, role: "deploy", bound: "readonly", wantErr: imds.ErrNoRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cctx := as(ctx, tc.caller)
			ep := tc.endpoint
			if ep == 0 {
				ep = imds.EndpointIMDS
			}
			ic := imds.Caller{Endpoint: ep, BoundRole: tc.bound}
			role := tc.role
			if role == "" {
				ri, err := e.b.Role(cctx, ic)
				if tc.wantErr != nil && role == "" {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Role: %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil || ri.Name != tc.wantRole {
					t.Fatalf("Role = %+v, %v; want %s", ri, err, tc.wantRole)
				}
				if ri.InstanceProfileARN != "arn:aws:iam::123456789012:instance-profile/"+tc.wantRole || !strings.HasPrefix(ri.InstanceProfileID, "AIPA") {
					t.Errorf("instance profile %+v", ri)
				}
				role = ri.Name
			}
			// Warm the session the way a daemon does before serving.
			if tc.wantErr == nil {
				if _, err := e.b.CredentialsFor(cctx, tc.caller, role); err != nil && tc.bound == "" {
					t.Fatalf("CredentialsFor: %v", err)
				}
				if tc.bound != "" {
					e.session(role, tc.caller).sess.Warm(ctx)
				}
			}
			cr, err := e.b.Credentials(cctx, ic, role)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Credentials: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			arn, ok := e.sts.Issued(cr.AccessKeyID)
			if !ok || arn != tc.wantARN {
				t.Errorf("credentials %s are of %q (issued %v), want %q", cr.AccessKeyID, arn, ok, tc.wantARN)
			}
			if cr.AccountID != "123456789012" || !strings.HasSuffix(cr.RoleARN, ":role/"+role) || time.Until(cr.Expiration) < 50*time.Minute {
				t.Errorf("credentials %+v", cr)
			}
		})
	}
}

func TestAssumeRoleRequestFromConfig(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := as(context.Background(), alice)
	if _, err := e.b.CredentialsFor(ctx, alice, "deploy"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CredentialsFor(ctx, alice, "mine"); err != nil {
		t.Fatal(err)
	}
	var got []map[string]string
	for _, r := range e.sts.Requests() {
		m := map[string]string{"KeyID": r.KeyID}
		for k, v := range r.Form {
			if k != "Version" && k != "Policy" {
				m[k] = v[0]
			}
		}
		if p := r.Form.Get("Policy"); p != "" {
			var doc map[string]any
			if err := json.Unmarshal([]byte(p), &doc); err != nil {
				t.Errorf("policy %q is not JSON", p)
			}
			m["Policy"] = "json"
		}
		got = append(got, m)
	}
	want := []map[string]string{{
		"KeyID": aliceKeyID, "Action": "AssumeRole", "RoleArn": "arn:aws:iam::123456789012:role/deploy",
		"RoleSessionName": "credbroker-testhost", "DurationSeconds": "3600", "ExternalId": "ext-123",
		"PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Policy": "json",
		"Tags.member.1.Key": "team", "Tags.member.1.Value": "platform", "TransitiveTagKeys.member.1": "team",
	}, {
		"KeyID": aliceKeyID, "Action": "AssumeRole", "RoleArn": "arn:aws:iam::123456789012:role/mine",
		"RoleSessionName": "cb-alice", "DurationSeconds": "3600", "SourceIdentity": "alice",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requests to STS (-want +got):\n%s", d)
	}
}

func TestSessionsShared(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := context.Background()
	// Concurrent first callers of the same shared role make one call.
	var wg sync.WaitGroup
	keys := make([]string, 50)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fakeCaller{uid: 1001, user: "alice", pid: 5000 + i}
			cr, err := e.b.CredentialsFor(as(ctx, c), c, "deploy")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = cr.AccessKeyID
		}()
	}
	wg.Wait()
	if n := e.sts.Calls("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1", n)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("callers got different sessions: %v", keys)
		}
	}
}

func TestKeyRotationFallsBackToPreviousKey(t *testing.T) {
	e := newEnv(t, baseConfig)
	// Rotation stored a new key that STS does not accept yet; the old one
	// still works.
	newKey := keystore.Key{AccessKeyID: "AKIANEWKEY000EXAMPLE", SecretAccessKey: "newSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY",
		Previous: &keystore.Key{AccessKeyID: aliceKeyID, SecretAccessKey: aliceSecret}}
	if err := e.keys.Put("alice", newKey); err != nil {
		t.Fatal(err)
	}
	cr, err := e.b.CredentialsFor(as(context.Background(), alice), alice, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sts.Issued(cr.AccessKeyID); !ok {
		t.Fatal("credentials not from STS")
	}
	var signers []string
	for _, r := range e.sts.Requests() {
		signers = append(signers, r.KeyID+":"+r.Code)
	}
	if d := cmp.Diff([]string{"AKIANEWKEY000EXAMPLE:InvalidClientTokenId", aliceKeyID + ":"}, signers); d != "" {
		t.Errorf("signers (-want +got):\n%s", d)
	}
	e.log.WaitLine(t, "previous")
}

func TestWebIdentitySources(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var gotAuth, gotAud string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "api-version lost", 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": "github-jwt"})
	}))
	defer gh.Close()
	env := map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   gh.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-bearer",
		"AWS_ID_TOKEN":                   "gitlab-jwt",
	}
	hcl := `
upstream "sts" {
  region = "us-east-1"
}
source "web_identity" "file" {
  token_file = "` + tokenFile + `"
}
source "web_identity" "github" {
  provider = "github"
  audience = "sts.amazonaws.com"
}
source "web_identity" "gitlab" {
  provider  = "gitlab"
  token_env = "AWS_ID_TOKEN"
}
role "k8s" {
  arn    = "arn:aws:iam::123456789012:role/k8s"
  source = "file"
}
role "gh" {
  arn    = "arn:aws:iam::123456789012:role/gh"
  source = "github"
}
role "gl" {
  arn    = "arn:aws:iam::123456789012:role/gl"
  source = "gitlab"
}
default_role = "k8s"
client "all" {
  uids        = [1001]
  role        = "k8s"
  allow_roles = ["gh", "gl"]
}
`
	e := newEnv(t, hcl, func(o *envOptions) { o.getenv = func(k string) string { return env[k] } })
	for tok, sub := range map[string]string{"file-jwt": "system:serviceaccount:ns:app", "github-jwt": "repo:o/r:ref:refs/heads/main", "gitlab-jwt": "project_path:g/p"} {
		e.sts.AddWebIdentityToken(tok, sub)
	}
	res := e.b.Warm(context.Background())
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("warm %s: %v", r.Role, r.Err)
		}
	}
	if len(res) != 3 {
		t.Fatalf("warmed %d roles, want 3", len(res))
	}
	if gotAuth != "bearer request-bearer" || gotAud != "sts.amazonaws.com" {
		t.Errorf("GitHub token request: Authorization %q audience %q", gotAuth, gotAud)
	}
	roles := map[string]bool{}
	for _, r := range e.sts.Requests() {
		if r.Action != "AssumeRoleWithWebIdentity" || r.Code != "" || r.KeyID != "" {
			t.Errorf("request %+v", r)
		}
		roles[r.Form.Get("RoleArn")] = true
	}
	if len(roles) != 3 {
		t.Errorf("roles assumed: %v", roles)
	}

	// Reloading the same configuration keeps the sessions.
	bd := e.session("k8s", nil)
	if err := e.b.Reload(e.b.Config(), nil, e.keys); err != nil {
		t.Fatal(err)
	}
	if e.session("k8s", nil) != bd {
		t.Error("an unchanged role lost its session on reload")
	}

	// A missing GitHub variable is a failure that names the fix.
	delete(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if _, err := e.b.githubToken(context.Background(), "sts.amazonaws.com"); err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("no request token: %v", err)
	}
}

func TestMFA(t *testing.T) {
	hcl := `
upstream "sts" {
  region = "us-east-1"
}
source "keyring" "alice" {}
role "admin" {
  arn        = "arn:aws:iam::123456789012:role/admin"
  source     = "alice"
  mfa_serial = "arn:aws:iam::123456789012:mfa/alice"
}
role "plain" {
  arn    = "arn:aws:iam::123456789012:role/plain"
  source = "alice"
}
client "alice" {
  uids = [1001]
  role = "admin"
}
`
	e := newEnv(t, hcl)
	e.sts.SetMFACode("arn:aws:iam::123456789012:mfa/alice", "123456")
	ctx := as(context.Background(), alice)
	res := e.b.Warm(ctx)
	got := map[string]bool{}
	for _, r := range res {
		got[r.Role] = r.NeedsHuman
		if r.Role == "plain" && r.Err != nil {
			t.Errorf("plain: %v", r.Err)
		}
	}
	if d := cmp.Diff(map[string]bool{"admin": true, "plain": false}, got); d != "" {
		t.Errorf("needs human (-want +got):\n%s", d)
	}
	st := e.b.Status()
	if len(st.Roles) != 2 || st.Roles[0].Role != "admin" || len(st.Roles[0].Sessions) != 1 || !st.Roles[0].Sessions[0].NeedsHuman ||
		!strings.Contains(st.Roles[0].Sessions[0].LastError, "credbroker mfa admin") {
		t.Errorf("status: %+v", st.Roles)
	}
	if _, err := e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointIMDS}, "admin"); !errors.Is(err, imds.ErrUpstream) {
		t.Errorf("credentials before MFA: %v", err)
	}
	if _, err := e.b.StartMFA(ctx, alice, "admin", "654321"); err == nil || !strings.Contains(err.Error(), "MultiFactorAuthentication") {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := e.b.StartMFA(ctx, bob, "admin", "123456"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("bob starting alice's MFA: %v", err)
	}
	exp, err := e.b.StartMFA(ctx, alice, "admin", "123456")
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(exp) < 11*time.Hour {
		t.Errorf("MFA session expires %v", exp)
	}
	cr, err := e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointIMDS}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// The role was assumed with the MFA session, not the long-term key.
	var mfaKey, signer string
	for _, r := range e.sts.Requests() {
		switch {
		case r.Action == "GetSessionToken" && r.Code == "":
			mfaKey = r.Issued
		case r.Action == "AssumeRole" && r.Issued == cr.AccessKeyID:
			signer = r.KeyID
		}
	}
	if mfaKey == "" || signer != mfaKey {
		t.Errorf("role assumed with %q, MFA session %q", signer, mfaKey)
	}
	if s := e.b.Status().Roles[0].Sessions[0]; s.NeedsHuman || s.State != "ready" || s.LastError != "" || s.LastErrorCode != "" {
		t.Errorf("status after MFA: %+v", s)
	}
}

func TestUpstreamOverNetworkAndInProcess(t *testing.T) {
	for _, network := range []bool{false, true} {
		e := newEnv(t, baseConfig, func(o *envOptions) { o.network = network })
		cr, err := e.b.CredentialsFor(as(context.Background(), alice), alice, "deploy")
		if err != nil {
			t.Fatalf("network=%v: %v", network, err)
		}
		// The session works against the same STS: its key signs.
		client := sts.New(sts.Options{Region: "us-east-1", Credentials: aws.NewCredentialsCache(staticProvider(cr)),
			HTTPClient: &http.Client{Transport: InProcessTransport(e.sts)}, BaseEndpoint: aws.String("http://sts.test")})
		id, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/credbroker-testhost" {
			t.Errorf("network=%v: caller %s", network, aws.ToString(id.Arn))
		}
	}
}

type staticProvider aws.Credentials

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(p), nil
}

func TestUpstreamFailuresAreClassified(t *testing.T) {
	e := newEnv(t, baseConfig)
	e.sts.Deny("arn:aws:iam::123456789012:role/deploy", "AccessDenied")
	_, err := e.b.CredentialsFor(as(context.Background(), alice), alice, "deploy")
	if err == nil || !strings.Contains(err.Error(), "trust policy") {
		t.Fatalf("denied: %v", err)
	}
	_, err = e.b.Credentials(as(context.Background(), alice), imds.Caller{Endpoint: imds.EndpointIMDS}, "deploy")
	if !errors.Is(err, imds.ErrUpstream) {
		t.Errorf("endpoint error %v, want ErrUpstream", err)
	}
	s := e.b.Status().Roles[0].Sessions[0]
	if s.State != "failed" || s.LastErrorCode != "AccessDenied" || s.NeedsHuman {
		t.Errorf("status %+v", s)
	}
	// No secret in the log.
	if strings.Contains(e.log.String(), aliceSecret) {
		t.Error("the secret key reached the log")
	}
}

func TestMissingKeyIsReported(t *testing.T) {
	e := newEnv(t, baseConfig)
	e.keys.Remove("alice")
	_, err := e.b.CredentialsFor(as(context.Background(), alice), alice, "deploy")
	if err == nil || !strings.Contains(err.Error(), "credbroker keys add alice") {
		t.Fatalf("error %v", err)
	}
}

func TestReloadKeepsUnchangedSessions(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := as(context.Background(), alice)
	for _, role := range []string{"deploy", "mine"} {
		if _, err := e.b.CredentialsFor(ctx, alice, role); err != nil {
			t.Fatal(err)
		}
	}
	before := e.sts.Calls("AssumeRole")
	changed := strings.Replace(baseConfig, `session_name    = "cb-{user}"`, `session_name    = "other-{user}"`, 1)
	cfg, err := config.Parse([]byte(changed), "test.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Reload(cfg, nil, e.keys); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CredentialsFor(ctx, alice, "deploy"); err != nil {
		t.Fatal(err)
	}
	if n := e.sts.Calls("AssumeRole"); n != before {
		t.Errorf("unchanged role refetched: %d calls, want %d", n, before)
	}
	cr, err := e.b.CredentialsFor(ctx, alice, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if arn, _ := e.sts.Issued(cr.AccessKeyID); arn != "arn:aws:sts::123456789012:assumed-role/mine/other-alice" {
		t.Errorf("changed role serves %q", arn)
	}
	// A config whose rules do not compile is refused; the old one stays.
	bad := baseConfig + "\nclient \"ghost\" {\n  users = [\"no-such-user-here\"]\n  role = \"deploy\"\n}\n"
	badCfg, err := config.Parse([]byte(bad), "bad.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Reload(badCfg, nil, e.keys); err == nil || !strings.Contains(err.Error(), "bad.hcl:") {
		t.Fatalf("bad reload: %v", err)
	}
	if e.b.Config() != cfg {
		t.Error("a failed reload replaced the config")
	}
}

// TestAudit: one line per credential handed out, with the caller and the
// key id, never the secret or the token.
func TestAudit(t *testing.T) {
	e := newEnv(t, baseConfig)
	ctx := as(context.Background(), alice)
	if _, err := e.b.CredentialsFor(ctx, alice, "deploy"); err != nil {
		t.Fatal(err)
	}
	cr, err := e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointContainer}, "mine")
	if errors.Is(err, imds.ErrNotReady) {
		e.session("mine", alice).sess.Warm(ctx)
		cr, err = e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointContainer}, "mine")
	}
	if err != nil {
		t.Fatal(err)
	}
	line := e.audit.WaitLine(t, `"endpoint":"container"`)
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"@message": "credentials handed out", "endpoint": "container", "uid": float64(1001), "pid": float64(4242),
		"exe": "/usr/bin/aws", "unit": "user@1001.service", "role": "mine", "session_name": "cb-alice", "access_key_id": cr.AccessKeyID,
		"expires": cr.Expiration.UTC().Format(time.RFC3339)}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("audit %s = %v, want %v", k, rec[k], v)
		}
	}
	e.b.Close()
	all := e.audit.String()
	if strings.Count(all, "credentials handed out") != 2 {
		t.Errorf("audit lines:\n%s", all)
	}
	if strings.Contains(all, cr.SecretAccessKey) || strings.Contains(all, cr.SessionToken) {
		t.Error("a secret reached the audit log")
	}
}

// TestAuditSummary: the first credential of a session on a connection is
// a full line; the repeats on that connection are counted and summed up in
// one line (at the interval, here at Close); another connection of the
// same uid is a line of its own. Lines and counts add up to every
// credential handed out, as the metrics count them.
func TestAuditSummary(t *testing.T) {
	e := newEnv(t, baseConfig)
	conn1 := &fakeCaller{uid: 1001, user: "alice", pid: 4242, exe: "/usr/bin/aws"}
	conn2 := &fakeCaller{uid: 1001, user: "alice", pid: 4244, exe: "/usr/bin/aws"}
	ic := imds.Caller{Endpoint: imds.EndpointIMDS, Remote: netip.MustParseAddrPort("127.0.0.1:40001")}
	get := func(c Caller, n int) {
		ctx := as(context.Background(), c)
		for i := 0; i < n; i++ {
			_, err := e.b.Credentials(ctx, ic, "deploy")
			if errors.Is(err, imds.ErrNotReady) {
				e.session("deploy", nil).sess.Warm(ctx)
				_, err = e.b.Credentials(ctx, ic, "deploy")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	get(conn1, 50)
	get(conn2, 1)
	e.b.Close()
	var full, again []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		switch rec["@message"] {
		case "credentials handed out":
			full = append(full, rec)
		case "credentials handed out again":
			again = append(again, rec)
		}
	}
	if len(full) != 2 || len(again) != 1 {
		t.Fatalf("%d full lines and %d summaries, want 2 and 1:\n%s", len(full), len(again), e.audit.String())
	}
	pids := map[any]bool{full[0]["pid"]: true, full[1]["pid"]: true}
	if !pids[float64(4242)] || !pids[float64(4244)] {
		t.Errorf("full lines of pids %v, want 4242 and 4244", pids)
	}
	s := again[0]
	if s["count"] != float64(49) || s["uid"] != float64(1001) || s["role"] != "deploy" || s["client"] != "127.0.0.1:40001" ||
		s["access_key_id"] != full[0]["access_key_id"] || s["endpoint"] != "imds" {
		t.Errorf("summary %v, want 49 more of uid 1001's deploy session on 127.0.0.1:40001", s)
	}
	if n := e.b.metrics.role("deploy").served[viaIMDS].Load(); n != 51 {
		t.Errorf("metrics count %d served, want 51", n)
	}
}

type lockedStore struct{}

func (lockedStore) Get(string) (keystore.Key, error) {
	return keystore.Key{}, fmt.Errorf("%w: the file keyring's passphrase cannot be asked here", keystore.ErrLocked)
}

// TestLockedKeyring: a keyring that needs a passphrase stops its roles,
// reported as needing a person, without holding up the others.
func TestLockedKeyring(t *testing.T) {
	hcl := `
upstream "sts" {
  region = "us-east-1"
}
source "keyring" "alice" {}
source "web_identity" "ci" {
  provider  = "gitlab"
  token_env = "CI_TOKEN"
}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
role "ci" {
  arn    = "arn:aws:iam::123456789012:role/ci"
  source = "ci"
}
`
	e := newEnv(t, hcl, func(o *envOptions) {
		o.getenv = func(k string) string { return map[string]string{"CI_TOKEN": "ci-jwt"}[k] }
		o.broker = append(o.broker, func(o *Options) { o.Keys = lockedStore{} })
	})
	e.sts.AddWebIdentityToken("ci-jwt", "project_path:g/p")
	got := map[string]bool{}
	for _, r := range e.b.Warm(context.Background()) {
		got[r.Role] = r.NeedsHuman
		if r.Role == "ci" && r.Err != nil {
			t.Errorf("ci: %v", r.Err)
		}
	}
	if d := cmp.Diff(map[string]bool{"ci": false, "deploy": true}, got); d != "" {
		t.Errorf("needs human (-want +got):\n%s", d)
	}
	for _, r := range e.b.Status().Roles {
		if r.Role == "deploy" && (len(r.Sessions) != 1 || !r.Sessions[0].NeedsHuman || r.Sessions[0].LastErrorCode != CodeKeyringLocked) {
			t.Errorf("status of deploy: %+v", r.Sessions)
		}
	}
}

func TestSAMLLogin(t *testing.T) {
	hcl := `
upstream "sts" {
  region = "us-east-1"
}
source "keyring" "alice" {}
source "saml" "corp" {
  idp_url      = "https://idp.example.com/sso"
  provider_arn = "arn:aws:iam::123456789012:saml-provider/corp"
}
role "developers" {
  arn    = "arn:aws:iam::123456789012:role/Developers"
  source = "corp"
}
role "plain" {
  arn    = "arn:aws:iam::123456789012:role/plain"
  source = "alice"
}
client "alice" {
  uids        = [1001]
  role        = "developers"
  allow_roles = ["plain"]
}
`
	e := newEnv(t, hcl)
	ctx := as(context.Background(), alice)
	for _, r := range e.b.Warm(ctx) {
		if want := r.Role == "developers"; r.NeedsHuman != want {
			t.Errorf("warm %s: needs human %v (%v)", r.Role, r.NeedsHuman, r.Err)
		}
	}
	st := e.b.Status()
	if s := st.Roles[0].Sessions; len(s) != 1 || !s[0].NeedsHuman || !strings.Contains(s[0].LastError, "credbroker login corp") {
		t.Errorf("status before login: %+v", s)
	}
	if _, err := e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointIMDS}, "developers"); !errors.Is(err, imds.ErrUpstream) {
		t.Errorf("credentials before login: %v", err)
	}

	const response = "PHNhbWxwOlJlc3BvbnNlLz4=" // what the IdP posted
	e.sts.AddSAMLResponse(response, "alice@corp.example")
	if _, err := e.b.SAMLLogin(ctx, bob, "developers", response); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("bob signing in as alice's role: %v", err)
	}
	if _, err := e.b.SAMLLogin(ctx, alice, "plain", response); err == nil || !strings.Contains(err.Error(), "not with a SAML sign-in") {
		t.Errorf("a keyring role: %v", err)
	}
	if _, err := e.b.SAMLLogin(ctx, alice, "developers", strings.Repeat("A", MaxSAMLResponse+1)); err == nil {
		t.Error("an oversized response was sent upstream")
	}
	e.sts.SetLifetime(20 * time.Minute) // the IdP's session ends soon
	exp, err := e.b.SAMLLogin(ctx, alice, "developers", response)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 19*time.Minute || d > 21*time.Minute {
		t.Errorf("session ends in %v", d)
	}
	cr, err := e.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointIMDS}, "developers")
	if err != nil {
		t.Fatal(err)
	}
	if arn, _ := e.sts.Issued(cr.AccessKeyID); arn != "arn:aws:sts::123456789012:assumed-role/Developers/alice@corp.example" {
		t.Errorf("served %s's session", arn)
	}
	// Served, but with under 30 minutes left the person is asked to sign in again.
	if s := e.b.Status().Roles[0].Sessions[0]; !s.NeedsHuman || s.State != "ready" {
		t.Errorf("status near the end: %+v", s)
	}
	// The assertion is spent: a replay is refused upstream, and never logged here.
	if _, err := e.b.SAMLLogin(ctx, alice, "developers", response); err == nil || !strings.Contains(err.Error(), "STS refused the SAML response") ||
		strings.Contains(err.Error(), "OIDC") {
		t.Errorf("replayed: %v", err)
	}
	e.sts.SetLifetime(0)
	e.sts.AddSAMLResponse("c2Vjb25k", "alice@corp.example")
	if _, err := e.b.SAMLLogin(ctx, alice, "developers", "c2Vjb25k"); err != nil {
		t.Fatal(err)
	}
	if s := e.b.Status().Roles[0].Sessions[0]; s.NeedsHuman {
		t.Errorf("status after a fresh sign-in: %+v", s)
	}
	if strings.Contains(e.log.String(), response) || strings.Contains(e.log.String(), "c2Vjb25k") {
		t.Error("the SAML response is in the log")
	}
}
