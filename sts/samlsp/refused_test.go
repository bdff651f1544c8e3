package samlsp_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/sts/saml/samltest"
)

func TestRefused(t *testing.T) {
	f := newFixture(t)
	now := f.c.Clock.Now()
	stranger := samltest.NewKey(t, "stranger")
	resp := f.response(t, nil, f.devARN)
	raw := samltest.Decode(t, resp)
	for name, c := range map[string]struct {
		resp       string
		status     int
		code, text string
	}{
		"tampered": {samltest.Encode(strings.Replace(raw, "alice@example.com", "mallory@example.com", 1)), 400, "InvalidIdentityToken", "signature"},
		"unknown signer": {samltest.Encode(samltest.SignGo(t, f.idp.For(f.devARN, f.provARN, now).XML(false), stranger, samltest.SignAssertion)),
			400, "InvalidIdentityToken", "signature"},
		"expired": {f.response(t, func(r *samltest.Response) { r.NotOnOrAfter = now.Add(-2 * time.Minute) }, f.devARN), 400, "ExpiredTokenException", "expired"},
		"issued too long ago": {f.response(t, func(r *samltest.Response) {
			r.IssueInstant = now.Add(-10 * time.Minute)
			r.NotBefore = now.Add(-11 * time.Minute)
		}, f.devARN), 400, "ExpiredTokenException", "5 minutes"},
		"for another recipient": {f.response(t, func(r *samltest.Response) { r.Recipient, r.Destination = "https://sp.example/acs", "" }, f.devARN), 400, "InvalidIdentityToken", "Recipient"},
		"for another audience":  {f.response(t, func(r *samltest.Response) { r.Audience = "urn:example:sp" }, f.devARN), 400, "InvalidIdentityToken", "audience"},
		"no role":               {f.response(t, func(r *samltest.Response) { delete(r.Attributes, roleAttr) }, f.devARN), 403, "", "No role"},
		"not base64":            {"%%%", 400, "InvalidIdentityToken", ""},
	} {
		t.Run(name, func(t *testing.T) {
			status, page := post(t, browser(t), f.acs, url.Values{"SAMLResponse": {c.resp}})
			if status != c.status || !strings.Contains(page, c.code) || !strings.Contains(page, c.text) || strings.Contains(page, "whoami") {
				t.Errorf("%d\n%s", status, page)
			}
		})
	}
}
