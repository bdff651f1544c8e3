package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credbroker/credbroker/internal/browsertest"
	"github.com/credbroker/credbroker/internal/logtest"
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// browser signs directory users in through headless Chromium (the project's
// internal/browsertest); each sign-in gets a browser of its own, so no IdP
// session is shared between users.
type browser struct {
	t *testing.T
}

func newBrowser(t *testing.T) *browser { return &browser{t: t} }

// atIdP opens url in a new browser and signs in at the IdP as user; it returns
// the browser's context and when the password was submitted.
func (b *browser) atIdP(url, user, pass string) (ctx context.Context, submitted time.Time) {
	b.t.Helper()
	start := time.Now()
	ctx = browsertest.New(b.t).Ctx
	noteCost(b.t, "Chromium start", time.Since(start))
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), pass),
	)
	if err != nil {
		b.t.Fatalf("IdP sign-in as %s: %v", user, err)
	}
	submitted = time.Now()
	if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS(`input[name="password"]`))); err != nil {
		b.t.Fatalf("IdP sign-in as %s: %v", user, err)
	}
	return ctx, submitted
}

// until waits (30 s at most) for the page to satisfy done, and returns its
// location and text.
func (b *browser) until(ctx context.Context, done func(loc, text string) bool) (string, string) {
	b.t.Helper()
	var loc, text string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		l, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			continue
		}
		tx, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
		if err != nil {
			continue
		}
		loc, text = l, tx
		if done(loc, text) {
			return loc, text
		}
	}
	return loc, text
}

// signIn opens url, signs in at the IdP as user, picks role in the broker's
// chooser when one is shown (role "" picks none), and returns the last page's
// text (the callback's page, or the IdP's).
func (b *browser) signIn(url, user, pass, role string) string {
	b.t.Helper()
	ctx, _ := b.atIdP(url, user, pass)
	_, text := b.until(ctx, func(loc, text string) bool {
		return (!strings.Contains(loc, "/saml") && strings.Contains(text, "ncorrect")) ||
			(strings.HasSuffix(loc, "/saml") && (strings.Contains(text, "Choose a role") || strings.Contains(text, "Signed in") ||
				strings.Contains(text, "No role") || strings.Contains(text, "refused") || strings.Contains(text, "failed")))
	})
	if strings.Contains(text, "Choose a role") && role != "" {
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="role"][value=%q]`, role))),
			chromedp.Click(chromedp.CSS(`#signin`)),
			chromedp.WaitVisible(chromedp.CSS(`#message`)),
		); err != nil {
			b.t.Fatalf("choosing %s: %v", role, err)
		}
		_, text = b.until(ctx, func(_, text string) bool { return !strings.Contains(text, "Choose a role") })
	}
	return text
}

// samlE2E is the federation set-up of the SAML end-to-end tests: a Samba AD
// directory, SimpleSAMLphp in front of it, the daemon with the embedded core
// (account 111122223333, SAML provider corp, roles Developers and Admins
// trusting it) and saml source corp, whose callback and the core's /saml are
// the IdP's assertion consumer services for AWS.
type samlE2E struct {
	*e2e
	t                           *testing.T
	br                          *browser
	id                          *idp
	d                           *daemonProc
	acct, provider              string
	cb, spCB, coreAddr, coreACS string
	rootEnv, imdsEnv            []string
}

