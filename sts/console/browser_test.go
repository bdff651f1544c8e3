package console_test

import (
	"encoding/base32"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credbroker/credbroker/internal/browsertest"
	"github.com/credbroker/credbroker/sts"
)

type css = chromedp.CSS

// walker drives the console in Chromium.
type walker struct {
	*browsertest.Browser
	t   *testing.T
	url string
}

func (w *walker) open(path, waitFor string) {
	w.t.Helper()
	w.Run("open "+path, chromedp.Navigate(w.url+path), chromedp.WaitVisible(css(waitFor)))
	w.accessible(path)
}

// accessible checks what a screen reader needs of the page: a language, one h1,
// a label for every control, a name for every button, alternative text for every
// image, and no positive tabindex (focus follows the document order); then
// axe-core's rules, failing on every serious or critical violation.
func (w *walker) accessible(path string) {
	w.t.Helper()
	problems := w.js(`(function(){
	  const p = [];
	  if (!document.documentElement.lang) p.push("no lang");
	  if (document.querySelectorAll("h1").length !== 1) p.push("not one h1");
	  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(e => {
	    if (!e.labels || e.labels.length === 0) p.push("unlabelled " + e.tagName + "#" + e.id + "[name=" + e.name + "]");
	  });
	  document.querySelectorAll("button").forEach(b => { if (!b.textContent.trim()) p.push("unnamed button"); });
	  document.querySelectorAll("img").forEach(i => { if (!i.alt) p.push("image without alt"); });
	  document.querySelectorAll("[tabindex]").forEach(e => { if (e.tabIndex > 0) p.push("positive tabindex"); });
	  return p.join("; ");
	})()`)
	if problems != "" {
		w.t.Errorf("%s: %s", path, problems)
	}
	for _, v := range w.Axe() {
		w.t.Errorf("%s: axe-core: %s (%s): %s, at %s", path, v.ID, v.Impact, v.Help, strings.Join(v.Targets, "; "))
	}
}

// signinAs signs in as the IAM user name at the example-corp alias's sign-in page
// and waits for waitFor on the page that follows.
func (w *walker) signinAs(name, password, waitFor string) {
	w.t.Helper()
	w.open("/console/signin/example-corp", "#signin-form")
	w.fill("#user", name)
	w.fill("#password", password)
	w.submit("#signin-submit", waitFor)
}

// fill types v into the input sel, as a user does.
func (w *walker) fill(sel, v string) {
	w.t.Helper()
	w.Run("fill "+sel, chromedp.Clear(css(sel)), chromedp.SendKeys(css(sel), v))
}

