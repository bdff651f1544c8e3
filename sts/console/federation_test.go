package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts/console"
)

func getSigninToken(t *testing.T, f *fixture, creds aws.Credentials) (int, string) {
	t.Helper()
	return getSigninTokenAt(t, f.srv.URL, creds)
}

// signinTokenAt is a SigninToken of the console at base, failing the test without one.
func signinTokenAt(t *testing.T, base string, creds aws.Credentials) string {
	t.Helper()
	status, tok := getSigninTokenAt(t, base, creds)
	if status != http.StatusOK {
		t.Fatalf("getSigninToken at %s: %d %s", base, status, tok)
	}
	return tok
}

func getSigninTokenAt(t *testing.T, base string, creds aws.Credentials) (int, string) {
	t.Helper()
	sess, _ := json.Marshal(console.SessionJSON{SessionID: creds.AccessKeyID, SessionKey: creds.SecretAccessKey, SessionToken: creds.SessionToken})
	resp := mustGet(t, http.DefaultClient, base+"/federation?"+url.Values{"Action": {"getSigninToken"}, "Session": {string(sess)}}.Encode())
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	var out struct{ SigninToken string }
	if err := json.Unmarshal(body, &out); err != nil || out.SigninToken == "" {
		t.Fatalf("getSigninToken answered %q", body)
	}
	return resp.StatusCode, out.SigninToken
}

func loginURL(f *fixture, token, dest string) string {
	return f.srv.URL + "/federation?" + url.Values{"Action": {"login"}, "Issuer": {"test"}, "Destination": {dest}, "SigninToken": {token}}.Encode()
}

// TestFederationLogin: a role session's credentials make a SigninToken, which signs
// a browser in once; the console then acts as that session.
func TestFederationLogin(t *testing.T) {
	f := newFixture(t)
	status, tok := getSigninToken(t, f, f.devAdminCreds(t))
	if status != http.StatusOK {
		t.Fatalf("getSigninToken: %d %s", status, tok)
	}
	b := f.browser(t)
	resp := mustGet(t, b, loginURL(f, tok, f.srv.URL+"/console/users"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/users" {
		t.Fatalf("login: %d to %q, want 302 to /console/users", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want one HttpOnly SameSite=Strict cookie", ck)
	}
	page := get(t, b, f.srv.URL+"/console/users", http.StatusOK)
	for _, want := range []string{"assumed-role/dev-admin/console-test", ">dev<"} {
		if !strings.Contains(page, want) {
			t.Errorf("users page lacks %q", want)
		}
	}
	if !strings.Contains(f.log.String(), "action=ListUsers caller=arn:aws:sts::123456789012:assumed-role/dev-admin/console-test") {
		t.Errorf("the console's ListUsers is not in the audit trail:\n%s", f.log.String())
	}

	// The token was used: a second login with it fails.
	resp = mustGet(t, f.browser(t), loginURL(f, tok, "/console/"))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 0 {
		t.Fatalf("reused SigninToken: %d %q, cookies %v; want 400 and no session", resp.StatusCode, body, resp.Cookies())
	}
}

func TestSigninTokenExpires(t *testing.T) {
	clock := clocktest.New(time.Now())
	f := newFixture(t, func(o *console.Options) { o.Now = clock.Now })
	_, tok := getSigninToken(t, f, f.devAdminCreds(t))
	clock.Advance(15*time.Minute + time.Second)
	resp := mustGet(t, f.browser(t), loginURL(f, tok, "/console/"))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("SigninToken after 15 minutes: %d, want 400", resp.StatusCode)
	}
}

func TestGetSigninTokenRefuses(t *testing.T) {
	f := newFixture(t)
	good := f.devAdminCreds(t)
	for name, creds := range map[string]aws.Credentials{
		"wrong secret": {AccessKeyID: good.AccessKeyID, SecretAccessKey: "x" + good.SecretAccessKey, SessionToken: good.SessionToken},
		"no token":     {AccessKeyID: f.dev.AccessKeyID, SecretAccessKey: f.dev.SecretAccessKey},
		"forged token": {AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey, SessionToken: good.SessionToken[:len(good.SessionToken)-4] + "AAAA"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := getSigninToken(t, f, creds)
			if status == http.StatusOK {
				t.Fatalf("getSigninToken with %s answered a token", name)
			}
			if strings.Contains(body, good.SecretAccessKey) {
				t.Fatal("the answer repeats the secret")
			}
		})
	}
}

func TestLoginDestinationStaysOnConsole(t *testing.T) {
	for dest, want := range map[string]string{
		"https://evil.example/console/":  "/console/",
		"//evil.example/x":               "/console/",
		"/console/roles?x=1":             "/console/roles?x=1",
		"http://127.0.0.1/console/users": "/console/users",
		"/elsewhere":                     "/console/",
	} {
		f := newFixture(t)
		_, tok := getSigninToken(t, f, f.devAdminCreds(t))
		resp := mustGet(t, f.browser(t), loginURL(f, tok, dest))
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("Destination %q: redirected to %q, want %q", dest, got, want)
		}
	}
}

func get(t *testing.T, c *http.Client, u string, want int) string {
	t.Helper()
	resp := mustGet(t, c, u)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", u, resp.StatusCode, want, b)
	}
	return string(b)
}
