package login

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	crewsaml "github.com/crewjam/saml"
	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker"
)

const (
	prov  = "arn:aws:iam::123456789012:saml-provider/corp"
	devs  = "arn:aws:iam::123456789012:role/Developers"
	admin = "arn:aws:iam::123456789012:role/Admins"
)

var info = broker.SAMLSourceInfo{Source: "corp", ProviderARN: prov, Callback: "127.0.0.1:8975",
	Roles: []broker.SAMLRole{{Name: "admins", ARN: admin}, {Name: "developers", ARN: devs}}}

func response(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestRolesOf(t *testing.T) {
	for name, tc := range map[string]struct {
		want []RolePair
		err  error
	}{
		"two-roles": {want: []RolePair{{devs, prov}, {admin, prov}, {"arn:aws:iam::123456789012:role/Auditors", "arn:aws:iam::123456789012:saml-provider/other"}}},
		"one-role":  {want: []RolePair{{devs, prov}}},
		"no-role":   {},
		"encrypted": {err: ErrNoAssertion},
	} {
		got, err := RolesOf(response(t, name))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", name, err, tc.err)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	if _, err := RolesOf("not base64!"); err == nil {
		t.Error("garbage read as a response")
	}
}

// redeemer records what reaches the daemon.
type redeemer struct {
	calls []string
	err   error
}

func (r *redeemer) redeem(_ context.Context, role, resp string) (time.Time, error) {
	r.calls = append(r.calls, role+" "+resp)
	return time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC), r.err
}

func post(t *testing.T, h http.Handler, form url.Values) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8975/saml", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestCallback(t *testing.T) {
	nonceRE := regexp.MustCompile(`name="nonce" value="([^"]+)"`)
	for name, tc := range map[string]struct {
		resp   string
		choose string // the role picked in the chooser, "" when none is shown
		status int
		redeem string // the role redeemed, "" for none
		text   string
	}{
		"one role signs in at once": {resp: "one-role", status: 200, redeem: "developers", text: "serves role developers until 2026-12-02T08:00:00Z"},
		"two roles: chooser":        {resp: "two-roles", choose: "admins", status: 200, redeem: "admins", text: "Signed in"},
		"no mapped group":           {resp: "no-role", status: 403, text: "none of the roles of source corp"},
		"encrypted: all":            {resp: "encrypted", choose: "developers", status: 200, redeem: "developers"},
		"no SAMLResponse":           {status: 400, text: "No SAMLResponse"},
		"chooser tampered":          {resp: "two-roles", choose: "root", status: 403, text: "not one your sign-in allows"},
	} {
		t.Run(name, func(t *testing.T) {
			rd := &redeemer{}
			cb := New(info, rd.redeem)
			form := url.Values{}
			var resp string
			if tc.resp != "" {
				resp = response(t, tc.resp)
				form.Set("SAMLResponse", resp)
			}
			status, body := post(t, cb, form)
			if tc.choose != "" {
				m := nonceRE.FindStringSubmatch(body)
				if status != 200 || m == nil {
					t.Fatalf("no chooser: %d %s", status, body)
				}
				status, body = post(t, cb, url.Values{"nonce": {m[1]}, "role": {tc.choose}})
				// The nonce is spent.
				if again, _ := post(t, cb, url.Values{"nonce": {m[1]}, "role": {tc.choose}}); again != 400 {
					t.Errorf("nonce reused: %d", again)
				}
			}
			if status != tc.status || !strings.Contains(body, tc.text) {
				t.Errorf("answer %d %q, want %d with %q", status, body, tc.status, tc.text)
			}
			var want []string
			if tc.redeem != "" {
				want = []string{tc.redeem + " " + resp}
				select {
				case r := <-cb.Done():
					if r.Role != tc.redeem || r.Err != nil {
						t.Errorf("done: %+v", r)
					}
				default:
					t.Error("Done not told")
				}
			}
			if d := cmp.Diff(want, rd.calls); d != "" {
				t.Errorf("redeemed (-want +got):\n%s", d)
			}
			if resp != "" && strings.Contains(body, resp) {
				t.Error("the page carries the SAML response")
			}
		})
	}
}

func TestCallbackRefusals(t *testing.T) {
	rd := &redeemer{err: errors.New("InvalidIdentityToken: The SAML assertion has already been used (replay refused).")}
	cb := New(info, rd.redeem)
	status, body := post(t, cb, url.Values{"SAMLResponse": {response(t, "one-role")}})
	if status != 403 || !strings.Contains(body, "replay refused") {
		t.Errorf("refused upstream: %d %s", status, body)
	}
	if r := <-cb.Done(); r.Err == nil {
		t.Error("Done reported success")
	}
	rec := httptest.NewRecorder()
	cb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8975/saml", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	cb.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8975/other", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("other path: %d", rec.Code)
	}
	big := url.Values{"SAMLResponse": {strings.Repeat("A", MaxBody)}}
	if status, _ := post(t, cb, big); status != 400 {
		t.Errorf("oversized: %d", status)
	}
}

