package main

import (
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/credbroker/credbroker/internal/browsertest"
)

// TestE2EConsole: with serve --dev running, `credbroker console dev-admin --print`
// prints a login URL of the core's federation endpoint; Chromium following it
// lands on the console signed in as the role's session; the same URL a second
// time is refused (the SigninToken is good once). Without ROLE, the command asks
// the broker's IMDS for the caller's role.
func TestE2EConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newE2E(t)
	n := newNotifySocket(t, e.root)
	cmd := e.command([]string{"NOTIFY_SOCKET=" + n.path}, e.bin, "serve", "--dev", "--runtime-dir", e.runtimeDir,
		"--imds-addr", "127.0.0.1:0", "--container-addr", "127.0.0.1:0", "--core-addr", "127.0.0.1:0")
	out := newLockedBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve --dev: %v\n%s", err, out.String())
		}
	}()
	n.wait(t, "READY", "1", 60*time.Second)

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

// TestE2EConsoleRootSignIn is a real install's first sign-in: `core init` takes
// the root user's console password on stdin, `serve` serves the core, and the root
// user signs in to the console in Chromium with it; after `core root-password`
// (the daemon stopped: it holds the store) only the new password works.
func TestE2EConsoleRootSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	e := newE2E(t)
	const acct = "111122223333"
	keyFile := filepath.Join(e.root, "master.key")
	e.writeCoreConfig(filepath.Join(e.root, "core"), acct, keyFile, "")
	if out, errOut, err := e.run(rootPassword+"\n", "core", "init", "--config", e.cfgPath, "--master-key-file", keyFile,
		"--root-password-file", "-"); err != nil {
		t.Fatalf("core init: %v\n%s%s", err, out, errOut)
	}
	d := e.serve(nil, "--core-addr", "127.0.0.1:0")
	b := browsertest.New(t)
	rootSignIn(t, b, "http://"+d.eps.Core, acct, rootPassword, "#recs-h")
	if who := b.Text("#whoami"); who != "arn:aws:iam::"+acct+":root" {
		t.Errorf("signed in as %q", who)
	}
	b.Shot("root-signed-in")
	if err := d.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, d.stderr.String())
	}

	const next = "Next-R00t-Passw0rd!"
	if out, errOut, err := e.run(next+"\n", "core", "root-password", "--config", e.cfgPath, "--master-key-file", keyFile,
		"--root-password-file", "-"); err != nil {
		t.Fatalf("core root-password: %v\n%s%s", err, out, errOut)
	}
	d = e.serve(nil, "--core-addr", "127.0.0.1:0")
	rootSignIn(t, b, "http://"+d.eps.Core, acct, rootPassword, "#error")
	rootSignIn(t, b, "http://"+d.eps.Core, acct, next, "#recs-h")
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
