package samlsp_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	crewsaml "github.com/crewjam/saml"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/console"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/internal/coretest"
	"github.com/credbroker/credbroker/sts/saml/samltest"
	"github.com/credbroker/credbroker/sts/samlsp"
	"github.com/credbroker/credbroker/sts/store"
)

const (
	roleAttr = "https://aws.amazon.com/SAML/Attributes/Role"
	callback = "http://127.0.0.1:8975/saml"
)

// fixture: a core with a SAML provider and two roles trusting it, the console and
// the service provider, on one server routed as the daemon's core listener is.
type fixture struct {
	c                 *coretest.Core
	srv               *httptest.Server
	acs               string
	idp               *samltest.IdP
	provARN           string
	devARN, adminsARN string
	n                 int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := coretest.New(t, func(o *coretest.Options) {
		o.RunningClock = true
		o.Register = func(core *sts.Core) error { _, err := iamapi.Register(core); return err }
	})
	f := &fixture{c: c, idp: &samltest.IdP{EntityID: "https://idp.corp.example/saml", Keys: []samltest.Key{samltest.NewKey(t, "idp")}}}
	c.Update(func(tx *store.Tx) error {
		p, err := tx.CreateSAMLProvider(account.SAMLProvider{Name: "corp", Metadata: f.idp.Metadata(), UUID: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
		f.provARN = p.ARN
		return err
	})
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + f.provARN + `"},"Action":"sts:AssumeRoleWithSAML"}]}`
	f.devARN = c.Role(account.Role{Name: "Developers", AssumeRolePolicy: trust}, coretest.Entity{}).ARN
	f.adminsARN = c.Role(account.Role{Name: "Admins", AssumeRolePolicy: trust}, coretest.Entity{}).ARN
	con, err := console.New(c.Core)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := samlsp.Register(c.Core, func(o *samlsp.Options) { o.Console = con.Handler(); o.Now = c.Clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	ch := con.Handler()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Serves(r.URL.Path) {
			ch.ServeHTTP(w, r)
			return
		}
		c.Core.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.acs = f.srv.URL + samlsp.Path
	c.Core.SetSAMLACS([]string{f.acs, callback})
	sp.Configure(f.acs, []string{callback})
	return f
}

// response is a signed response for the core's /saml naming roles.
func (f *fixture) response(t *testing.T, fn func(*samltest.Response), roles ...string) string {
	t.Helper()
	f.n++
	r := f.idp.For(roles[0], f.provARN, f.c.Clock.Now())
	r.AssertionID += string(rune('a' + f.n))
	r.Recipient, r.Destination = f.acs, f.acs
	r.Attributes[roleAttr] = nil
	for _, role := range roles {
		r.Attributes[roleAttr] = append(r.Attributes[roleAttr], role+","+f.provARN)
	}
	if fn != nil {
		fn(&r)
	}
	return samltest.Encode(samltest.SignGo(t, r.XML(false), f.idp.Keys[0], samltest.SignAssertion))
}

// browser is a client with cookies that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	nonceRE   = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
	refreshRE = regexp.MustCompile(`http-equiv="refresh" content="0;url=([^"]+)"`)
)

// console follows the sign-in page's refresh and returns the console page's
// signed-in principal.
func (f *fixture) console(t *testing.T, c *http.Client, page string) (string, string) {
	t.Helper()
	m := refreshRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no refresh to the console in:\n%s", page)
	}
	to := strings.ReplaceAll(m[1], "&amp;", "&")
	resp, err := c.Get(f.srv.URL + to)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	who := regexp.MustCompile(`<span id="whoami">([^<]+)</span>`).FindStringSubmatch(string(b))
	if who == nil {
		t.Fatalf("GET %s: %d, not signed in:\n%s", to, resp.StatusCode, b)
	}
	return to, who[1]
}

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
		_, err := f.sts(t).AssumeRoleWithSAML(context.Background(), &awssts.AssumeRoleWithSAMLInput{
			RoleArn: aws.String(f.devARN), PrincipalArn: aws.String(f.provARN), SAMLAssertion: aws.String(c.resp)})
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", name, err)
		}
	}
	if logs := f.c.Logs.String(); strings.Contains(logs, resp[:40]) || strings.Contains(logs, "SAMLResponse") {
		t.Error("a SAML response is in the log")
	}
}

func (f *fixture) sts(t *testing.T) *awssts.Client {
	return awssts.NewFromConfig(f.c.Config(aws.Credentials{}), func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(f.srv.URL)
		o.HTTPClient = f.srv.Client()
	})
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
	in := &awssts.AssumeRoleWithSAMLInput{RoleArn: aws.String(f.devARN), PrincipalArn: aws.String(f.provARN), SAMLAssertion: aws.String(resp)}
	out, err := f.sts(t).AssumeRoleWithSAML(context.Background(), in)
	if err != nil {
		t.Fatalf("the broker's redemption: %v", err)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+coretest.Account+":assumed-role/Developers/alice" {
		t.Errorf("redeemed as %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
	if _, err := f.sts(t).AssumeRoleWithSAML(context.Background(), in); err == nil || !strings.Contains(err.Error(), "already been used") {
		t.Errorf("second redemption: %v", err)
	}
	// Only registered callbacks get a response: another RelayState is a console
	// destination (and is cleaned to one).
	status, page = post(t, browser(t), f.acs, url.Values{"SAMLResponse": {f.response(t, nil, f.devARN, f.adminsARN)}, "RelayState": {"http://127.0.0.1:9999/saml"}})
	if status != http.StatusOK || strings.Contains(page, "127.0.0.1:9999") || !strings.Contains(page, "Select a role") {
		t.Errorf("unregistered callback: %d\n%s", status, page)
	}
}

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

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.srv.URL + samlsp.MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ed crewsaml.EntityDescriptor
	if err := xml.NewDecoder(resp.Body).Decode(&ed); err != nil {
		t.Fatal(err)
	}
	if ed.EntityID != "urn:amazon:webservices" || len(ed.SPSSODescriptors) != 1 {
		t.Fatalf("metadata: %+v", ed)
	}
	sp := ed.SPSSODescriptors[0]
	if len(sp.AssertionConsumerServices) != 1 || sp.AssertionConsumerServices[0].Location != f.acs ||
		sp.AssertionConsumerServices[0].Binding != crewsaml.HTTPPostBinding {
		t.Errorf("assertion consumer services: %+v", sp.AssertionConsumerServices)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", got)
	}
}