func newSAMLE2E(t *testing.T) *samlE2E {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	needFederationTools(t)
	s := &samlE2E{e2e: newE2E(t), t: t, br: newBrowser(t), acct: "111122223333"}
	s.provider = "arn:aws:iam::" + s.acct + ":saml-provider/corp"
	s.cb, s.spCB = fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.coreAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.coreACS = "http://" + s.coreAddr + "/saml"

	dir := startDirectory(t)
	s.id = startIdP(t, dir, []string{"http://" + s.cb + "/saml", s.coreACS, "http://" + s.spCB + "/saml"}, s.acct, s.provider)
	state, keyFile := filepath.Join(s.root, "core"), filepath.Join(s.root, "master.key")
	s.writeCoreConfig(state, s.acct, keyFile, s.sources(false))
	keyID, secret := s.coreInit(keyFile, s.acct)
	s.d = s.serve(nil, "--core-addr", s.coreAddr)
	s.rootEnv = coreRootEnv(keyID, secret, "http://"+s.d.eps.Core)
	s.imdsEnv = []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + s.d.eps.IMDS + "/", "AWS_EC2_METADATA_V1_DISABLED=true",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL_STS=http://" + s.d.eps.Core}

	// IAM: the IdP's metadata as a SAML provider, two roles it may sign in to.
	mdPath := filepath.Join(s.root, "idp-metadata.xml")
	md, err := exec.Command("curl", "-sf", s.id.MetadataURL()).Output()
	if err != nil {
		t.Fatalf("the IdP's metadata: %v", err)
	}
	if err := os.WriteFile(mdPath, md, 0o644); err != nil {
		t.Fatal(err)
	}
	s.aws(s.rootEnv, "iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+mdPath)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, s.provider)
	for _, r := range []string{"Developers", "Admins"} {
		s.aws(s.rootEnv, "iam", "create-role", "--role-name", r, "--assume-role-policy-document", trust)
	}
	return s
}

// sources is the config's saml sources, roles and client; withSP adds source
// corp-sp (SP-initiated, its own callback) and its role developers-sp.
func (s *samlE2E) sources(withSP bool) string {
	cfg := fmt.Sprintf(`source "saml" "corp" {
  idp_url      = %q
  provider_arn = %q
  callback     = %q
}
role "developers" {
  arn    = "arn:aws:iam::%[4]s:role/Developers"
  source = "corp"
}
role "admins" {
  arn    = "arn:aws:iam::%[4]s:role/Admins"
  source = "corp"
}
`, s.id.SSOURL(), s.provider, s.cb, s.acct)
	allow := `["admins"]`
	if withSP {
		cfg += fmt.Sprintf(`source "saml" "corp-sp" {
  idp_url      = %q
  provider_arn = %q
  callback     = %q
  sp_initiated = true
}
role "developers-sp" {
  arn    = "arn:aws:iam::%s:role/Developers"
  source = "corp-sp"
}
`, s.id.base+"/saml2/idp/SSOService.php", s.provider, s.spCB, s.acct)
		allow = `["admins", "developers-sp"]`
	}
	return cfg + fmt.Sprintf(`client "me" {
  uids        = [%d]
  role        = "developers"
  allow_roles = %s
}
`, os.Getuid(), allow)
}

// aws runs the aws CLI with env, failing the test on error.
func (s *samlE2E) aws(env []string, args ...string) []byte {
	s.t.Helper()
	out, err := s.awsErr(env, args...)
	if err != nil {
		s.t.Fatalf("aws %s: %v", strings.Join(args[:2], " "), err)
	}
	return out
}

func (s *samlE2E) awsErr(env []string, args ...string) ([]byte, error) {
	s.t.Helper()
	out, err := s.command(env, "aws", append(args, "--output", "json")...).Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderrOf(err))
	}
	return out, nil
}

// whoAmI is the aws CLI's caller through IMDS.
func (s *samlE2E) whoAmI() string {
	s.t.Helper()
	var who callerIdentity
	if err := json.Unmarshal(s.aws(s.imdsEnv, "sts", "get-caller-identity"), &who); err != nil {
		s.t.Fatal(err)
	}
	return who.Arn
}

