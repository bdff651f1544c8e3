package console_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/console"
	"github.com/credbroker/credbroker/sts/saml/samltest"
	"github.com/credbroker/credbroker/sts/store"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signinCSRFOf opens the sign-in page with c (its cookie goes to c's jar) and
// returns the form's token.
func signinCSRFOf(t testing.TB, f *fixture, c *http.Client) string {
	t.Helper()
	resp := mustGet(t, c, f.srv.URL+"/console/signin")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfRE.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no token in the sign-in form:\n%s", b)
	}
	return m[1]
}

func signin(t *testing.T, f *fixture, c *http.Client, user, password string) *http.Response {
	t.Helper()
	v := url.Values{"account": {f.dev.AccountID}, "user": {user}, "password": {password}, "kind": {"iam"}, "csrf": {signinCSRFOf(t, f, c)}}
	if user == "" {
		v.Set("kind", "root")
	}
	return postForm(t, c, f.srv.URL+"/console/signin", v)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSignInFailures: a wrong password and an unknown user get the same answer,
// and failures are limited per user.
func TestSignInFailures(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, "alice", "Alice-Passw0rd!", false)
	wrong := signin(t, f, f.browser(t), "alice", "nope")
	unknown := signin(t, f, f.browser(t), "mallory", "nope")
	wb, ub := body(t, wrong), body(t, unknown)
	if wrong.StatusCode != http.StatusUnauthorized || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("statuses %d, %d; want 401", wrong.StatusCode, unknown.StatusCode)
	}
	const msg = "Your authentication information is incorrect. Please try again."
	if !strings.Contains(wb, msg) || !strings.Contains(ub, msg) {
		t.Fatalf("messages do not both say %q", msg)
	}
	if len(wrong.Cookies()) != 0 {
		t.Fatal("a failed sign-in set a cookie")
	}
	for range 4 {
		body(t, signin(t, f, f.browser(t), "alice", "nope"))
	}
	locked := signin(t, f, f.browser(t), "alice", "Alice-Passw0rd!")
	if b := body(t, locked); locked.StatusCode != http.StatusTooManyRequests || !strings.Contains(b, "Too many failed sign-ins") {
		t.Fatalf("after 5 failures the right password got %d", locked.StatusCode)
	}
	if !strings.Contains(f.log.String(), `console sign-in: user=alice outcome=failure`) {
		t.Errorf("failed sign-ins are not audited:\n%s", f.log.String())
	}
	if strings.Contains(f.log.String(), "Alice-Passw0rd") || strings.Contains(f.log.String(), "nope") {
		t.Error("a password is in the log")
	}
}

func TestSignInPerSourceLimit(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, "alice", "Alice-Passw0rd!", false)
	for i := range 20 {
		body(t, signin(t, f, f.browser(t), "user"+string(rune('a'+i)), "nope"))
	}
	resp := signin(t, f, f.browser(t), "alice", "Alice-Passw0rd!")
	body(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 20 failures from one address: %d, want 429", resp.StatusCode)
	}
}

