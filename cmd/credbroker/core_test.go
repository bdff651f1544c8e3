package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/gaad"
	"github.com/credbroker/credbroker/sts/store"
)

var printedKey = regexp.MustCompile(`aws_access_key_id     = (AKIA[A-Z0-9]{16})\n  aws_secret_access_key = (\S{40})\n`)

// initCore runs `core init --account-id 123456789012` with flags in-process and
// returns its output and root's access key, which it prints once.
func initCore(t *testing.T, flags ...string) (out, errOut, keyID, secret string) {
	t.Helper()
	out, errOut, err := runCLI(t, "", append([]string{"core", "init", "--account-id", "123456789012"}, flags...)...)
	if err != nil {
		t.Fatalf("core init: %v\n%s", err, errOut)
	}
	m := printedKey.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("core init printed no root key:\n%s", out)
	}
	return out, errOut, m[1], m[2]
}

func TestCoreInitImportExport(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credbroker.hcl")
	if err := os.WriteFile(cfg, []byte("region = \"eu-west-1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state, mk := filepath.Join(dir, "state"), filepath.Join(dir, "keys", "master.key")
	flags := []string{"--config", cfg, "--state-dir", state, "--master-key-file", mk}

	out, errOut, keyID, secret := initCore(t, flags...)
	for _, want := range []string{"account 123456789012", "create-user --user-name admin", "AdministratorAccess", "delete-access-key --access-key-id " + keyID} {
		if !strings.Contains(out, want) {
			t.Errorf("core init's advice lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "Made a new master key in "+mk) {
		t.Errorf("stderr = %q", errOut)
	}
	for path, mode := range map[string]os.FileMode{filepath.Join(state, "core.db"): 0o600, mk: 0o600, state: 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", path, err, st.Mode().Perm(), mode)
		}
	}
	raw, err := os.ReadFile(filepath.Join(state, "core.db"))
	if err != nil || bytes.Contains(raw, []byte(secret)) {
		t.Errorf("the store file holds the root secret in clear (%v)", err)
	}
	// The key printed is the one the store holds, for the root user.
	st, err := store.OpenFile(context.Background(), filepath.Join(state, "core.db"), store.FileKey(mk))
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.LookupAccessKey(context.Background(), keyID)
	st.Close()
	if err != nil || k.Secret != secret || k.UserName != account.RootUserName {
		t.Fatalf("stored key %s: user %s, secret matches %v, %v", keyID, k.UserName, k.Secret == secret, err)
	}

	_, _, err = runCLI(t, "", append([]string{"core", "init"}, flags...)...)
	if err == nil || !strings.Contains(err.Error(), "already holds a core") {
		t.Fatalf("second init: %v", err)
	}
	// Its hint is a command that works as printed.
	hint := regexp.MustCompile("`credbroker (core export[^`]*)`").FindStringSubmatch(err.Error())
	if hint == nil {
		t.Fatalf("second init's hint: %v", err)
	}
	hintArgs, herr := exec.Command("sh", "-c", `for a in `+hint[1]+`; do printf '%s\n' "$a"; done`).Output()
	if herr != nil {
		t.Fatal(herr)
	}
	if out, errOut, err := runCLI(t, "", strings.Split(strings.TrimSpace(string(hintArgs)), "\n")...); err != nil || !strings.Contains(out, "UserDetailList") {
		t.Errorf("the hint %q: %v\n%s", hint[1], err, errOut)
	}

	// Import a real account's GAAD, export it back.
	in := filepath.Join("..", "..", "sts", "gaad", "testdata", "get-account-authorization-details.json")
	out, errOut, err = runCLI(t, "", append([]string{"core", "import", in}, flags...)...)
	// 5 policies in the document, 2 of them AWS managed (not imported).
	if want := "Imported 3 users, 2 groups, 4 roles and 3 customer managed policies into account 123456789012. " +
		"The 2 AWS managed policies listed were not imported (the core has its own).\n"; err != nil || out != want {
		t.Fatalf("import: %q %v", out, err)
	}
	// Every AWS managed policy is built in (ReadOnlyAccess among those the account
	// attaches): nothing to warn of.
	if strings.Contains(errOut, "does not hold these AWS managed policies") {
		t.Errorf("import warns of AWS managed policies the core holds: %q", errOut)
	}
	out, _, err = runCLI(t, "", append([]string{"core", "export"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gaad.Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := gaad.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(summarize(got), summarize(want)); diff != "" {
		t.Errorf("export after import (-got +want):\n%s", diff)
	}
	exported := filepath.Join(dir, "out.json")
	if _, _, err := runCLI(t, "", append([]string{"core", "export", "-o", exported}, flags...)...); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(exported); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export -o: %v %v", err, st.Mode())
	}

	other := strings.ReplaceAll(out, "123456789012", "111122223333")
	if _, _, err := runCLI(t, other, append([]string{"core", "import", "-"}, flags...)...); err == nil || !strings.Contains(err.Error(), "account 111122223333") {
		t.Errorf("import of another account: %v", err)
	}
	if _, _, err := runCLI(t, "", "core", "export", "--config", cfg, "--state-dir", filepath.Join(dir, "none"), "--master-key-file", mk); err == nil || !strings.Contains(err.Error(), "core init") {
		t.Errorf("export without a core: %v", err)
	}
	// A wrong master key opens nothing.
	wrong := filepath.Join(dir, "wrong.key")
	if err := store.WriteKeyFile(wrong, bytes.NewReader(bytes.Repeat([]byte{7}, 32))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", "core", "export", "--config", cfg, "--state-dir", state, "--master-key-file", wrong); err == nil {
		t.Error("export with the wrong master key succeeded")
	}
	// --master-key-file applies the rule of the config's source = "file": a key
	// its group may read is refused.
	if err := os.Chmod(mk, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "", append([]string{"core", "export"}, flags...)...); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("export with a group-readable master key: %v", err)
	}
}

// TestCoreInitKeyring keeps the master key (the config's default source) and the
// root key in the kernel keyring: nothing secret is printed.
func TestCoreInitKeyring(t *testing.T) {
	root, cfg := keysEnv(t)
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	state := filepath.Join(root, "state")
	out, errOut, err := runCLI(t, "", "core", "init", "--config", cfg, "--state-dir", state, "--keyring", "core-root")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	if printedKey.MatchString(out) || !strings.Contains(out, `as "core-root"`) {
		t.Fatalf("init with --keyring printed:\n%s", out)
	}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.Open(keystore.FromConfig(c.Keyring))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.Get("core-root")
	if err != nil || !strings.HasPrefix(k.AccessKeyID, "AKIA") || strings.Contains(out, k.SecretAccessKey) {
		t.Fatalf("keyring entry: %v %v", k, err)
	}
	mk, err := keystore.NewMasterKey(c.Upstream.MasterKey, ks)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenFile(context.Background(), filepath.Join(state, "core.db"), mk)
	if err != nil {
		t.Fatalf("the store does not open with the keyring's master key: %v", err)
	}
	defer st.Close()
	if got, err := st.LookupAccessKey(context.Background(), k.AccessKeyID); err != nil || got.Secret != k.SecretAccessKey {
		t.Errorf("root key in the store: %v", err)
	}
	if _, _, err := runCLI(t, "", "core", "init", "--config", cfg, "--state-dir", filepath.Join(root, "state2"), "--keyring", "core-root"); err == nil ||
		!strings.Contains(err.Error(), "already in the") {
		t.Errorf("init over an existing keyring entry: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "state2", "core.db")); err == nil {
		t.Error("a refused init left a store behind")
	}
}

// summarize keeps what a round trip must keep: names, ARNs, ids, attachments,
// documents.
func summarize(d *gaad.Document) map[string]string {
	m := map[string]string{}
	for _, u := range d.UserDetailList {
		m["user "+u.Arn] = u.UserID + " " + strings.Join(u.GroupList, ",") + " " + u.CreateDate.String()
		for _, p := range u.UserPolicyList {
			m["user policy "+u.UserName+"/"+p.PolicyName] = string(p.PolicyDocument)
		}
	}
	for _, g := range d.GroupDetailList {
		m["group "+g.Arn] = g.GroupID
		for _, p := range g.AttachedManagedPolicies {
			m["group attached "+g.GroupName+" "+p.PolicyArn] = p.PolicyName
		}
	}
	for _, r := range d.RoleDetailList {
		m["role "+r.Arn] = r.RoleID + " " + string(r.AssumeRolePolicyDocument)
		for _, ip := range r.InstanceProfileList {
			m["profile "+ip.Arn] = ip.InstanceProfileID
		}
	}
	for _, p := range d.Policies {
		if account.IsAWSManagedPolicyARN(p.Arn) { // the core's own catalog, not the account's
			continue
		}
		for _, v := range p.PolicyVersionList {
			m["policy "+p.Arn+" "+v.VersionID] = string(v.Document)
		}
	}
	return m
}

// An import names the AWS managed policies the built-in catalog lacks (a policy AWS
// published after the catalog was generated), and only those.
func TestUnknownManaged(t *testing.T) {
	doc := &gaad.Document{UserDetailList: []gaad.UserDetail{{AttachedManagedPolicies: []gaad.AttachedPolicy{
		{PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{PolicyArn: "arn:aws:iam::aws:policy/AWSPolicyPublishedTomorrow"},
		{PolicyArn: "arn:aws:iam::123456789012:policy/Mine"},
	}}}}
	got, err := unknownManaged(doc)
	if err != nil || len(got) != 1 || got[0] != "arn:aws:iam::aws:policy/AWSPolicyPublishedTomorrow" {
		t.Errorf("unknownManaged = %v, %v", got, err)
	}
}

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
	if err := signIn(t, filepath.Join(state, "core.db"), mk, first); err != nil {
		t.Fatalf("root signs in with %s: %v", "first", err)
	}

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
	if err := signIn(t, filepath.Join(state, "core.db"), mk, first); !errors.Is(err, sts.ErrMFARequired) {
		t.Fatalf("root signs in with %s: %v, want %v", "first", err, sts.ErrMFARequired)
	}
	if out, err = core("", "root-password", "--root-password-file", pwFile, "--deactivate-mfa"); err != nil ||
		!strings.Contains(out, "1 MFA device(s) removed") || strings.Contains(out, second) {
		t.Fatalf("root-password: %v\n%s", err, out)
	}
	if err := signIn(t, filepath.Join(state, "core.db"), mk, first); !errors.Is(err, sts.ErrSignInFailed) {
		t.Fatalf("root signs in with %s: %v, want %v", "first", err, sts.ErrSignInFailed)
	}
	if err := signIn(t, filepath.Join(state, "core.db"), mk, second); err != nil {
		t.Fatalf("root signs in with %s: %v", "second", err)
	}
	// Without a terminal or a file, root-password refuses to guess.
	if out, err := core("", "root-password"); err == nil || !strings.Contains(err.Error(), "--root-password-file") {
		t.Errorf("root-password without a password: %v\n%s", err, out)
	}
}

// signIn signs the root user in to the core in the store at path with password,
// as the console does.
func signIn(t *testing.T, path, mk, password string) error {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenFile(ctx, path, store.FileKey(mk))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := sts.New(ctx, st)
	if err == nil {
		defer c.Close()
		_, err = c.SignIn(ctx, sts.SignInInput{UserName: account.RootUserName, Password: password})
	}
	return err
}
