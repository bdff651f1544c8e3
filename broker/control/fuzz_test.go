package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/peer"
)

// stubBackend answers everything for role "ok" and refuses the rest.
type stubBackend struct{}

func (stubBackend) Status() broker.Status { return broker.Status{Upstream: "stub"} }
func (stubBackend) CredentialsFor(_ context.Context, _ broker.Caller, role string) (aws.Credentials, error) {
	if role != "ok" {
		return aws.Credentials{}, broker.ErrNotAllowed
	}
	return aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
}
func (stubBackend) IssueToken(_ context.Context, _ broker.Caller, role string) (string, error) {
	if role != "ok" {
		return "", broker.ErrUnknownRole
	}
	return "token-token-token-token", nil
}
func (stubBackend) RevokeToken(tok string) bool { return tok == "token-token-token-token" }

func (stubBackend) UserToken(c broker.Caller) (string, error) {
	return fmt.Sprintf("cbu1.%d.user-token-user-token", c.UID()), nil
}
func (stubBackend) StartMFA(_ context.Context, _ broker.Caller, role, code string) (time.Time, error) {
	if code == "bad" {
		return time.Time{}, errOwnStep
	}
	if role != "ok" || code != "123456" {
		return time.Time{}, broker.ErrNotAllowed
	}
	return time.Now(), nil
}

func (stubBackend) SAMLSource(_ broker.Caller, name string) (broker.SAMLSourceInfo, error) {
	if name != "ok" {
		return broker.SAMLSourceInfo{}, broker.ErrUnknownRole
	}
	return broker.SAMLSourceInfo{Source: "ok", Roles: []broker.SAMLRole{{Name: "ok"}}}, nil
}
func (stubBackend) SAMLLogin(_ context.Context, _ broker.Caller, role, response string) (time.Time, error) {
	if response == "bad" {
		return time.Time{}, errOwnStep
	}
	if role != "ok" || response == "" {
		return time.Time{}, broker.ErrNotAllowed
	}
	return time.Now(), nil
}

// serveFuzz runs one fuzzed request through h; nil when it cannot be made.
func serveFuzz(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, "http://credbroker/", bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.URL.Path = path
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzControlAPI: any request gets a well-formed answer: a known status,
// and JSON {"code","message"} on every error.
func FuzzControlAPI(f *testing.F) {
	for _, s := range []struct{ method, path, body string }{
		{"GET", "/v1/status", ""}, {"GET", "/v1/credentials/ok", ""}, {"GET", "/v1/credentials/%2e%2e", ""},
		{"POST", "/v1/tokens", `{"role":"ok"}`}, {"DELETE", "/v1/tokens", `{"token":"x"}`}, {"POST", "/v1/mfa", `{"role":"ok","code":"123456"}`},
		{"GET", "/v1/saml/ok", ""}, {"GET", "/v1/saml/-", ""}, {"POST", "/v1/saml", `{"role":"ok","response":"PHNhbWw+"}`},
		{"POST", "/v1/tokens", `{"role":`}, {"PUT", "/v1/status", ""}, {"GET", "/metrics", ""},
	} {
		f.Add(s.method, s.path, []byte(s.body))
	}
	me := peer.NewCaller(uint32(os.Getuid()), os.Getpid())
	h := control.NewHandler(stubBackend{}, func(o *control.Options) {
		o.Identify = func(context.Context) (broker.Caller, error) { return me, nil }
		o.Endpoints = func() control.Endpoints { return control.Endpoints{Container: "127.0.0.1:1"} }
	})
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		rec := serveFuzz(h, method, path, body)
		if rec == nil {
			return
		}
		switch rec.Code {
		case 200, 204, 400, 403, 404, 405, 413, 503, 301, 307:
		default:
			t.Fatalf("%s %q: status %d", method, path, rec.Code)
		}
		if rec.Code >= 400 && rec.Code != 404 && rec.Code != 405 {
			var e struct{ Code, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %q: error body %q", method, path, rec.Body.String())
			}
		}
	})
}

// FuzzControlAPIOtherUser: a caller who is not the daemon's owner (the
// socket is open to every local user) gets status, metrics or any route
// not made for every user refused; what answers 200 is one of those that
// answer for the caller alone.
func FuzzControlAPIOtherUser(f *testing.F) {
	for _, s := range []struct{ method, path string }{
		{"GET", "/v1/status"}, {"GET", "/metrics"}, {"GET", "/v1/health"}, {"POST", "/v1/user-token"},
		{"GET", "/v1/credentials/ok"}, {"GET", "/v1/status/"}, {"GET", "//v1/status"}, {"POST", "/v1/reload"},
		{"GET", "/v1/credentials/../status"}, {"GET", "/v1/health/../status"},
	} {
		f.Add(s.method, s.path, []byte(`{"role":"ok"}`))
	}
	other := peer.NewCaller(4321, os.Getpid())
	h := control.NewHandler(stubBackend{}, func(o *control.Options) {
		o.Identify = func(context.Context) (broker.Caller, error) { return other, nil }
		o.Endpoints = func() control.Endpoints { return control.Endpoints{Container: "127.0.0.1:1"} }
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("secret_metric 1\n")) })
		o.Owner = func(uid uint32) bool { return uid == 0 }
	})
	open := map[string]bool{"GET /v1/health": true, "POST /v1/user-token": true, "GET /v1/credentials/ok": true, "POST /v1/tokens": true, "POST /v1/mfa": true}
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		rec := serveFuzz(h, method, path, body)
		if rec == nil {
			return
		}
		if strings.Contains(rec.Body.String(), "secret_metric") || strings.Contains(rec.Body.String(), `"upstream"`) {
			t.Fatalf("%s %q: uid 4321 got the owner's answer %q", method, path, rec.Body.String())
		}
		if rec.Code == 200 && !open[method+" "+path] {
			t.Fatalf("%s %q: 200 for a route that is not every user's", method, path)
		}
	})
}

// FuzzReadEndpoints: whatever is in endpoints.json, reading it does not
// panic, and what reads back is what was written.
func FuzzReadEndpoints(f *testing.F) {
	f.Add([]byte(`{"imds":"127.0.0.1:8911","container":"127.0.0.1:8912","control_socket":"/run/credbroker/control.sock","region":"eu-west-1","pid":1}`))
	f.Add([]byte(`{"imds":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, control.EndpointsFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := control.ReadEndpoints(dir)
		if err != nil {
			return
		}
		_ = e.IMDSURL() + e.ContainerURL() + e.CoreURL()
		if err := control.WriteEndpoints(dir, e); err != nil {
			t.Fatal(err)
		}
		again, err := control.ReadEndpoints(dir)
		if err != nil || again != e {
			t.Fatalf("round trip: %+v → %+v, %v", e, again, err)
		}
	})
}