// TestSessionCookieAndSignOut: the root user signs in, pages carry the security
// headers, a POST without the CSRF token is refused, and sign-out ends the session
// on the server (the old cookie no longer works).
func TestSessionCookieAndSignOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	resp := signin(t, f, b, "", rootPassword)
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("root sign-in: %d", resp.StatusCode)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/console" {
		t.Fatalf("cookie %+v", ck)
	}
	r2 := mustGet(t, b, f.srv.URL+"/console/")
	page := body(t, r2)
	if r2.StatusCode != http.StatusOK || !strings.Contains(page, "arn:aws:iam::123456789012:root") {
		t.Fatalf("dashboard: %d\n%s", r2.StatusCode, page)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
	} {
		if !strings.Contains(r2.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, r2.Header.Get(h), want)
		}
	}
	noCSRF := postForm(t, b, f.srv.URL+"/console/groups", url.Values{"name": {"Sneaky"}})
	if nb := body(t, noCSRF); noCSRF.StatusCode != http.StatusForbidden || !strings.Contains(nb, "CSRF") {
		t.Fatalf("POST without CSRF token: %d %s", noCSRF.StatusCode, nb)
	}
	wrongCSRF := postForm(t, b, f.srv.URL+"/console/groups", url.Values{"name": {"Sneaky"}, "csrf": {"x" + csrfOf(t, page)}})
	body(t, wrongCSRF)
	if wrongCSRF.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token: %d", wrongCSRF.StatusCode)
	}
	old := b.Jar.Cookies(mustURL(t, f.srv.URL+"/console/"))
	out := postForm(t, b, f.srv.URL+"/console/signout", url.Values{"csrf": {csrfOf(t, page)}})
	body(t, out)
	// Replay the old cookie: the session is gone on the server.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/console/", nil)
	for _, c := range old {
		req.AddCookie(c)
	}
	r3, err := f.browser(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, r3)
	if r3.StatusCode != http.StatusSeeOther || r3.Header.Get("Location") != "/console/signin" {
		t.Fatalf("old cookie after sign-out: %d %q, want a redirect to sign-in", r3.StatusCode, r3.Header.Get("Location"))
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestNotAuthorizedShowsAction: a user without IAM permissions sees IAM's
// AccessDenied, naming the action, in the page.
func TestNotAuthorizedShowsAction(t *testing.T) {
	f := newFixture(t)
	f.setPassword(t, "bob", "Bob-Passw0rd!", false)
	b := f.browser(t)
	body(t, signin(t, f, b, "bob", "Bob-Passw0rd!"))
	resp := mustGet(t, b, f.srv.URL+"/console/users")
	page := body(t, resp)
	want := "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:ListUsers"
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, want) || !strings.Contains(page, `role="alert"`) {
		t.Fatalf("users page for bob: %d, want 403 with %q in an alert:\n%s", resp.StatusCode, want, page)
	}
}

// TestPasswordResetAndMFA: a user whose password must change sees only the
// change-password page until ChangePassword succeeds; a user with an MFA device
// is asked for its code, and a wrong code fails like a wrong password.
func TestPasswordResetAndMFA(t *testing.T) {
	clock := clocktest.New(time.Now())
	now := clock.Now()
	f := newFixture(t, func(o *console.Options) { o.Now = clock.Now })
	f.setPassword(t, "carol", "Carol-Passw0rd!", true)
	b := f.browser(t)
	body(t, signin(t, f, b, "carol", "Carol-Passw0rd!"))
	resp := mustGet(t, b, f.srv.URL+"/console/users")
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/change-password" {
		t.Fatalf("with PasswordResetRequired: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := get(t, b, f.srv.URL+"/console/change-password", http.StatusOK)
	// carol may change her own password under the account's policy.
	allowChange(t, f)
	r2 := postForm(t, b, f.srv.URL+"/console/change-password", url.Values{"csrf": {csrfOf(t, page)},
		"old": {"Carol-Passw0rd!"}, "new": {"Carol-New-Passw0rd!"}, "confirm": {"Carol-New-Passw0rd!"}})
	if rb := body(t, r2); r2.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d\n%s", r2.StatusCode, rb)
	}

	// An MFA device for carol.
	seed := enableMFA(t, f, "carol")
	b2 := f.browser(t)
	first := signin(t, f, b2, "carol", "Carol-New-Passw0rd!")
	fp := body(t, first)
	m := regexp.MustCompile(`name="pending" value="([^"]+)"`).FindStringSubmatch(fp)
	if m == nil {
		t.Fatalf("no MFA step:\n%s", fp)
	}
	bad := postForm(t, b2, f.srv.URL+"/console/signin", url.Values{"pending": {m[1]}, "mfa": {"000000"}, "csrf": {csrfOf(t, fp)}})
	if bb := body(t, bad); bad.StatusCode != http.StatusUnauthorized || !strings.Contains(bb, "authentication information is incorrect") {
		t.Fatalf("wrong MFA code: %d", bad.StatusCode)
	}
	// The pending sign-in was used up: start again, with the right code.
	fp = body(t, signin(t, f, b2, "carol", "Carol-New-Passw0rd!"))
	m = regexp.MustCompile(`name="pending" value="([^"]+)"`).FindStringSubmatch(fp)
	code, _ := sts.TOTPCode(seed, sts.TOTPStep(now)+1)
	good := postForm(t, b2, f.srv.URL+"/console/signin", url.Values{"pending": {m[1]}, "mfa": {code}, "csrf": {csrfOf(t, fp)}})
	body(t, good)
	if good.StatusCode != http.StatusSeeOther || len(good.Cookies()) != 1 {
		t.Fatalf("right MFA code: %d", good.StatusCode)
	}
}