// login starts `credbroker login SOURCE --print` and returns it with the URL
// it printed.
func (s *samlE2E) login(source string) (*exec.Cmd, *logtest.Buffer, string, time.Time) {
	s.t.Helper()
	start := time.Now()
	c := s.command(nil, s.bin, "login", source, "--print", "--timeout", "90s")
	stdout, err := c.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	stderr := &logtest.Buffer{}
	c.Stderr = stderr
	if err := c.Start(); err != nil {
		s.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.t.Fatalf("login printed no URL: %v\n%s", err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	stderr.WaitFor(s.t, "Waiting for the sign-in", 10*time.Second)
	return c, stderr, strings.TrimSpace(line), start
}

// TestE2ESAMLFederation: a directory user signs in through the real IdP
// (SimpleSAMLphp in front of a Samba AD domain) in a real browser (headless
// Chromium); `credbroker login` receives the assertion, the daemon redeems
// it against the embedded core (AssumeRoleWithSAML, signature verified), and
// the aws CLI runs as the role chosen, through IMDS. A user in no aws- group
// gets no role; a disabled user cannot sign in; a replayed, tampered,
// misaddressed or expired assertion is refused with STS's error.
func TestE2ESAMLFederation(t *testing.T) {
	s := newSAMLE2E(t)
	if st := s.status(); !st.needsHuman("developers") {
		t.Errorf("before login, developers is not needs-human: %+v", st)
	}

	// alice: in aws-Developers and aws-Admins → the chooser → Developers.
	c, stderr, url, start := s.login("corp")
	if url != s.id.SSOURL() {
		t.Errorf("login printed %q, want the IdP's %q", url, s.id.SSOURL())
	}
	page := s.br.signIn(url, "alice", alicePass, "developers")
	if !strings.Contains(page, "Signed in") {
		t.Fatalf("alice's sign-in ended on %q\nlogin: %s\nIdP: %s\ndaemon: %s", page, stderr.String(), s.id.log.String(), s.d.stderr.String())
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	who := s.whoAmI()
	firstCred := time.Since(start)
	if who != "arn:aws:sts::"+s.acct+":assumed-role/Developers/alice@corp.example" {
		t.Errorf("through IMDS after alice's login: %s", who)
	}
	// Yardstick, same run: one more aws CLI call through IMDS, the session cached.
	ys := time.Now()
	s.whoAmI()
	yard := time.Since(ys)
	noteCost(t, "login → first credential through IMDS (incl. browser and IdP sign-in)", firstCred)
	t.Logf("login → first credential = %.1f× one cached aws CLI call (%v)", float64(firstCred)/float64(yard), yard.Round(time.Millisecond))
	if st := s.status(); st.needsHuman("developers") {
		t.Errorf("after login, developers is still needs-human: %+v", st)
	}

	// bob: in no aws- group → no role.
	c, _, url, _ = s.login("corp")
	if page := s.br.signIn(url, "bob", bobPass, ""); !strings.Contains(page, "No role") {
		t.Errorf("bob's sign-in ended on %q", page)
	}
	c.Process.Kill()
	c.Wait()

	// carol: disabled in the directory → the IdP refuses her.
	c, _, url, _ = s.login("corp")
	if page := s.br.signIn(url, "carol", carolPass, "developers"); !strings.Contains(page, "ncorrect") {
		t.Errorf("disabled carol's sign-in ended on %q", page)
	}
	c.Process.Kill()
	c.Wait()

	// Straight to STS (the aws CLI against the core): a replayed, a tampered,
	// a wrongly addressed and an expired assertion are refused with STS's errors.
	redeem := func(resp string) error {
		_, err := s.awsErr(s.rootEnv, "sts", "assume-role-with-saml", "--role-arn", "arn:aws:iam::"+s.acct+":role/Admins",
			"--principal-arn", s.provider, "--saml-assertion", resp)
		return err
	}
	resp := s.id.response(t, "urn:amazon:webservices", "alice", alicePass, nil)
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		t.Fatal(err)
	}
	tampered := base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte("alice@corp.example"), []byte("admin@corp.example"), 1))
	if err := redeem(tampered); err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Errorf("tampered assertion: %v", err)
	}
	if err := redeem(resp); err != nil {
		t.Errorf("alice's own assertion: %v", err)
	}
	if err := redeem(resp); err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") || !strings.Contains(err.Error(), "replay") {
		t.Errorf("replayed assertion: %v", err)
	}
	if err := redeem(s.id.response(t, "urn:example:other-sp", "alice", alicePass, nil)); err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Errorf("assertion for another service provider: %v", err)
	}
	if err := redeem(s.id.response(t, expiringSP, "alice", alicePass, nil)); err == nil || !strings.Contains(err.Error(), "ExpiredTokenException") {
		t.Errorf("expired assertion: %v", err)
	}

	// The daemon log and the state hold no assertion.
	if strings.Contains(s.d.stderr.String(), "SAMLResponse") || strings.Contains(s.d.stderr.String(), "PHNhbWxw") {
		t.Error("the daemon logged a SAML response")
	}
}

