package samlsp_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

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

// redeem redeems resp for role with AssumeRoleWithSAML through the Go SDK, as
// the broker does, and returns the session's ARN.
func (f *fixture) redeem(t *testing.T, resp, role string) (string, error) {
	t.Helper()
	c := awssts.NewFromConfig(f.c.Config(aws.Credentials{}), func(o *awssts.Options) {
		o.BaseEndpoint = aws.String(f.srv.URL)
		o.HTTPClient = f.srv.Client()
	})
	out, err := c.AssumeRoleWithSAML(f.c.Ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(role), PrincipalArn: aws.String(f.provARN), SAMLAssertion: aws.String(resp)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.AssumedRoleUser.Arn), nil
}