func allowChange(t *testing.T, f *fixture) {
	t.Helper()
	err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.SetPasswordPolicy(&account.PasswordPolicy{MinimumPasswordLength: 8, AllowUsersToChangePassword: true})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// enableMFA gives user an enabled virtual MFA device, in the store; it returns the seed.
func enableMFA(t *testing.T, f *fixture, user string) []byte {
	t.Helper()
	seed := []byte("0123456789abcdefghij")
	err := f.st.Update(context.Background(), func(tx *store.Tx) error {
		d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: user, Path: "/", Seed: seed})
		if err != nil {
			return err
		}
		return tx.EnableMFADevice(user, d.Serial)
	})
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

// TestSignInNeedsFormToken: a sign-in posted without the sign-in page's token
// (from another site: login CSRF) is refused.
func TestSignInNeedsFormToken(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	tok := signinCSRFOf(t, f, b)
	for name, v := range map[string]url.Values{
		"no token":    {"account": {f.dev.AccountID}, "kind": {"root"}, "password": {rootPassword}},
		"wrong token": {"account": {f.dev.AccountID}, "kind": {"root"}, "password": {rootPassword}, "csrf": {"x" + tok}},
	} {
		resp := postForm(t, b, f.srv.URL+"/console/signin", v)
		body(t, resp)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %d, cookies %v; want 403 and no session", name, resp.StatusCode, resp.Cookies())
		}
	}
}

// TestOneClickFixes: the dashboard's password-policy fix is one button, and a
// user's key rotates in one click (new key shown once, old one inactive).
func TestOneClickFixes(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t)
	body(t, signin(t, f, b, "", rootPassword))
	page := get(t, b, f.srv.URL+"/console/", http.StatusOK)
	if !strings.Contains(page, `id="fix-password-policy"`) {
		t.Fatal("no one-click password policy fix on the dashboard")
	}
	resp := postForm(t, b, f.srv.URL+"/console/account/recommended-password-policy", url.Values{"csrf": {csrfOf(t, page)}})
	body(t, resp)
	page = get(t, b, f.srv.URL+"/console/", http.StatusOK)
	if !regexp.MustCompile(`id="rec-password-policy" class="ok"`).MatchString(page) {
		t.Fatalf("after the fix the recommendation is not done (%d)", resp.StatusCode)
	}

	up := get(t, b, f.srv.URL+"/console/users/dev", http.StatusOK)
	old := f.dev.AccessKeyID
	resp = postForm(t, b, f.srv.URL+"/console/users/dev/key-rotate", url.Values{"csrf": {csrfOf(t, up)}, "id": {old}})
	rb := body(t, resp)
	m := regexp.MustCompile(`id="new-key-id">([A-Z0-9]+)<`).FindStringSubmatch(rb)
	if resp.StatusCode != http.StatusOK || m == nil || m[1] == old || !strings.Contains(rb, `id="new-key-secret"`) {
		t.Fatalf("rotate: %d\n%s", resp.StatusCode, rb)
	}
	after := get(t, b, f.srv.URL+"/console/users/dev", http.StatusOK)
	if !regexp.MustCompile(old + `</td><td>Inactive`).MatchString(after) {
		t.Errorf("the old key is not inactive after the rotation")
	}
}

