package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestConsoleLoginURL: the session goes to getSigninToken in a POST body (never in
// a URL), and the login URL carries the token, the issuer and the destination.
func TestConsoleLoginURL(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret/key+x", SessionToken: "token=="}
	var gotSession string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || strings.Contains(r.URL.RawQuery, "secret") || r.FormValue("Action") != "getSigninToken" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		gotSession = r.PostFormValue("Session")
		json.NewEncoder(w).Encode(map[string]string{"SigninToken": "TOKEN-1"})
	}))
	defer srv.Close()
	login, err := consoleLoginURL(context.Background(), srv.Client(), srv.URL+"/federation", "http://core/console/", creds)
	if err != nil {
		t.Fatal(err)
	}
	var sess map[string]string
	if err := json.Unmarshal([]byte(gotSession), &sess); err != nil || sess["sessionId"] != "ASIAEXAMPLE" ||
		sess["sessionKey"] != "secret/key+x" || sess["sessionToken"] != "token==" {
		t.Fatalf("Session sent: %q", gotSession)
	}
	u, err := url.Parse(login)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/federation" || q.Get("Action") != "login" || q.Get("SigninToken") != "TOKEN-1" ||
		q.Get("Destination") != "http://core/console/" || q.Get("Issuer") != signinIssuer || strings.Contains(login, "secret") {
		t.Fatalf("login URL %q", login)
	}

	// An endpoint that refuses: the error says where and what.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "The session's credentials are not valid: InvalidClientTokenId.", http.StatusForbidden)
	}))
	defer bad.Close()
	_, err = consoleLoginURL(context.Background(), bad.Client(), bad.URL+"/federation", "http://core/console/", creds)
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || strings.Contains(err.Error(), "secret/key") {
		t.Fatalf("refused: %v", err)
	}
}

// TestCABundleClient: with AWS_CA_BUNDLE naming the CA of a core behind TLS, the
// console's getSigninToken client trusts it; the default client does not; a
// bundle with no certificate is an error that names it.
func TestCABundleClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	bundle, junk := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junk, []byte("nothing"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		bundle string
		ok     bool
	}{"bundle": {bundle, true}, "none": {"", false}} {
		hc, err := caBundleClient(tc.bundle)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := caBundleClient(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("a bundle with no certificate: %v", err)
	}
}