// TestE2ESAMLCoreSignIn: the core's own assertion consumer service, as AWS's
// https://signin.aws.amazon.com/saml. In Chromium: alice → the IdP → the core's
// /saml → "Select a role" → the console, signed in as assumed-role/Admins/alice;
// alice → the IdP → the core's /saml with RelayState = the login callback → the
// broker's login, which redeems it; a saml source added by a reload signs in
// SP-initiated (AuthnRequest, InResponseTo) with no restart; an expired
// assertion is refused at /saml. Posted by hand to /saml: tampered, replayed and
// misaddressed assertions are refused with STS's codes.
func TestE2ESAMLCoreSignIn(t *testing.T) {
	s := newSAMLE2E(t)
	atCore := s.id.SSOURL() + "&ConsumerURL=" + url.QueryEscape(s.coreACS)

	// The SP metadata, imported as SimpleSAMLphp would (schema-valid, parsed):
	// AWS's entity id, the core's /saml, the attributes it needs.
	mdPath := filepath.Join(s.root, "sp-metadata.xml")
	if md, err := exec.Command("curl", "-sf", "-o", mdPath, "http://"+s.coreAddr+"/static/saml-metadata.xml").CombinedOutput(); err != nil {
		t.Fatalf("SP metadata: %v %s", err, md)
	}
	imported, err := exec.Command("php", "testdata/saml-import-sp.php", mdPath).Output()
	var sps map[string]struct {
		ACS []struct {
			Binding, Location string
		} `json:"AssertionConsumerService"`
		Required []string `json:"attributes.required"`
	}
	if err != nil || json.Unmarshal(imported, &sps) != nil {
		t.Fatalf("SimpleSAMLphp does not import the SP metadata: %v %s\n%s", err, stderrOf(err), imported)
	}
	if sp, ok := sps["urn:amazon:webservices"]; !ok || len(sp.ACS) != 1 || sp.ACS[0].Location != s.coreACS ||
		sp.ACS[0].Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" || len(sp.Required) != 2 {
		t.Errorf("SP metadata as SimpleSAMLphp reads it: %s", imported)
	}

	// The console, one role: straight from the IdP's POST to the console (the
	// cross-site POST's answer sends the browser on with a page, so that the
	// console's SameSite=Strict cookie goes along).
	ctx, posted := s.br.atIdP(s.id.base+"/saml2/idp/SSOService.php?spentityid="+url.QueryEscape(oneRoleSP), "alice", alicePass)
	loc, text := s.br.until(ctx, func(loc, text string) bool {
		return strings.Contains(loc, "/console/") && strings.Contains(text, "assumed-role")
	})
	direct := time.Since(posted)
	if whoami, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#whoami`))); whoami != "arn:aws:sts::"+s.acct+":assumed-role/Developers/alice@corp.example" {
		t.Fatalf("one role: console at %s as %q:\n%s\ndaemon: %s", loc, whoami, text, s.d.stderr.String())
	}

	// The console: the chooser, then signed in as the role chosen, on the page
	// RelayState names.
	ctx, posted = s.br.atIdP(atCore+"&RelayState="+url.QueryEscape("/console/roles"), "alice", alicePass)
	loc, text = s.br.until(ctx, func(loc, text string) bool {
		return strings.HasSuffix(loc, "/saml") && strings.Contains(text, "Select a role")
	})
	if !strings.Contains(text, "Select a role") {
		t.Fatalf("no chooser at the core: %s %q\ndaemon: %s", loc, text, s.d.stderr.String())
	}
	chooser := time.Now()
	if err := chromedp.Do(ctx,
		chromedp.Click(`//label[contains(., "Admins")]/input`),
		chromedp.Click(chromedp.CSS(`#signin_button`)),
	); err != nil {
		t.Fatalf("choosing Admins: %v", err)
	}
	loc, text = s.br.until(ctx, func(loc, text string) bool {
		return strings.Contains(loc, "/console/") && strings.Contains(text, "assumed-role")
	})
	whoami, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#whoami`)))
	if whoami != "arn:aws:sts::"+s.acct+":assumed-role/Admins/alice@corp.example" || !strings.HasSuffix(loc, "/console/roles") {
		t.Fatalf("console at %s as %q:\n%s\ndaemon: %s", loc, whoami, text, s.d.stderr.String())
	}
	toConsole, fromChooser := time.Since(posted), time.Since(chooser)
	// Yardstick, same run, same browser: one more console page, signed in.
	ys := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.coreAddr+"/console/roles"), chromedp.WaitVisible(chromedp.CSS(`#whoami`))); err != nil {
		t.Fatalf("the console again: %v", err)
	}
	yard := time.Since(ys)
	noteCost(t, "IdP sign-in POST → console page signed in (one role)", direct)
	noteCost(t, "IdP sign-in POST → console page signed in (chooser included)", toConsole)
	t.Logf("IdP sign-in POST → console: one role %.1f×, with the chooser %.1f×; chooser answer → console (%v) %.1f×; of one signed-in console page load (%v)",
		float64(direct)/float64(yard), float64(toConsole)/float64(yard), fromChooser.Round(time.Millisecond), float64(fromChooser)/float64(yard), yard.Round(time.Millisecond))

	// The broker: the core verifies, the browser hands the response to the
	// login callback (RelayState), the broker redeems it.
	c, stderr, _, start := s.login("corp")
	page := s.br.signIn(atCore+"&RelayState="+url.QueryEscape("http://"+s.cb+"/saml"), "alice", alicePass, "admins")
	if !strings.Contains(page, "Signed in") {
		t.Fatalf("hand-off to login ended on %q\nlogin: %s\ndaemon: %s", page, stderr.String(), s.d.stderr.String())
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	if st := s.status(); st.needsHuman("admins") {
		t.Errorf("after the hand-off, admins is still needs-human: %+v", st)
	}
	noteCost(t, "login → signed in through the core's /saml (incl. browser and IdP sign-in)", time.Since(start))

	// A saml source added by a reload: the core takes its callback at once;
	// SP-initiated, the answer to login's AuthnRequest only.
	s.writeCoreConfig(filepath.Join(s.root, "core"), s.acct, filepath.Join(s.root, "master.key"), s.sources(true))
	if out, errOut, err := s.run("", "reload", "--runtime-dir", s.runtimeDir); err != nil {
		t.Fatalf("reload: %v\n%s%s", err, out, errOut)
	}
	c, stderr, authn, start := s.login("corp-sp")
	if !strings.HasPrefix(authn, s.id.base+"/saml2/idp/SSOService.php?SAMLRequest=") || !strings.Contains(authn, "RelayState=") {
		t.Errorf("SP-initiated login printed %q", authn)
	}
	if page := s.br.signIn(authn, "alice", alicePass, ""); !strings.Contains(page, "Signed in") || !strings.Contains(page, "developers-sp") {
		t.Fatalf("SP-initiated sign-in ended on %q\nlogin: %s\nIdP: %s\ndaemon: %s", page, stderr.String(), s.id.log.String(), s.d.stderr.String())
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("SP-initiated login: %v\n%s", err, stderr.String())
	}
	noteCost(t, "SP-initiated login → signed in (incl. browser and IdP sign-in)", time.Since(start))
	// An IdP-initiated response to the SP-initiated source is not its answer.
	c, _, _, _ = s.login("corp-sp")
	if page := s.br.signIn(s.id.SSOURL()+"&ConsumerURL="+url.QueryEscape("http://"+s.spCB+"/saml"), "alice", alicePass, ""); !strings.Contains(page, "RelayState is not this sign-in") {
		t.Errorf("unrequested response at the SP-initiated callback ended on %q", page)
	}
	c.Process.Kill()
	c.Wait()

	// Expired on arrival (the IdP's assertion lifetime is negative for this
	// audience): refused at /saml, in the browser.
	ctx, _ = s.br.atIdP(s.id.base+"/saml2/idp/SSOService.php?spentityid="+url.QueryEscape(expiringSP), "alice", alicePass)
	if _, text := s.br.until(ctx, func(loc, text string) bool {
		return strings.HasSuffix(loc, "/saml") && strings.Contains(text, "refused")
	}); !strings.Contains(text, "ExpiredTokenException") {
		t.Errorf("expired assertion at /saml: %q", text)
	}

	// By hand at /saml: each refused with STS's code; a valid one is spent once.
	post := func(resp string) (int, string) {
		r, err := http.PostForm(s.coreACS, url.Values{"SAMLResponse": {resp}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	resp := s.id.response(t, "urn:amazon:webservices", "alice", alicePass, url.Values{"ConsumerURL": {s.coreACS}})
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		t.Fatal(err)
	}
	tampered := base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte("alice@corp.example"), []byte("admin@corp.example"), 1))
	for name, c := range map[string]struct {
		resp, want string
	}{
		"tampered":               {tampered, "InvalidIdentityToken"},
		"for another SP":         {s.id.response(t, "urn:example:other-sp", "alice", alicePass, nil), "InvalidIdentityToken"},
		"expired":                {s.id.response(t, expiringSP, "alice", alicePass, nil), "ExpiredTokenException"},
		"bob's, who has no role": {s.id.response(t, "urn:amazon:webservices", "bob", bobPass, url.Values{"ConsumerURL": {s.coreACS}}), "No role"},
	} {
		if status, page := post(c.resp); status == http.StatusOK || !strings.Contains(page, c.want) {
			t.Errorf("%s at /saml: %d %s", name, status, page)
		}
	}
	if status, page := post(resp); status != http.StatusOK || !strings.Contains(page, "Select a role") {
		t.Errorf("alice's own at /saml: %d %s", status, page)
	}
	if _, err := s.awsErr(s.rootEnv, "sts", "assume-role-with-saml", "--role-arn", "arn:aws:iam::"+s.acct+":role/Admins",
		"--principal-arn", s.provider, "--saml-assertion", resp); err != nil {
		t.Errorf("redeeming the response the chooser holds: %v", err)
	}
	if status, page := post(resp); status == http.StatusOK || !strings.Contains(page, "replay") {
		t.Errorf("replayed at /saml: %d %s", status, page)
	}
	if strings.Contains(s.d.stderr.String(), "PHNhbWxw") {
		t.Error("the daemon logged a SAML response")
	}
}

// needsHuman reports whether role's shared session is needs-human.
func (s statusJSON) needsHuman(role string) bool {
	for _, r := range s.Roles {
		if r.Role == role {
			for _, ss := range r.Sessions {
				if ss.NeedsHuman {
					return true
				}
			}
		}
	}
	return false
}