// TestHostCheck: a Host that is a name the console was not told of (a DNS
// rebinding page's) is refused; addresses, localhost and configured names are not.
func TestHostCheck(t *testing.T) {
	f := newFixture(t, func(o *console.Options) { o.Hosts = []string{"iam.example.internal"} })
	for host, want := range map[string]int{
		"evil.example":              http.StatusMisdirectedRequest,
		"evil.example:8913":         http.StatusMisdirectedRequest,
		"127.0.0.1:8913":            http.StatusOK,
		"[::1]:8913":                http.StatusOK,
		"localhost:8913":            http.StatusOK,
		"IAM.example.internal:8913": http.StatusOK,
	} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/console/signin", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestCookieUnderTLS: served over TLS, the session cookie is Secure, __Host-
// prefixed and HttpOnly, and the pages send HSTS.
func TestCookieUnderTLS(t *testing.T) {
	f := newFixture(t)
	h := f.console.Handler()
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := srv.Client()
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tf := &fixture{dev: f.dev, srv: srv}
	resp := postForm(t, c, srv.URL+"/console/signin", url.Values{"account": {f.dev.AccountID}, "kind": {"root"},
		"password": {rootPassword}, "csrf": {signinCSRFOf(t, tf, c)}})
	body(t, resp)
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-credbroker-console" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie under TLS: %+v", resp.Cookies())
	}
	r2 := mustGet(t, c, srv.URL+"/console/")
	body(t, r2)
	if r2.StatusCode != http.StatusOK || r2.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("dashboard under TLS: %d, HSTS %q", r2.StatusCode, r2.Header.Get("Strict-Transport-Security"))
	}
}

// TestEnableRootMFAOnlyForRoot: the root user's MFA can be assigned only with a
// console session of the root user itself, not with an administrator's role
// session.
func TestEnableRootMFAOnlyForRoot(t *testing.T) {
	f := newFixture(t)
	cr := f.devAdminCreds(t)
	err := f.core.EnableRootMFA(context.Background(), sts.SessionCredentials{AccessKeyID: cr.AccessKeyID,
		SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}, "arn:aws:iam::123456789012:mfa/x", "123456", "654321", netip.Addr{})
	if err == nil || !strings.Contains(err.Error(), "Only the root user") {
		t.Fatalf("dev-admin enabling root MFA: %v", err)
	}
	if !strings.Contains(f.log.String(), "console root MFA: serial=arn:aws:iam::123456789012:mfa/x outcome=failure") {
		t.Errorf("the attempt is not audited:\n%s", f.log.String())
	}
}

// rootPage signs the root user in with a new browser and opens path.
func (f *fixture) rootPage(t *testing.T, path string) (*http.Client, string) {
	t.Helper()
	b := f.browser(t)
	body(t, signin(t, f, b, "", rootPassword))
	return b, get(t, b, f.srv.URL+path, http.StatusOK)
}

// post posts v (with the page's CSRF token) and returns the status and the page.
func post(t *testing.T, f *fixture, b *http.Client, page, path string, v url.Values) (int, string) {
	t.Helper()
	v.Set("csrf", csrfOf(t, page))
	resp := postForm(t, b, f.srv.URL+path, v)
	return resp.StatusCode, body(t, resp)
}

