package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/imds"
	"github.com/credbroker/credbroker/internal/awsfake"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func setup(t *testing.T) (*control.Client, *awsfake.Server, *broker.Broker) {
	t.Helper()
	fake := awsfake.New()
	fake.AddUser("alice", "AKIAALICE0000EXAMPLE", "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY")
	fake.SetMFACode("arn:aws:iam::123456789012:mfa/alice", "246810")
	keys := keystore.NewMemory()
	keys.Put("alice", keystore.Key{AccessKeyID: "AKIAALICE0000EXAMPLE", SecretAccessKey: "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"})
	hcl := fmt.Sprintf(`
upstream "sts" {
  region = "eu-west-1"
}
source "keyring" "alice" {}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
role "admin" {
  arn        = "arn:aws:iam::123456789012:role/admin"
  source     = "alice"
  mfa_serial = "arn:aws:iam::123456789012:mfa/alice"
}
role "other" {
  arn    = "arn:aws:iam::123456789012:role/other"
  source = "alice"
}
source "saml" "corp" {
  idp_url      = "https://idp.example.com/sso"
  provider_arn = "arn:aws:iam::123456789012:saml-provider/corp"
}
role "dev" {
  arn    = "arn:aws:iam::123456789012:role/Developers"
  source = "corp"
}
client "me" {
  uids        = [%d]
  role        = "deploy"
  allow_roles = ["admin", "dev"]
}
`, os.Getuid())
	cfg, err := config.Parse([]byte(hcl), "test.hcl")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(cfg, func(o *broker.Options) {
		o.Upstream = broker.NewEmbeddedUpstream(fake, "eu-west-1")
		o.Keys = keys
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	sock := filepath.Join(t.TempDir(), control.SocketFile)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	res := peer.New()
	srv := &http.Server{ConnContext: res.ConnContext, Handler: control.NewHandler(b, func(o *control.Options) {
		o.Metrics = promhttp.HandlerFor(b.Registry(), promhttp.HandlerOpts{})
		o.Endpoints = func() control.Endpoints {
			return control.Endpoints{Container: "127.0.0.1:8912", Region: "eu-west-1"}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); res.Close() })
	return control.NewClient(sock), fake, b
}

func TestControlAPI(t *testing.T) {
	c, fake, b := setup(t)
	ctx := context.Background()
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	pc, err := c.Credentials(ctx, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if arn, ok := fake.Issued(pc.AccessKeyID); !ok || !strings.Contains(arn, "assumed-role/deploy/") || pc.Version != 1 || pc.SessionToken == "" {
		t.Errorf("credentials %s of %q", pc.AccessKeyID, arn)
	}
	exp, err := time.Parse(time.RFC3339, pc.Expiration)
	if err != nil || time.Until(exp) < 50*time.Minute || !strings.HasSuffix(pc.Expiration, "Z") {
		t.Errorf("Expiration %q", pc.Expiration)
	}

	for role, code := range map[string]string{"other": "NotAllowed", "nope": "UnknownRole", "admin": "MFARequired"} {
		_, err := c.Credentials(ctx, role)
		var ce *control.Error
		if !errors.As(err, &ce) || ce.Code != code {
			t.Errorf("credentials of %s: %v, want %s", role, err, code)
		}
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Roles) != 4 || st.Roles[0].Role != "admin" || !st.Roles[0].Sessions[0].NeedsHuman || st.Upstream != "embedded core" {
		t.Errorf("status %+v", st)
	}

	if _, err := c.StartMFA(ctx, "admin", "000000"); err == nil {
		t.Error("a wrong MFA code was accepted")
	}
	mfaExp, err := c.StartMFA(ctx, "admin", "246810")
	if err != nil || time.Until(mfaExp) < 11*time.Hour {
		t.Fatalf("MFA: %v, %v", mfaExp, err)
	}
	if _, err := c.Credentials(ctx, "admin"); err != nil {
		t.Errorf("after MFA: %v", err)
	}

	g, err := c.IssueToken(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if role, ok := b.Tokens().Lookup(g.Token); !ok || role != "admin" || g.ContainerURL != "http://127.0.0.1:8912"+imds.DefaultContainerPath || g.Region != "eu-west-1" {
		t.Errorf("grant %+v (bound to %q, %v)", g, role, ok)
	}
	if _, err := c.IssueToken(ctx, "other"); err == nil {
		t.Error("a token for a role not allowed")
	}
	if err := c.RevokeToken(ctx, g.Token); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Tokens().Lookup(g.Token); ok {
		t.Error("revoked token still accepted")
	}
	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(m, `credbroker_credentials_served_total{endpoint="control",role="deploy"} 1`) {
		t.Errorf("metrics (%v):\n%s", err, m)
	}
}

func TestNoDaemon(t *testing.T) {
	c := control.NewClient(filepath.Join(t.TempDir(), "control.sock"))
	if _, err := c.Status(context.Background()); !errors.Is(err, control.ErrNoDaemon) {
		t.Errorf("no socket: %v", err)
	}
	if _, err := control.ReadEndpoints(t.TempDir()); !errors.Is(err, control.ErrNoDaemon) || !strings.Contains(err.Error(), "credbroker serve") {
		t.Errorf("no endpoints file: %v", err)
	}
}

func TestEndpointsFile(t *testing.T) {
	dir := t.TempDir()
	want := control.Endpoints{IMDS: "127.0.0.1:40001", Container: "[::1]:40002", Core: "127.0.0.1:40003",
		ControlSocket: filepath.Join(dir, "control.sock"), TokenFile: filepath.Join(dir, "container.token"), Region: "eu-west-1", PID: 42}
	if err := control.WriteEndpoints(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := control.ReadEndpoints(dir)
	if err != nil || got != want {
		t.Fatalf("ReadEndpoints = %+v, %v", got, err)
	}
	if got.IMDSURL() != "http://127.0.0.1:40001/" || got.ContainerURL() != "http://[::1]:40002/v1/credentials" || got.CoreURL() != "http://127.0.0.1:40003" {
		t.Errorf("URLs %s %s %s", got.IMDSURL(), got.ContainerURL(), got.CoreURL())
	}
	fi, _ := os.Stat(filepath.Join(dir, control.EndpointsFile))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if err := control.RemoveEndpoints(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := control.ReadEndpoints(dir); !errors.Is(err, control.ErrNoDaemon) {
		t.Errorf("after remove: %v", err)
	}
}

func TestControlSAML(t *testing.T) {
	c, fake, _ := setup(t)
	ctx := context.Background()
	info, err := c.SAMLSource(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := broker.SAMLSourceInfo{Source: "corp", IdPURL: "https://idp.example.com/sso", ProviderARN: "arn:aws:iam::123456789012:saml-provider/corp",
		Callback: config.DefaultSAMLCallback, Roles: []broker.SAMLRole{{Name: "dev", ARN: "arn:aws:iam::123456789012:role/Developers"}}}
	if d := cmp.Diff(want, info); d != "" {
		t.Errorf("source (-want +got):\n%s", d)
	}
	var ce *control.Error
	if _, err := c.SAMLSource(ctx, "nope"); !errors.As(err, &ce) || ce.Code != "UnknownRole" {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := c.Credentials(ctx, "dev"); !errors.As(err, &ce) || ce.Code != broker.CodeSAMLLogin {
		t.Errorf("before login: %v", err)
	}
	needsHuman := func() string {
		t.Helper()
		m, err := c.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return regexp.MustCompile(`credbroker_session_needs_human\{caller="",role="dev"\} \d`).FindString(m)
	}
	if got := needsHuman(); !strings.HasSuffix(got, " 1") {
		t.Errorf("metrics before login: %q", got)
	}
	// A real response is tens of kilobytes: over the socket's usual 4 KiB.
	response := strings.Repeat("PHNhbWxwOlJlc3BvbnNlLz4", 1000)
	fake.AddSAMLResponse(response, "alice")
	exp, err := c.SAMLLogin(ctx, "dev", response)
	if err != nil || time.Until(exp) < 50*time.Minute {
		t.Fatalf("login: %v, %v", exp, err)
	}
	pc, err := c.Credentials(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if arn, _ := fake.Issued(pc.AccessKeyID); arn != "arn:aws:sts::123456789012:assumed-role/Developers/alice" {
		t.Errorf("served %s", arn)
	}
	if got := needsHuman(); !strings.HasSuffix(got, " 0") {
		t.Errorf("metrics after login: %q", got)
	}
	if _, err := c.SAMLLogin(ctx, "other", response); !errors.As(err, &ce) || ce.Code != "NotAllowed" {
		t.Errorf("login to a role not allowed: %v", err)
	}
}

// errOwnStep is stubBackend's refusal of a sign-in step ("bad" code or assertion)
// for a reason of its own, not the broker's.
var errOwnStep = errors.New("the step itself failed")

// TestRouteRefusals: every route that answers a caller starts alike (begin):
// a caller the connection does not identify is refused, a body that is not
// the JSON expected is a bad request; a sign-in step (MFA, SAML) that fails
// for its own reason is a bad request with its code.
func TestRouteRefusals(t *testing.T) {
	me := peer.NewCaller(uint32(os.Getuid()), os.Getpid())
	handler := func(identify func(context.Context) (broker.Caller, error)) http.Handler {
		return control.NewHandler(stubBackend{}, func(o *control.Options) {
			o.Identify = identify
			o.Endpoints = func() control.Endpoints { return control.Endpoints{Container: "127.0.0.1:1"} }
		})
	}
	known := handler(func(context.Context) (broker.Caller, error) { return me, nil })
	unknown := handler(func(context.Context) (broker.Caller, error) { return nil, errors.New("no peer credentials") })
	cases := []struct {
		method, path, body string
		h                  http.Handler
		status             int
		code               string
	}{
		{"GET", "/v1/status", "", unknown, http.StatusForbidden, "UnknownCaller"},
		{"GET", "/v1/credentials/ok", "", unknown, http.StatusForbidden, "UnknownCaller"},
		{"POST", "/v1/tokens", `{"role":"ok"}`, unknown, http.StatusForbidden, "UnknownCaller"},
		{"POST", "/v1/user-token", "", unknown, http.StatusForbidden, "UnknownCaller"},
		{"POST", "/v1/mfa", `{"role":"ok","code":"123456"}`, unknown, http.StatusForbidden, "UnknownCaller"},
		{"GET", "/v1/saml/ok", "", unknown, http.StatusForbidden, "UnknownCaller"},
		{"POST", "/v1/saml", `{"role":"ok","response":"PHNhbWw+"}`, unknown, http.StatusForbidden, "UnknownCaller"},
		{"POST", "/v1/tokens", `{"role":`, known, http.StatusBadRequest, "BadRequest"},
		{"DELETE", "/v1/tokens", `[]`, known, http.StatusBadRequest, "BadRequest"},
		{"POST", "/v1/mfa", `{"code":123456}`, known, http.StatusBadRequest, "BadRequest"},
		{"POST", "/v1/saml", `{"response":`, known, http.StatusBadRequest, "BadRequest"},
		{"POST", "/v1/mfa", `{"role":"ok","code":"bad"}`, known, http.StatusBadRequest, "MFAFailed"},
		{"POST", "/v1/saml", `{"role":"ok","response":"bad"}`, known, http.StatusBadRequest, "SAMLLoginFailed"},
		{"POST", "/v1/mfa", `{"role":"other","code":"123456"}`, known, http.StatusForbidden, "NotAllowed"},
		{"POST", "/v1/saml", `{"role":"other","response":"PHNhbWw+"}`, known, http.StatusForbidden, "NotAllowed"},
		{"GET", "/v1/saml/nope", "", known, http.StatusNotFound, "UnknownRole"},
	}
	for _, c := range cases {
		rec := serveFuzz(c.h, c.method, c.path, []byte(c.body))
		var e struct{ Code, Message string }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != c.status || e.Code != c.code || e.Message == "" {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, rec.Code, rec.Body, c.status, c.code)
		}
	}
	for _, ok := range []struct{ method, path, body string }{
		{"POST", "/v1/mfa", `{"role":"ok","code":" 123456 "}`}, {"POST", "/v1/saml", `{"role":"ok","response":"PHNhbWw+"}`},
	} {
		rec := serveFuzz(known, ok.method, ok.path, []byte(ok.body))
		var e struct{ Expires time.Time }
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != http.StatusOK || e.Expires.IsZero() {
			t.Errorf("%s %s: %d %s", ok.method, ok.path, rec.Code, rec.Body)
		}
	}
}
