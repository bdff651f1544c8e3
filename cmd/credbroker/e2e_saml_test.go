package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credbroker/credbroker/internal/browsertest"
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

// signIn opens url, signs in at the IdP as user, picks role in the chooser
// when one is shown (role "" picks none), and returns the last page's text
// (our callback's page, or the IdP's).
func (b *browser) signIn(url, user, pass, role string) string {
	b.t.Helper()
	start := time.Now()
	ctx := browsertest.New(b.t).Ctx
	noteCost(b.t, "Chromium start", time.Since(start))
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), pass),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
	)
	if err != nil {
		b.t.Fatalf("IdP sign-in as %s: %v", user, err)
	}
	// Either our callback's page (#message) or the IdP's form again (refused).
	var text string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			continue
		}
		if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`))); err != nil {
			continue
		}
		if !strings.Contains(loc, "/saml") && strings.Contains(text, "ncorrect") {
			return text
		}
		if strings.HasSuffix(loc, "/saml") && (strings.Contains(text, "Choose a role") || strings.Contains(text, "Signed in") ||
			strings.Contains(text, "No role") || strings.Contains(text, "refused") || strings.Contains(text, "failed")) {
			break
		}
	}
	if strings.Contains(text, "Choose a role") && role != "" {
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="role"][value=%q]`, role))),
			chromedp.Click(chromedp.CSS(`#signin`)),
			chromedp.WaitVisible(chromedp.CSS(`#message`)),
		); err != nil {
			b.t.Fatalf("choosing %s: %v", role, err)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`))); err == nil && !strings.Contains(text, "Choose a role") {
				break
			}
		}
	}
	return text
}

// TestE2ESAMLFederation: a directory user signs in through the real IdP
// (SimpleSAMLphp in front of a Samba AD domain) in a real browser (headless
// Chromium); `credbroker login` receives the assertion, the daemon redeems
// it against the embedded core (AssumeRoleWithSAML, signature verified), and
// the aws CLI runs as the role chosen, through IMDS. A user in no aws- group
// gets no role; a disabled user cannot sign in; a replayed assertion is
// refused with STS's error.
func TestE2ESAMLFederation(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	needFederationTools(t)
	br := newBrowser(t)
	e := newE2E(t)
	const acct = "111122223333"
	provider := "arn:aws:iam::" + acct + ":saml-provider/corp"
	state, keyFile := filepath.Join(e.root, "core"), filepath.Join(e.root, "master.key")
	cb := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	dir := startDirectory(t)
	id := startIdP(t, dir, "http://"+cb+"/saml", acct, provider)

	e.cfgPath = filepath.Join(e.root, "credbroker.hcl")
	cfg := fmt.Sprintf(`region = "us-east-1"
upstream "core" {
  state_dir  = %q
  account_id = %q
  master_key {
    source = "file"
    path   = %q
  }
}
source "saml" "corp" {
  idp_url      = %q
  provider_arn = %q
  callback     = %q
}
role "developers" {
  arn    = "arn:aws:iam::%s:role/Developers"
  source = "corp"
}
role "admins" {
  arn    = "arn:aws:iam::%s:role/Admins"
  source = "corp"
}
client "me" {
  uids        = [%d]
  role        = "developers"
  allow_roles = ["admins"]
}
`, state, acct, keyFile, id.SSOURL(), provider, cb, acct, acct, os.Getuid())
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := e.run("", "core", "init", "--config", e.cfgPath, "--master-key-file", keyFile, "--account-id", acct)
	if err != nil {
		t.Fatalf("core init: %v\n%s%s", err, out, errOut)
	}
	m := regexp.MustCompile(`aws_access_key_id\s+=\s+(AKIA\w+)\s+aws_secret_access_key\s+=\s+(\S+)`).FindStringSubmatch(out + errOut)
	if m == nil {
		t.Fatalf("core init printed no root key:\n%s%s", out, errOut)
	}
	d := e.serve(nil, "--core-addr", "127.0.0.1:0")
	root := []string{"AWS_ACCESS_KEY_ID=" + m[1], "AWS_SECRET_ACCESS_KEY=" + m[2], "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL_IAM=http://" + d.eps.Core, "AWS_ENDPOINT_URL_STS=http://" + d.eps.Core}
	awsAs := func(env []string, args ...string) ([]byte, error) {
		t.Helper()
		return e.command(env, "aws", append(args, "--output", "json")...).Output()
	}
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatalf("aws: %v\n%s", err, stderrOf(err))
		}
		return b
	}

	// IAM: the IdP's metadata as a SAML provider, two roles it may sign in to.
	mdPath := filepath.Join(e.root, "idp-metadata.xml")
	md := must(exec.Command("curl", "-sf", id.MetadataURL()).Output())
	if err := os.WriteFile(mdPath, md, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := awsAs(root, "iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", "file://"+mdPath); err != nil {
		if msg := string(stderrOf(err)); strings.Contains(msg, "InvalidAction") || strings.Contains(msg, "not served") {
			t.Skipf("SKIPPED LOUDLY: the embedded core on this tree does not serve SAML providers (CreateSAMLProvider: %s); they land with the stsops branch (issue 16 needs it)", strings.TrimSpace(msg))
		}
		t.Fatalf("create-saml-provider: %v\n%s", err, stderrOf(err))
	}
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},"Action":"sts:AssumeRoleWithSAML"}]}`, provider)
	for _, r := range []string{"Developers", "Admins"} {
		must(awsAs(root, "iam", "create-role", "--role-name", r, "--assume-role-policy-document", trust))
	}

	if st := e.status(); !st.needsHuman("developers") {
		t.Errorf("before login, developers is not needs-human: %+v", st)
	}
	imdsEnv := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + d.eps.IMDS + "/", "AWS_EC2_METADATA_V1_DISABLED=true",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL_STS=http://" + d.eps.Core}

	// login: the URL on stdout, the browser does the rest.
	login := func() (*exec.Cmd, *lockedBuffer, string, time.Time) {
		t.Helper()
		start := time.Now()
		c := e.command(nil, e.bin, "login", "corp", "--print", "--timeout", "90s")
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		stderr := newLockedBuffer()
		c.Stderr = stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatalf("login printed no URL: %v\n%s", err, stderr.String())
		}
		go io.Copy(io.Discard, stdout)
		stderr.waitFor(t, "Waiting for the sign-in", 10*time.Second)
		return c, stderr, strings.TrimSpace(line), start
	}

	// alice: in aws-Developers and aws-Admins → the chooser → Developers.
	c, stderr, url, start := login()
	if url != id.SSOURL() {
		t.Errorf("login printed %q, want the IdP's %q", url, id.SSOURL())
	}
	page := br.signIn(url, "alice", alicePass, "developers")
	if !strings.Contains(page, "Signed in") {
		t.Fatalf("alice's sign-in ended on %q\nlogin: %s\nIdP: %s\ndaemon: %s", page, stderr.String(), id.log.String(), d.stderr.String())
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	var who callerIdentity
	if err := json.Unmarshal(must(awsAs(imdsEnv, "sts", "get-caller-identity")), &who); err != nil {
		t.Fatal(err)
	}
	firstCred := time.Since(start)
	if who.Arn != "arn:aws:sts::"+acct+":assumed-role/Developers/alice@corp.example" {
		t.Errorf("through IMDS after alice's login: %+v", who)
	}
	// Yardstick, same run: one more aws CLI call through IMDS, the session cached.
	ys := time.Now()
	must(awsAs(imdsEnv, "sts", "get-caller-identity"))
	yard := time.Since(ys)
	noteCost(t, "login → first credential through IMDS (incl. browser and IdP sign-in)", firstCred)
	t.Logf("login → first credential = %.1f× one cached aws CLI call (%v)", float64(firstCred)/float64(yard), yard.Round(time.Millisecond))
	if st := e.status(); st.needsHuman("developers") {
		t.Errorf("after login, developers is still needs-human: %+v", st)
	}

	// bob: in no aws- group → no role.
	c, _, url, _ = login()
	if page := br.signIn(url, "bob", bobPass, ""); !strings.Contains(page, "No role") {
		t.Errorf("bob's sign-in ended on %q", page)
	}
	c.Process.Kill()
	c.Wait()

	// carol: disabled in the directory → the IdP refuses her.
	c, _, url, _ = login()
	if page := br.signIn(url, "carol", carolPass, "developers"); !strings.Contains(page, "ncorrect") {
		t.Errorf("disabled carol's sign-in ended on %q", page)
	}
	c.Process.Kill()
	c.Wait()

	// Straight to STS (the aws CLI against the core): a replayed, a tampered
	// and a wrongly addressed assertion are refused with STS's errors.
	redeem := func(resp string) error {
		_, err := awsAs(root, "sts", "assume-role-with-saml", "--role-arn", "arn:aws:iam::"+acct+":role/Admins",
			"--principal-arn", provider, "--saml-assertion", resp)
		if err != nil {
			return fmt.Errorf("%v: %s", err, stderrOf(err))
		}
		return nil
	}
	resp := id.response(t, "urn:amazon:webservices", "alice", alicePass)
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
	if err := redeem(id.response(t, "urn:example:other-sp", "alice", alicePass)); err == nil || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Errorf("assertion for another service provider: %v", err)
	}

	// The daemon log and the state hold no assertion.
	if strings.Contains(d.stderr.String(), "SAMLResponse") || strings.Contains(d.stderr.String(), "PHNhbWxw") {
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