// TestCreateRole: the create-role form builds the trust policy AWS's console
// writes for each kind of trusted entity (or takes a custom one), then CreateRole
// and AttachRolePolicy; IAM's refusal of a bad custom policy comes back in the
// editor.
func TestCreateRole(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.adminIAM(t)
	if _, err := admin.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("corp"),
		SAMLMetadataDocument: aws.String((&samltest.IdP{EntityID: "https://idp.example.com/saml",
			Keys: []samltest.Key{samltest.NewKey(t, "idp.example.com")}}).Metadata())}); err != nil {
		t.Fatal(err)
	}
	b, page := f.rootPage(t, "/console/roles")
	custom := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":"sts:AssumeRole"}]}`
	for _, tc := range []struct {
		name string
		form url.Values
		want string // the statement, as JSON
	}{
		{"svc", url.Values{"trusted": {"service"}, "service": {"ec2.amazonaws.com"}},
			`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`},
		{"acct", url.Values{"trusted": {"account"}, "external-id": {"x-123"}, "mfa": {"on"}},
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole",
			  "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEquals":{"sts:ExternalId":"x-123"}}}`},
		{"web", url.Values{"trusted": {"web"}, "provider": {"accounts.google.com"}, "audience": {"my-app"}},
			`{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity",
			  "Condition":{"StringEquals":{"accounts.google.com:aud":"my-app"}}}`},
		{"saml", url.Values{"trusted": {"saml"}, "saml-provider": {"arn:aws:iam::123456789012:saml-provider/corp"}},
			`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/corp"},
			  "Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}`},
		{"custom", url.Values{"trusted": {"custom"}, "document": {custom}},
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/dev"},"Action":"sts:AssumeRole"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("name", tc.name)
			tc.form.Set("description", "made by "+tc.name)
			tc.form.Set("max-hours", "4")
			tc.form.Set("policies", "arn:aws:iam::aws:policy/ReadOnlyAccess")
			status, out := post(t, f, b, page, "/console/roles", tc.form)
			if status != http.StatusSeeOther {
				t.Fatalf("create role: %d\n%s", status, out)
			}
			g, err := admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(tc.name)})
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := url.QueryUnescape(aws.ToString(g.Role.AssumeRolePolicyDocument))
			var got struct{ Statement []any }
			var want any
			if err := json.Unmarshal([]byte(doc), &got); err != nil || len(got.Statement) != 1 {
				t.Fatalf("trust policy %s: %v", doc, err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got.Statement[0]); d != "" {
				t.Errorf("trust statement (-want +got):\n%s", d)
			}
			if aws.ToString(g.Role.Description) != "made by "+tc.name || aws.ToInt32(g.Role.MaxSessionDuration) != 4*3600 {
				t.Errorf("role %+v", g.Role)
			}
			a, err := admin.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(tc.name)})
			if err != nil || len(a.AttachedPolicies) != 1 || aws.ToString(a.AttachedPolicies[0].PolicyName) != "ReadOnlyAccess" {
				t.Errorf("attached: %+v, %v", a, err)
			}
		})
	}

	// A custom trust policy IAM refuses: its message, the draft kept in the editor.
	bad := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`
	status, out := post(t, f, b, page, "/console/roles", url.Values{"trusted": {"custom"}, "document": {bad}, "name": {"bad"}})
	if status != http.StatusBadRequest || !strings.Contains(out, "MalformedPolicyDocument") || !strings.Contains(out, "sts:AssumeRole&#34;}]}</textarea>") {
		t.Errorf("a bad custom trust policy: %d\n%s", status, out)
	}
	// A service role with no service named is refused before any IAM call.
	if status, out := post(t, f, b, page, "/console/roles", url.Values{"trusted": {"service"}, "name": {"nosvc"}}); status != http.StatusBadRequest ||
		!strings.Contains(out, "Name the AWS service") {
		t.Errorf("no service: %d\n%s", status, out)
	}
	if _, err := admin.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nosvc")}); err == nil {
		t.Error("a refused form made a role")
	}
}

// TestDeletePages: deleting a user, a group, a role and a policy from their
// pages removes every dependent first (IAM would answer DeleteConflict), each
// by an IAM call, then the entity; a confirmation that is not the name deletes
// nothing.
func TestDeletePages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.adminIAM(t)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	n := aws.String
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	pol, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: n("Reader"), PolicyDocument: n(doc)})
	if err != nil {
		t.Fatal(err)
	}
	parn := pol.Policy.Arn
	must(admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: parn, PolicyDocument: n(doc), SetAsDefault: true}))
	// A user with everything IAM makes DeleteUser wait for.
	must(admin.CreateUser(ctx, &iam.CreateUserInput{UserName: n("carol")}))
	must(admin.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: n("carol"), Password: n("Carol-Passw0rd!")}))
	must(admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: n("carol")}))
	must(admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: n("Team")}))
	must(admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: n("Team"), UserName: n("carol")}))
	must(admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: n("carol"), PolicyName: n("inline"), PolicyDocument: n(doc)}))
	must(admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: n("carol"), PolicyArn: parn}))
	must(admin.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: n("carol"), SSHPublicKeyBody: n(sshKey)}))
	dev, err := admin.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: n("carol")})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(dev.VirtualMFADevice.Base32StringSeed))
	if err != nil {
		t.Fatal(err)
	}
	step := sts.TOTPStep(time.Now())
	c1, _ := sts.TOTPCode(seed, step-1)
	c2, _ := sts.TOTPCode(seed, step)
	must(admin.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: n("carol"), SerialNumber: dev.VirtualMFADevice.SerialNumber,
		AuthenticationCode1: n(c1), AuthenticationCode2: n(c2)}))
	// A group with a member, inline and attached policies.
	must(admin.CreateUser(ctx, &iam.CreateUserInput{UserName: n("dave")}))
	must(admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: n("Team"), UserName: n("dave")}))
	must(admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: n("Team"), PolicyName: n("inline"), PolicyDocument: n(doc)}))
	must(admin.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: n("Team"), PolicyArn: parn}))
	// A role in an instance profile of its name and another, with policies.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: n("web"), AssumeRolePolicyDocument: n(trust)}))
	for _, ip := range []string{"web", "shared"} {
		must(admin.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: n(ip)}))
	}
	must(admin.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: n("web"), RoleName: n("web")}))
	must(admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: n("web"), PolicyName: n("inline"), PolicyDocument: n(doc)}))
	must(admin.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: n("web"), PolicyArn: parn}))

	b, page := f.rootPage(t, "/console/users/carol")
	if !strings.Contains(page, `id="delete-form"`) {
		t.Fatal("no delete form on the user's page")
	}
	// A wrong confirmation deletes nothing.
	if status, out := post(t, f, b, page, "/console/users/carol/delete", url.Values{"confirm": {"carl"}}); status != http.StatusBadRequest ||
		!strings.Contains(out, "type the user name carol exactly") {
		t.Fatalf("a wrong confirmation: %d\n%s", status, out)
	}
	must(admin.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: n("carol")}))

	policyPage := "/console/policy?arn=" + url.QueryEscape(aws.ToString(parn))
	for _, tc := range []struct{ page, action, confirm, list string }{
		{"/console/users/carol", "/console/users/carol/delete", "carol", "/console/users"},
		{"/console/groups/Team", "/console/groups/Team/delete", "Team", "/console/groups"},
		{"/console/roles/web", "/console/roles/web/delete", "web", "/console/roles"},
		{policyPage, "/console/policy/delete", "Reader", "/console/policies"},
	} {
		page := get(t, b, f.srv.URL+tc.page, http.StatusOK)
		if !strings.Contains(page, `<form method="post" action="`+tc.action+`" id="delete-form">`) {
			t.Fatalf("%s has no delete form posting to %s", tc.page, tc.action)
		}
		v := url.Values{"confirm": {tc.confirm}, "arn": {aws.ToString(parn)}}
		status, out := post(t, f, b, page, tc.action, v)
		if status != http.StatusSeeOther {
			t.Fatalf("delete at %s: %d\n%s", tc.action, status, out)
		}
	}
	for what, err := range map[string]error{
		"user carol":    second(admin.GetUser(ctx, &iam.GetUserInput{UserName: n("carol")})),
		"group Team":    second(admin.GetGroup(ctx, &iam.GetGroupInput{GroupName: n("Team")})),
		"role web":      second(admin.GetRole(ctx, &iam.GetRoleInput{RoleName: n("web")})),
		"profile web":   second(admin.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: n("web")})),
		"policy Reader": second(admin.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: parn})),
	} {
		if err == nil || !strings.Contains(err.Error(), "NoSuchEntity") {
			t.Errorf("%s after the deletes: %v", what, err)
		}
	}
	if l, err := admin.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{}); err != nil || len(l.VirtualMFADevices) != 0 {
		t.Errorf("virtual MFA devices after the deletes: %+v, %v", l, err)
	}
	// What was not the deleted entities' own stays: dave, the other profile.
	must(admin.GetUser(ctx, &iam.GetUserInput{UserName: n("dave")}))
	must(admin.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: n("shared")}))
}

func second[T any](_ T, err error) error { return err }

// sshKey is an SSH public key for UploadSSHPublicKey.
const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example"

// TestSessionsInStore: with Options.Store, a session made on one console opens on
// another over the same store (a restart, or a replica), with the same CSRF
// token; a password change made on one is seen by the other; a sign-out on one
// ends the session on both; without the store a second console knows nothing of
// it. The store holds one record for it.
func TestSessionsInStore(t *testing.T) {
	f := newFixture(t)
	replica := func(st sts.Store) *httptest.Server {
		con, err := console.New(f.core, func(o *console.Options) { o.Store = st })
		if err != nil {
			t.Fatal(err)
		}
		srv := serve(f.core, con)
		t.Cleanup(srv.Close)
		return srv
	}
	a, b, memory := replica(f.st), replica(f.st), replica(nil)
	jar := f.browser(t)
	f.setPassword(t, "carol", "Carol-Passw0rd!", true)
	allowChange(t, f)
	v := url.Values{"account": {f.dev.AccountID}, "user": {"carol"}, "password": {"Carol-Passw0rd!"}, "kind": {"iam"}}
	resp := mustGet(t, jar, a.URL+"/console/signin")
	v.Set("csrf", csrfOf(t, body(t, resp)))
	if resp := postForm(t, jar, a.URL+"/console/signin", v); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in on A: %d\n%s", resp.StatusCode, body(t, resp))
	}
	// The same cookie on B's URL (the jar keys cookies by host, not port).
	page := get(t, jar, b.URL+"/console/change-password", http.StatusOK)
	if !strings.Contains(page, "You must change your password") {
		t.Fatalf("B does not know the session must change its password:\n%s", page)
	}
	get(t, jar, memory.URL+"/console/", http.StatusSeeOther) // to sign-in: it does not know the session
	// Changed on B (B's CSRF token is A's), seen on A.
	resp = postForm(t, jar, b.URL+"/console/change-password", url.Values{"csrf": {csrfOf(t, page)},
		"old": {"Carol-Passw0rd!"}, "new": {"Carol-Passw0rd!2"}, "confirm": {"Carol-Passw0rd!2"}})
	if out := body(t, resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password on B: %d\n%s", resp.StatusCode, out)
	}
	dash := get(t, jar, a.URL+"/console/change-password", http.StatusOK)
	if !strings.Contains(dash, "arn:aws:iam::123456789012:user/carol") || strings.Contains(dash, "You must change") {
		t.Fatalf("A does not see the session with its password changed:\n%s", dash)
	}
	// Nothing of the session's credentials in the store in the clear.
	err := f.st.View(context.Background(), func(tx *store.Tx) error {
		names, err := tx.SecretNames("console/session/")
		if len(names) != 1 {
			t.Errorf("sessions in the store: %v", names)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Signed out on A: B refuses the cookie too.
	resp = postForm(t, jar, a.URL+"/console/signout", url.Values{"csrf": {csrfOf(t, dash)}})
	body(t, resp)
	get(t, jar, b.URL+"/console/", http.StatusSeeOther)
}

// TestSigninTokensInStore: with Options.Store, a SigninToken made on one console
// signs a browser in on another over the same store (replicas behind one name),
// once: the token is taken out of the store by the login that uses it, and the
// store keeps it under its hash only. A console without the store knows nothing
// of it.
func TestSigninTokensInStore(t *testing.T) {
	f := newFixture(t)
	replica := func(st sts.Store) string {
		con, err := console.New(f.core, func(o *console.Options) { o.Store = st })
		if err != nil {
			t.Fatal(err)
		}
		srv := serve(f.core, con)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	a, b, memory := replica(f.st), replica(f.st), replica(nil)
	tokens := func() []string {
		var names []string
		err := f.st.View(context.Background(), func(tx *store.Tx) (err error) {
			names, err = tx.SecretNames("console/signin-token/")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	login := func(base, tok string) int {
		resp := mustGet(t, f.browser(t), base+"/federation?"+url.Values{"Action": {"login"}, "Destination": {"/console/"}, "SigninToken": {tok}}.Encode())
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := signinTokenAt(t, a, f.devAdminCreds(t))
	if names := tokens(); len(names) != 1 || strings.Contains(names[0], tok) {
		t.Fatalf("the store's sign-in tokens: %v (want one, under the token's hash)", names)
	}
	if status := login(b, tok); status != http.StatusFound {
		t.Fatalf("A's token on B: %d, want 302", status)
	}
	if status := login(a, tok); status != http.StatusBadRequest {
		t.Errorf("the token again, on A: %d, want 400 (used once)", status)
	}
	if names := tokens(); len(names) != 0 {
		t.Errorf("a used token stays in the store: %v", names)
	}
	if status := login(memory, signinTokenAt(t, a, f.devAdminCreds(t))); status != http.StatusBadRequest {
		t.Errorf("A's token on a console without the store: %d, want 400", status)
	}
}

// TestStoreSweep: a console over a store sweeps, in one pass, the expired sign-in
// tokens and sessions out of it, and leaves the live ones.
func TestStoreSweep(t *testing.T) {
	f := newFixture(t)
	clock := clocktest.New(time.Now())
	con, err := console.New(f.core, func(o *console.Options) { o.Store, o.Now = f.st, clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(f.core, con)
	t.Cleanup(srv.Close)
	count := func(prefix string) int {
		var names []string
		err := f.st.View(context.Background(), func(tx *store.Tx) (err error) {
			names, err = tx.SecretNames(prefix)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	signinTokenAt(t, srv.URL, f.devAdminCreds(t)) // the first sweep runs here: nothing to do
	clock.Advance(16 * time.Minute)               // that token expired (15 minutes), the sweep is due (10)
	live := signinTokenAt(t, srv.URL, f.devAdminCreds(t))
	if n := count("console/signin-token/"); n != 1 {
		t.Fatalf("%d sign-in tokens in the store after the sweep, want the live one", n)
	}
	// The live token becomes a session (an hour); the next sweep keeps it.
	resp := mustGet(t, f.browser(t), srv.URL+"/federation?"+url.Values{"Action": {"login"}, "Destination": {"/console/"}, "SigninToken": {live}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || count("console/session/") != 1 {
		t.Fatalf("login: %d, %d sessions in the store", resp.StatusCode, count("console/session/"))
	}
	stale := signinTokenAt(t, srv.URL, f.devAdminCreds(t))
	clock.Advance(16 * time.Minute)
	signinTokenAt(t, srv.URL, f.devAdminCreds(t))
	if n, s := count("console/signin-token/"), count("console/session/"); n != 1 || s != 1 {
		t.Errorf("after the second sweep: %d tokens (want 1: %q's expired), %d sessions (want the live one)", n, stale[:4], s)
	}
}

// TestUnknownOperationIsNotFound: a POST of an operation an entity page does not
// have answers 404 (opDone on errNoOp).
func TestUnknownOperationIsNotFound(t *testing.T) {
	f := newFixture(t)
	b, page := f.rootPage(t, "/console/users")
	for _, path := range []string{"/console/users/dev/nope", "/console/groups/g/nope", "/console/roles/dev-admin/nope", "/console/policy/nope"} {
		if status, out := post(t, f, b, page, path, url.Values{}); status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404\n%s", path, status, out)
		}
	}
}

// TestMembershipPages: the user's page and the group's page each add a user to a group
// and take it out again (the group's page trims the name typed, as its other forms do).
func TestMembershipPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.adminIAM(t)
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("erin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Ops")}); err != nil {
		t.Fatal(err)
	}
	groups := func() int {
		t.Helper()
		out, err := admin.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("erin")})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Groups)
	}
	b, userPage := f.rootPage(t, "/console/users/erin")
	groupPage := get(t, b, f.srv.URL+"/console/groups/Ops", http.StatusOK)
	for _, tc := range []struct {
		page, action, field, value string
		want                       int
	}{
		{userPage, "/console/users/erin/group-add", "group", "Ops", 1},
		{groupPage, "/console/groups/Ops/user-remove", "user", "erin", 0},
		{groupPage, "/console/groups/Ops/user-add", "user", " erin ", 1},
		{userPage, "/console/users/erin/group-remove", "group", "Ops", 0},
	} {
		if status, out := post(t, f, b, tc.page, tc.action, url.Values{tc.field: {tc.value}}); status != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", tc.action, status, out)
		}
		if got := groups(); got != tc.want {
			t.Errorf("after %s: erin is in %d groups, want %d", tc.action, got, tc.want)
		}
	}
}