// submit clicks sel and waits for waitFor on the page that follows (a new
// document: the old one is marked before the click).
func (w *walker) submit(sel, waitFor string) {
	w.t.Helper()
	w.js(`window.__cbOld = true; "ok"`)
	w.Run("click "+sel, chromedp.Click(css(sel)))
	q, _ := json.Marshal(waitFor)
	cond := `window.__cbOld !== true && document.readyState === "complete" && !!document.querySelector(` + string(q) + `)`
	// The evaluation fails while the old document goes away: try again until the
	// new one is there.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(w.Ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			w.accessible("after " + sel)
			return
		}
		if time.Now().After(deadline) {
			w.Shot("failed-submit")
			w.t.Fatalf("after clicking %s, no page with %s (last error: %v)", sel, waitFor, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// want fails the test when the text (or a control's value) of sel lacks text.
func (w *walker) want(sel, text string) {
	w.t.Helper()
	if !w.has(sel, text) {
		w.Shot("failed-want")
		w.t.Errorf("%s does not show %q", sel, text)
	}
}

// has reports whether the text (or a control's value) of sel contains want.
func (w *walker) has(sel, want string) bool {
	w.t.Helper()
	q, _ := json.Marshal(sel)
	got := w.js(`(function(){const e=document.querySelector(` + string(q) + `);return e ? (e.value !== undefined && e.tagName !== "BUTTON" ? e.value : e.textContent) : ""})()`)
	return strings.Contains(got, want)
}

func (w *walker) js(expr string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.Ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		w.Shot("failed-js")
		w.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// rec returns whether the dashboard shows recommendation id as done.
func (w *walker) rec(id string) bool {
	w.t.Helper()
	w.open("/console/", "#rec-"+id)
	return w.js(`document.querySelector("#rec-`+id+`").dataset.ok`) == "true"
}

// eventuallyRec reloads the dashboard until recommendation id is done: those
// from the credential report follow a change once the report is regenerated.
func (w *walker) eventuallyRec(id string) bool {
	w.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if w.rec(id) {
			return true
		}
	}
	return false
}

// enrollMFA assigns a virtual MFA device from the page at path, computing the two
// codes from the secret the page shows, as an authenticator app would.
func (w *walker) enrollMFA(path string) {
	w.t.Helper()
	w.open(path, "#mfa-start")
	w.submit("#mfa-start", "#mfa-seed")
	w.Shot("mfa-qr-" + path[strings.LastIndex(path, "/")+1:])
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(w.Text("#mfa-seed"))
	if err != nil {
		w.t.Fatalf("the page's MFA secret: %v", err)
	}
	step := sts.TOTPStep(time.Now())
	c1, _ := sts.TOTPCode(seed, step-1)
	c2, _ := sts.TOTPCode(seed, step)
	w.fill("#code1", c1)
	w.fill("#code2", c2)
	w.submit("#mfa-enable-submit", "#mfa-devices")
	if got := w.Text("#mfa-devices"); !strings.Contains(got, "arn:aws:iam::123456789012:mfa/") {
		w.Shot("mfa-not-enabled")
		w.t.Fatalf("after enrollment the page lists %q; error: %q", got, w.js(`(document.querySelector("#error")||{}).textContent||""`))
	}
}

const (
	adminFirstPassword = "Adm1n-First-Passw0rd!"
	adminPassword      = "Adm1n-Second-Passw0rd!"
)

// TestBrowserWalkthrough replays the IAM guides' console walkthrough in a real
// headless Chromium: root signs in, secures the account, creates the Admins group
// with AdministratorAccess and an admin user, signs out; the admin signs in, must
// change the password, enrolls MFA, creates Developers and a custom policy (whose
// syntax error the editor points at), adds a user; the dashboard's recommendations
// turn green one by one. Negative cases: a wrong password, a wrong MFA code, a
// reused SigninToken.
func TestBrowserWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; not with -short")
	}
	browsertest.NeedAxe(t)
	f := newFixture(t)
	w := &walker{Browser: browsertest.New(t), t: t, url: f.srv.URL}

	// Root signs in on the account's sign-in page.
	w.open("/console/signin/123456789012", "#signin-form")
	w.Shot("signin")
	w.Run("root", chromedp.Click(css("#kind-root")))
	w.fill("#password", "wrong-password")
	w.submit("#signin-submit", "#error")
	if got := w.Text("#error"); !strings.Contains(got, "Your authentication information is incorrect") {
		t.Fatalf("wrong password: %q", got)
	}
	w.Shot("wrong-password")
	w.Run("root", chromedp.Click(css("#kind-root")))
	w.fill("#password", rootPassword)
	w.submit("#signin-submit", "#recs-h")
	w.Shot("root-dashboard")
	for _, id := range []string{"root-mfa", "password-policy"} {
		if w.rec(id) {
			t.Errorf("recommendation %s is done before anything was done", id)
		}
	}

	// MFA on the root user: the recommendation's own fix link leads there (no IAM
	// action does it: the console does, as AWS's does).
	w.open("/console/", "#rec-root-mfa a.fix")
	href := w.js(`document.querySelector("#rec-root-mfa a.fix").getAttribute("href")`)
	w.enrollMFA(href)
	if !w.rec("root-mfa") {
		t.Error("root MFA enrolled, the recommendation is not done")
	}
	w.Shot("root-mfa-done")

	// A password policy and the account alias.
	w.open("/console/account", "#pp-form")
	w.submit("#pp-submit", "#policy-state")
	w.fill("#alias", "example-corp")
	w.submit("#alias-submit", "#policy-state")
	if !w.rec("password-policy") {
		t.Error("password policy set, the recommendation is not done")
	}
	if got := w.Text("#signin-url"); !strings.HasSuffix(got, "/console/signin/example-corp") {
		t.Errorf("sign-in URL %q does not use the alias", got)
	}
	w.Shot("policy-and-alias")

	// The Admins group with AdministratorAccess, and the admin user in it.
	w.open("/console/groups", "#create-group")
	w.fill("#name", "Admins")
	w.fill("#arn", "arn:aws:iam::aws:policy/AdministratorAccess")
	w.submit("#create-group-submit", "#group-policies")
	if got := w.Text("#group-policies"); !strings.Contains(got, "AdministratorAccess") {
		t.Fatalf("Admins' policies: %q", got)
	}
	w.open("/console/users", "#create-user")
	w.fill("#name", "admin")
	w.fill("#password", adminFirstPassword)
	w.Run("options", chromedp.Click(css("#reset")), chromedp.Click(css(`input[name=group][value=Admins]`)))
	w.submit("#create-user-submit", "#console-state")
	w.Shot("admin-created")
	if w.rec("user-mfa") {
		t.Error("admin has a console password and no MFA, the recommendation is done")
	}
	w.submit("#signout", "#signin-form")

	// The admin signs in at the alias's URL and must change the password.
	w.signinAs("admin", adminFirstPassword, "#password-form")
	w.Shot("must-change-password")
	w.fill("#old", adminFirstPassword)
	w.fill("#new", adminPassword)
	w.fill("#confirm", adminPassword)
	w.submit("#password-submit", "#recs-h")
	if got := w.Text("#whoami"); got != "arn:aws:iam::123456789012:user/admin" {
		t.Fatalf("signed in as %q", got)
	}

	// The admin enrolls MFA; the recommendation turns green.
	w.enrollMFA("/console/users/admin")
	if !w.eventuallyRec("user-mfa") {
		t.Errorf("every console user has MFA, the recommendation is not done: %q", w.Text("#rec-user-mfa"))
	}

	// Developers, and a custom policy: first with a syntax error the editor points at.
	w.open("/console/groups", "#create-group")
	w.fill("#name", "Developers")
	w.submit("#create-group-submit", "#group-policies")
	w.open("/console/policies", "#create-policy")
	w.fill("#name", "DevelopersReadS3")
	bad := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\n    \"Effect\": \"Allow\"\n    \"Action\": \"s3:GetObject\",\n    \"Resource\": \"*\"\n  }]\n}"
	setEditor(w, bad)
	w.Run("faults", chromedp.WaitVisible(css("#faults li")))
	if got := w.Text("#faults li"); !strings.HasPrefix(got, "Line 5, column 5: Syntax errors in policy.") {
		t.Errorf("the editor says %q, want the engine's message at line 5 column 5", got)
	}
	w.Shot("policy-syntax-error")
	// Submitted anyway, IAM refuses it with its own error.
	w.submit("#create-policy-submit", "#error")
	if got := w.Text("#error"); !strings.Contains(got, "MalformedPolicyDocument") {
		t.Errorf("CreatePolicy with a syntax error: %q", got)
	}
	setEditor(w, strings.Replace(bad, `"Allow"`, `"Allow",`, 1))
	w.Run("no faults", chromedp.WaitNotPresent(css("#faults li")))
	w.submit("#create-policy-submit", "#policy-arn")
	w.fill("#ent", "Developers")
	w.submit("#attach-submit", "#entities")
	if got := w.Text("#entities"); !strings.Contains(got, "group Developers") {
		t.Errorf("policy attached to %q", got)
	}
	// Simulate: the policy allows s3:GetObject, not s3:PutObject.
	w.fill("#actions", "s3:GetObject s3:PutObject")
	w.submit("#simulate-submit", "#sim-results")
	if got := w.Text("#sim-results"); !strings.Contains(got, "s3:GetObject") || !strings.Contains(got, "allowed") || !strings.Contains(got, "implicitDeny") {
		t.Errorf("simulation: %q", got)
	}
	w.Shot("policy-simulated")

	// Users for Developers.
	w.open("/console/users", "#create-user")
	w.fill("#name", "dev1")
	w.Run("group", chromedp.Click(css(`input[name=group][value=Developers]`)), chromedp.Click(css("#accesskey")))
	w.submit("#create-user-submit", "#new-key-secret")
	if sec := w.Text("#new-key-secret"); len(sec) != 40 {
		t.Errorf("the new key's secret is %d characters", len(sec))
	}
	w.Shot("access-key-shown-once")
	w.open("/console/users/dev1", "#keys-h")
	if n := w.js(`String(document.querySelectorAll("#new-key-secret").length)`); n != "0" {
		t.Error("the secret is shown again")
	}
	w.open("/console/groups/Developers", "#group-users")
	if got := w.Text("#group-users"); !strings.Contains(got, "dev1") {
		t.Errorf("Developers' users: %q", got)
	}
	// A role for EC2 through the create-role form, and a custom trust policy the
	// editor checks as it is typed.
	w.open("/console/roles", "#create-role")
	w.Run("service", chromedp.Click(css("#t-service")))
	w.fill("#service", "ec2.amazonaws.com")
	w.fill("#policies", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	w.fill("#name", "web-server")
	w.fill("#description", "the web servers")
	w.submit("#create-role-submit", "#trust-h")
	w.want("#document", `"Service": "ec2.amazonaws.com"`)
	w.Shot("role-created")
	w.open("/console/roles", "#create-role")
	w.Run("custom", chromedp.Click(css("#t-custom")))
	setEditor(w, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)
	w.Run("trust faults", chromedp.WaitVisible(css("#faults li")))
	w.Shot("custom-trust-fault")

	// dev1 deleted from its page: a wrong confirmation first.
	w.open("/console/users/dev1", "#delete-form")
	w.fill("#confirm", "dev")
	w.submit("#delete-submit", "#error")
	w.want("#error", "Nothing was deleted")
	w.fill("#confirm", "dev1")
	w.submit("#delete-submit", "#create-user")
	if w.has("main table", "dev1") {
		t.Error("dev1 is still listed after the delete")
	}
	w.Shot("user-deleted")
	w.submit("#signout", "#signin-form")

	// A wrong MFA code for the admin.
	w.signinAs("admin", adminPassword, "#mfa-form")
	w.fill("#mfa", "000000")
	w.submit("#mfa-submit", "#error")
	if got := w.Text("#error"); !strings.Contains(got, "Your authentication information is incorrect") {
		t.Errorf("wrong MFA code: %q", got)
	}
	w.Shot("wrong-mfa-code")

	// A federation login, then the same SigninToken again.
	_, tok := getSigninToken(t, f, f.devAdminCreds(t))
	login := f.srv.URL + "/federation?" + url.Values{"Action": {"login"}, "Destination": {f.srv.URL + "/console/"}, "SigninToken": {tok}}.Encode()
	w.Run("federation login", chromedp.Navigate(login), chromedp.WaitVisible(css("#recs-h")))
	if got := w.Text("#whoami"); !strings.Contains(got, "assumed-role/dev-admin/") {
		t.Errorf("federation login signed in as %q", got)
	}
	w.Shot("federation-login")
	w.Run("reuse", chromedp.Navigate(login), chromedp.WaitVisible(css("body")))
	if got := w.Text("body"); !strings.Contains(got, "not valid") {
		t.Errorf("a reused SigninToken: %q", got)
	}
	w.Shot("signin-token-reused")
}

// setEditor replaces the policy editor's text and fires the input event the
// editor listens to, as typing does.
func setEditor(w *walker, doc string) {
	w.t.Helper()
	js, _ := json.Marshal(doc)
	w.js(`(function(){const a=document.querySelector("#document");a.value=` + string(js) +
		`;a.dispatchEvent(new Event("input"));return "ok"})()`)
}
