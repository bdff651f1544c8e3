package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/internal/browsertest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/internal/x509test"
)

// TestE2EConsole: with serve --dev running, `credbroker console dev-admin --print`
// prints a login URL of the core's federation endpoint; Chromium following it
// lands on the console signed in as the role's session; the same URL a second
// time is refused (the SigninToken is good once). Without ROLE, the command asks
// the broker's IMDS for the caller's role.
func TestE2EConsole(t *testing.T) {
	needTools(t)
	e := newE2E(t)
	e.serveDev()

	for _, args := range [][]string{{"console", "dev-admin", "--print"}, {"console", "--print"}} {
		stdout, stderr, err := e.run("", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		login, err := url.Parse(strings.TrimSpace(stdout))
		if err != nil || login.Path != "/federation" || login.Query().Get("Action") != "login" || login.Query().Get("SigninToken") == "" {
			t.Fatalf("%v printed %q", args, stdout)
		}
	}
	stdout, _, err := e.run("", "console", "dev-admin", "--print")
	if err != nil {
		t.Fatal(err)
	}
	login := strings.TrimSpace(stdout)
	b := browsertest.New(t)
	b.Run("login", chromedp.Navigate(login), chromedp.WaitVisible(chromedp.CSS("#recs-h")))
	b.Shot("console-dev-admin")
	if who := b.Text("#whoami"); !strings.HasPrefix(who, "arn:aws:sts::123456789012:assumed-role/dev-admin/") {
		t.Errorf("signed in as %q", who)
	}
	if users := b.Text("#count-users"); users != "1" {
		t.Errorf("the dashboard counts %q users, want the demo's 1", users)
	}
	b.Run("again", chromedp.Navigate(login), chromedp.WaitVisible(chromedp.CSS("body")))
	if got := b.Text("body"); !strings.Contains(got, "not valid") {
		t.Errorf("the login URL a second time: %q", got)
	}
}

// TestE2EConsoleRootSignIn is a real install's first sign-in, over TLS: a CA
// made by the test signs the core's certificate (core_tls_cert_file/_key_file),
// `core init` takes the root user's console password on stdin and `serve` serves
// the core over https. The aws CLI reaches IAM with AWS_CA_BUNDLE (and not
// without it); answers carry HSTS; the console answers to the configured extra
// host name and refuses another; Chromium, given the CA's leaf as trusted and the
// host name mapped to loopback, signs the root user in and holds a __Host-,
// Secure, HttpOnly, SameSite=Strict cookie, and stays signed in across a restart.
// After `core root-password` (the daemon stopped: it holds the store) the session
// is gone and only the new password works.
func TestE2EConsoleRootSignIn(t *testing.T) {
	e := newE2EWithAWSCLI(t)
	const acct, host = "111122223333", "iam.example.internal"
	keyFile := filepath.Join(e.root, "master.key")
	ca := x509test.NewCA(t, "credbroker test CA", x509test.ECDSA)
	leaf := ca.Issue(t, x509test.Template{CommonName: host, DNSNames: []string{host, "localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, KeyType: x509test.ECDSA})
	certPath, keyPath := leaf.WriteFiles(t, e.root, "core")
	caPath := filepath.Join(e.root, "ca.pem")
	if err := os.WriteFile(caPath, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	e.writeCoreConfig(filepath.Join(e.root, "core"), acct, keyFile, fmt.Sprintf("listen {\n  core_tls_cert_file = %q\n  core_tls_key_file = %q\n}\n", certPath, keyPath))
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), `upstream "core" {`, `upstream "core" {`+"\n  console_hosts = [\""+host+"\"]", 1))
	if err := os.WriteFile(e.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	keyID, secret, _ := e.coreInitWith(rootPassword+"\n", "--master-key-file", keyFile, "--root-password-file", "-")
	d := e.serve(nil, "--core-addr", "127.0.0.1:0")
	base := "https://" + d.eps.Core
	if env, _, err := e.run("", "env"); err != nil || !strings.Contains(env, "AWS_ENDPOINT_URL_IAM='"+base+"'") {
		t.Fatalf("env over TLS: %v\n%s", err, env)
	}

	// The aws CLI: with the CA bundle, IAM answers; without, TLS fails.
	root := coreRootEnv(keyID, secret, base)
	if b, err := e.command(append(root, "AWS_CA_BUNDLE="+caPath), "aws", "iam", "get-account-summary", "--output", "json").Output(); err != nil || !strings.Contains(string(b), "SummaryMap") {
		t.Fatalf("aws iam get-account-summary with AWS_CA_BUNDLE: %v\n%s%s", err, b, stderrOf(err))
	}
	if b, err := e.command(root, "aws", "iam", "get-account-summary").CombinedOutput(); err == nil || !strings.Contains(string(b), "CERTIFICATE_VERIFY_FAILED") {
		t.Errorf("aws without the CA bundle: %v\n%s", err, b)
	}

	// HSTS, and the Host check with the configured name.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for h, want := range map[string]int{host: http.StatusOK, "evil.example": http.StatusMisdirectedRequest} {
		req, _ := http.NewRequest(http.MethodGet, base+"/console/signin", nil)
		req.Host = h + ":" + d.eps.Core[strings.LastIndex(d.eps.Core, ":")+1:]
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("Host %s: %d (want %d), HSTS %q", h, resp.StatusCode, want, resp.Header.Get("Strict-Transport-Security"))
		}
	}

	// Chromium trusts the leaf (its key pinned) and resolves the host name to loopback.
	spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
	b := browsertest.New(t, chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1"))
	origin := "https://" + host + d.eps.Core[strings.LastIndex(d.eps.Core, ":"):]
	rootSignIn(t, b, origin, acct, rootPassword, "#recs-h")
	if who := b.Text("#whoami"); who != "arn:aws:iam::"+acct+":root" {
		t.Errorf("signed in as %q", who)
	}
	b.Shot("root-signed-in-over-tls")
	res, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{origin + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range res.Cookies {
		if c.Name == "__Host-credbroker-console" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/" {
		t.Errorf("the session cookie over TLS: %+v", session)
	}
	// A restart keeps the session (it is in the core's store, with the cookie key).
	stop := func() {
		t.Helper()
		if err := d.stop(); err != nil {
			t.Fatalf("serve: %v\n%s", err, d.stderr.String())
		}
	}
	stop()
	d = e.serve(nil, "--core-addr", d.eps.Core)
	b.Run("after a restart", chromedp.Navigate(origin+"/console/"), chromedp.WaitVisible(chromedp.CSS("#recs-h")))
	stop()

	// The host's reset of root's password ends root's sessions.
	const next = "Next-R00t-Passw0rd!"
	if out, errOut, err := e.run(next+"\n", "core", "root-password", "--config", e.cfgPath, "--master-key-file", keyFile,
		"--root-password-file", "-"); err != nil {
		t.Fatalf("core root-password: %v\n%s%s", err, out, errOut)
	}
	d = e.serve(nil, "--core-addr", d.eps.Core)
	b.Run("after the reset", chromedp.Navigate(origin+"/console/"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	rootSignIn(t, b, origin, acct, rootPassword, "#error")
	rootSignIn(t, b, origin, acct, next, "#recs-h")
}

// newE2EWithAWSCLI is newE2E for an end-to-end test that runs the aws CLI: it
// skips with -short, and loudly without the CLI.
func newE2EWithAWSCLI(t *testing.T) *e2e {
	t.Helper()
	needTools(t, "aws=awscli")
	return newE2E(t)
}

const rootPassword = "First-R00t-Passw0rd!"

// rootSignIn signs the root user in on the account's sign-in page at base and
// waits for waitFor.
func rootSignIn(t *testing.T, b *browsertest.Browser, base, acct, password, waitFor string) {
	t.Helper()
	b.Run("root sign-in", chromedp.Navigate(base+"/console/signin/"+acct), chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.Click(chromedp.CSS("#kind-root")), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// TestE2ECoreInitPromptsOnATerminal: on a terminal, `core init` asks for the root
// user's console password twice without echo; two different answers change
// nothing; the same twice sets it (root signs in with it).
func TestE2ECoreInitPromptsOnATerminal(t *testing.T) {
	bin := credbrokerBin(t)
	dir := t.TempDir()
	state, mk := filepath.Join(dir, "state"), filepath.Join(dir, "master.key")
	for _, tc := range []struct{ first, again, want string }{
		{rootPassword, "Another-Passw0rd!", "the two passwords differ"},
		{rootPassword, rootPassword, "/console/signin/123456789012"},
	} {
		master, slave := openPTY(t)
		out := &logtest.Buffer{}
		go io.Copy(out, master)
		cmd := exec.Command(bin, "core", "init", "--state-dir", state, "--master-key-file", mk)
		cmd.Stdin, cmd.Stderr = slave, slave
		var stdout strings.Builder
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		slave.Close()
		out.WaitFor(t, "console password", 30*time.Second)
		waitNoEcho(t, master)
		io.WriteString(master, tc.first+"\n")
		out.WaitFor(t, "again", 10*time.Second)
		waitNoEcho(t, master)
		io.WriteString(master, tc.again+"\n")
		err := cmd.Wait()
		// What the program wrote to the terminal last may still be on its way
		// through the pseudo-terminal to the copying goroutine.
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end) && !strings.Contains(stdout.String()+out.String(), tc.want); {
			time.Sleep(10 * time.Millisecond)
		}
		all := stdout.String() + out.String()
		if !strings.Contains(all, tc.want) || strings.Contains(out.String(), rootPassword) {
			t.Fatalf("core init on a terminal (%v): want %q, and no echo:\n%s", err, tc.want, all)
		}
		master.Close()
	}
	if err := signIn(t, filepath.Join(state, "core.db"), mk, rootPassword); err != nil {
		t.Errorf("root signs in with the password typed: %v", err)
	}
}

// waitNoEcho waits until the program has turned the terminal's echo off, as a
// person's typing after the prompt would be echoed before that (a typed-ahead
// password is the terminal's to show, not the program's).
func waitNoEcho(t *testing.T, master *os.File) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal's echo is still on 10 s after the prompt")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0); err != nil {
		t.Fatal(err)
	}
	return master, slave
}
