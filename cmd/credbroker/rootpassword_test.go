package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// TestCoreRootPassword: `core init` takes the root user's console password on
// stdin or from a 0600 file (never argv), refuses one the password policy refuses
// before it makes anything, and the root user then signs in with it through the
// core's own sign-in; `core root-password` replaces it (the old one stops working)
// and --deactivate-mfa removes a lost device. No password reaches the output.
func TestCoreRootPassword(t *testing.T) {
	dir := t.TempDir()
	state, mk := filepath.Join(dir, "state"), filepath.Join(dir, "master.key")
	flags := []string{"--state-dir", state, "--master-key-file", mk}
	core := func(stdin string, args ...string) (string, error) {
		t.Helper()
		out, errOut, err := runCLI(t, stdin, append(append([]string{"core"}, args...), flags...)...)
		return out + errOut, err
	}
	const weak, first, second = "short", "First-Root-Passw0rd!", "Second-Root-Passw0rd!"

	// A weak password: refused with IAM's rules, and no core is left behind.
	out, err := core(weak+"\n", "init", "--root-password-file", "-")
	if err == nil || !strings.Contains(err.Error(), "PasswordPolicyViolation") {
		t.Fatalf("init with a weak password: %v\n%s", err, out)
	}
	if _, serr := os.Stat(filepath.Join(state, "core.db")); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("a refused init left %s (%v)", filepath.Join(state, "core.db"), serr)
	}
	// Without a terminal or a file, init makes no password and says how to set one.
	out, errOut, err := runCLI(t, "", "core", "init", "--state-dir", filepath.Join(dir, "other"), "--master-key-file", mk)
	out += errOut
	if err != nil || !strings.Contains(out, "credbroker core root-password") {
		t.Fatalf("init without a password: %v\n%s", err, out)
	}

	out, err = core(first+"\n", "init", "--root-password-file", "-")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if !strings.Contains(out, "/console/signin/123456789012") || strings.Contains(out, first) {
		t.Errorf("init's output: %s", out)
	}
	signIn(t, filepath.Join(state, "core.db"), mk, first, nil)

	// A file readable by others is refused; a 0600 file replaces the password.
	pwFile := filepath.Join(dir, "root-password")
	if err := os.WriteFile(pwFile, []byte(second+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := core("", "root-password", "--root-password-file", pwFile); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable password file: %v\n%s", err, out)
	}
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	// A root user with an MFA device (lost): --deactivate-mfa removes it.
	st, err := store.OpenFile(context.Background(), filepath.Join(state, "core.db"), store.FileKey(mk))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx *store.Tx) error {
		d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: "root-account-mfa-device"})
		if err != nil {
			return err
		}
		return tx.EnableMFADevice(account.RootUserName, d.Serial)
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	signIn(t, filepath.Join(state, "core.db"), mk, first, sts.ErrMFARequired)
	if out, err = core("", "root-password", "--root-password-file", pwFile, "--deactivate-mfa"); err != nil ||
		!strings.Contains(out, "1 MFA device(s) removed") || strings.Contains(out, second) {
		t.Fatalf("root-password: %v\n%s", err, out)
	}
	signIn(t, filepath.Join(state, "core.db"), mk, first, sts.ErrSignInFailed)
	signIn(t, filepath.Join(state, "core.db"), mk, second, nil)
	// Without a terminal or a file, root-password refuses to guess.
	if out, err := core("", "root-password"); err == nil || !strings.Contains(err.Error(), "--root-password-file") {
		t.Errorf("root-password without a password: %v\n%s", err, out)
	}
}

// signIn signs the root user in to the core in the store at path with password,
// as the console does, and wants the error want (nil: a session).
func signIn(t *testing.T, path, mk, password string, want error) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenFile(ctx, path, store.FileKey(mk))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := sts.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.SignIn(ctx, sts.SignInInput{UserName: account.RootUserName, Password: password})
	if want == nil && (err != nil || res.ARN != "arn:aws:iam::123456789012:root") {
		t.Fatalf("root's sign-in: %v", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("root's sign-in: %v, want %v", err, want)
	}
}
