package samlsp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/sts/internal/coretest"
)

func TestChooserToConsole(t *testing.T) {
	f := newFixture(t)
	br := browser(t)
	resp := f.response(t, nil, f.devARN, f.adminsARN)
	status, page := post(t, br, f.acs, url.Values{"SAMLResponse": {resp}, "RelayState": {"/console/roles"}})
	m := nonceRE.FindStringSubmatch(page)
	if status != http.StatusOK || !strings.Contains(page, "Select a role") || m == nil {
		t.Fatalf("chooser: %d\n%s", status, page)
	}
	// Another browser (no cookie) cannot use the nonce; nor can it be used twice.
	if status, page := post(t, browser(t), f.acs, url.Values{"nonce": {m[1]}, "roleIndex": {"1"}}); status != http.StatusForbidden {
		t.Errorf("choice from another browser: %d\n%s", status, page)
	}
	// The nonce was spent by that attempt: a fresh sign-in for the real choice.
	status, page = post(t, br, f.acs, url.Values{"SAMLResponse": {f.response(t, nil, f.devARN, f.adminsARN)}, "RelayState": {"/console/roles"}})
	m = nonceRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("second chooser: %d\n%s", status, page)
	}
	status, page = post(t, br, f.acs, url.Values{"nonce": {m[1]}, "roleIndex": {"1"}})
	if status != http.StatusOK {
		t.Fatalf("choice: %d\n%s", status, page)
	}
	to, who := f.console(t, br, page)
	if who != "arn:aws:sts::"+coretest.Account+":assumed-role/Admins/alice" || to != "/console/roles" {
		t.Errorf("console at %s as %s", to, who)
	}
	if status, _ := post(t, br, f.acs, url.Values{"nonce": {m[1]}, "roleIndex": {"0"}}); status != http.StatusBadRequest {
		t.Errorf("nonce used twice: %d", status)
	}
	// The response posted first was never redeemed; the one chosen was.
	for name, c := range map[string]struct {
		resp string
		ok   bool
	}{"abandoned at the chooser": {resp, true}} {
		_, err := f.redeem(t, c.resp, f.devARN)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
	if logs := f.c.Logs.String(); strings.Contains(logs, resp[:40]) || strings.Contains(logs, "SAMLResponse") {
		t.Error("a SAML response is in the log")
	}
}

func TestOneRoleToConsole(t *testing.T) {
	f := newFixture(t)
	br := browser(t)
	resp := f.response(t, nil, f.devARN)
	status, page := post(t, br, f.acs, url.Values{"SAMLResponse": {resp}, "RelayState": {"https://evil.example/console/users"}})
	if status != http.StatusOK {
		t.Fatalf("sign-in: %d\n%s", status, page)
	}
	to, who := f.console(t, br, page)
	if who != "arn:aws:sts::"+coretest.Account+":assumed-role/Developers/alice" || to != "/console/users" {
		t.Errorf("console at %s as %s", to, who)
	}
	// Spent: a replay is refused, at /saml and at STS.
	if status, page := post(t, browser(t), f.acs, url.Values{"SAMLResponse": {resp}}); status != http.StatusBadRequest || !strings.Contains(page, "InvalidIdentityToken") ||
		!strings.Contains(page, "already been used") {
		t.Errorf("replay at /saml: %d\n%s", status, page)
	}
}

func TestHandOffToLogin(t *testing.T) {
	f := newFixture(t)
	resp := f.response(t, nil, f.devARN, f.adminsARN)
	status, page := post(t, browser(t), f.acs, url.Values{"SAMLResponse": {resp}, "RelayState": {callback}})
	if status != http.StatusOK || !strings.Contains(page, `action="`+callback+`"`) || !strings.Contains(page, resp[:60]) {
		t.Fatalf("hand-off: %d\n%s", status, page)
	}
	// The broker redeems it, once: the core did not.
	arn, err := f.redeem(t, resp, f.devARN)
	if err != nil {
		t.Fatalf("the broker's redemption: %v", err)
	}
	if arn != "arn:aws:sts::"+coretest.Account+":assumed-role/Developers/alice" {
		t.Errorf("redeemed as %s", arn)
	}
	if _, err := f.redeem(t, resp, f.devARN); err == nil || !strings.Contains(err.Error(), "already been used") {
		t.Errorf("second redemption: %v", err)
	}
	// Only registered callbacks get a response: another RelayState is a console
	// destination (and is cleaned to one).
	status, page = post(t, browser(t), f.acs, url.Values{"SAMLResponse": {f.response(t, nil, f.devARN, f.adminsARN)}, "RelayState": {"http://127.0.0.1:9999/saml"}})
	if status != http.StatusOK || strings.Contains(page, "127.0.0.1:9999") || !strings.Contains(page, "Select a role") {
		t.Errorf("unregistered callback: %d\n%s", status, page)
	}
}