// FuzzRolesOf: any response is read or refused, never a panic.
func FuzzRolesOf(f *testing.F) {
	for _, n := range []string{"two-roles", "one-role", "no-role", "encrypted"} {
		f.Add(response(f, n))
	}
	f.Fuzz(func(t *testing.T, resp string) {
		pairs, err := RolesOf(resp)
		if err != nil && pairs != nil {
			t.Errorf("pairs %v with error %v", pairs, err)
		}
	})
}

// FuzzCallback: any form posted gets a page, IdP- or SP-initiated.
func FuzzCallback(f *testing.F) {
	f.Add("SAMLResponse=" + url.QueryEscape(response(f, "two-roles")))
	f.Add("nonce=x&role=admins")
	f.Add("SAMLResponse=%zz")
	f.Add("SAMLResponse=" + url.QueryEscape(response(f, "one-role")) + "&RelayState=x")
	sp := info
	sp.SPInitiated, sp.IdPURL = true, "https://idp.example.com/sso"
	f.Fuzz(func(t *testing.T, body string) {
		// Every other input goes to an SP-initiated sign-in (RelayState and
		// InResponseTo read too).
		cb := New(info, (&redeemer{}).redeem)
		if len(body)%2 == 0 {
			cb = New(sp, (&redeemer{}).redeem)
			if _, err := cb.Start(); err != nil {
				t.Fatal(err)
			}
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8975/saml", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 499 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("answer %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

// TestSPInitiated: the sign-in starts with an AuthnRequest (read back with
// crewjam/saml) and takes only the response to it, with its RelayState, once.
func TestSPInitiated(t *testing.T) {
	sp := info
	sp.SPInitiated, sp.IdPURL = true, "https://idp.example.com/sso?tenant=corp"
	answer := func(inResponseTo string) string {
		raw, err := base64.StdEncoding.DecodeString(response(t, "one-role"))
		if err != nil {
			t.Fatal(err)
		}
		if inResponseTo == "" {
			return base64.StdEncoding.EncodeToString(raw)
		}
		return base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(` ID="_r2"`), []byte(` ID="_r2" InResponseTo="`+inResponseTo+`"`), 1))
	}
	for name, tc := range map[string]struct {
		inResponseTo, relay string // "=" stands for the request's own
		status              int
		text                string
	}{
		"the answer":          {inResponseTo: "=", relay: "=", status: 200, text: "Signed in"},
		"IdP-initiated":       {relay: "=", status: 400, text: "answers no request"},
		"another request's":   {inResponseTo: "id-0000", relay: "=", status: 400, text: "answers another request"},
		"another RelayState":  {inResponseTo: "=", relay: "forged", status: 400, text: "RelayState"},
		"RelayState left out": {inResponseTo: "=", status: 400, text: "RelayState"},
	} {
		t.Run(name, func(t *testing.T) {
			rd := &redeemer{}
			cb := New(sp, rd.redeem)
			start, err := cb.Start()
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(start)
			if err != nil || u.Host != "idp.example.com" || u.Query().Get("tenant") != "corp" {
				t.Fatalf("start URL %s: %v", start, err)
			}
			req := authnRequest(t, u.Query().Get("SAMLRequest"))
			if req.Issuer == nil || req.Issuer.Value != SPEntityID || req.AssertionConsumerServiceURL != "http://127.0.0.1:8975/saml" ||
				req.Destination != sp.IdPURL || req.ID == "" {
				t.Fatalf("AuthnRequest %+v", req)
			}
			pick := func(v, own string) string {
				if v == "=" {
					return own
				}
				return v
			}
			form := url.Values{"SAMLResponse": {answer(pick(tc.inResponseTo, req.ID))}, "RelayState": {pick(tc.relay, u.Query().Get("RelayState"))}}
			status, body := post(t, cb, form)
			if status != tc.status || !strings.Contains(body, tc.text) {
				t.Errorf("answer %d %q, want %d with %q", status, body, tc.status, tc.text)
			}
			if again, body := post(t, cb, form); status == 200 && (again != 400 || !strings.Contains(body, "answered already")) {
				t.Errorf("answered twice: %d %s", again, body)
			}
			if (len(rd.calls) == 1) != (tc.status == 200) || len(rd.calls) > 1 {
				t.Errorf("redeemed %d times", len(rd.calls))
			}
		})
	}
}

// authnRequest decodes an HTTP-Redirect binding's SAMLRequest.
func authnRequest(t *testing.T, param string) *crewsaml.AuthnRequest {
	t.Helper()
	deflated, err := base64.StdEncoding.DecodeString(param)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	var req crewsaml.AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return &req
}
