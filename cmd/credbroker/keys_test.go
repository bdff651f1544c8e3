package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/internal/awsfake"
)

const (
	cliKeyID  = "AKIAIOSFODNN7EXAMPLE"
	cliSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// runCLI executes the CLI with stdin and returns stdout, stderr and the error.

// keysEnv points HOME, TMPDIR and the XDG directories into a fresh
// directory, writes a config whose keyring is a named kernel keyring of
// its own (removed at the end), and returns the directory and the config's path.
func keysEnv(t *testing.T) (root, cfgPath string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the kernel keyring is Linux's")
	}
	root = t.TempDir()
	for _, v := range []string{"HOME", "TMPDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"} {
		dir := filepath.Join(root, strings.ToLower(v))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Setenv(v, dir)
	}
	for _, v := range []string{"DBUS_SESSION_BUS_ADDRESS", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "CREDBROKER_CONFIG"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	b := make([]byte, 4)
	rand.Read(b)
	cfgPath = filepath.Join(root, "credbroker.hcl")
	name := fmt.Sprintf("cb-cli-test-%x", b)
	t.Cleanup(func() {
		id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", name, 0)
		if err == nil {
			unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		}
	})
	writeKeyringConfig(t, cfgPath, fmt.Sprintf("backend = \"keyctl\"\n  keyctl_scope = \"user\"\n  name = %q", name))
	return root, cfgPath
}

func writeKeyringConfig(t *testing.T, path, keyring string) {
	t.Helper()
	cfg := "region = \"eu-west-1\"\nkeyring {\n  " + keyring + "\n}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeysAddListRotateRemove(t *testing.T) { onEachKeysBackend(t, testKeysAddListRotateRemove) }

// testKeysAddListRotateRemove: the whole life of two keys in the keyring
// setUp makes.
func testKeysAddListRotateRemove(t *testing.T, setUp keysBackend) {
	root, cfg := keysEnv(t)
	fake := awsfake.New()
	fake.AddUser("alice", cliKeyID, cliSecret)
	fake.SetNewKeyDelay(1)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_IAM", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	desc := setUp(t, root, cfg)

	// The secret on argv is refused outright.
	if _, _, err := runCLI(t, "", "keys", "add", "alice", cliSecret, "--config", cfg); err == nil {
		t.Fatal("keys add accepted a second argument")
	}
	out, _, err := runCLI(t, cliKeyID+"\n"+cliSecret+"\n", "keys", "add", "alice", "--config", cfg)
	if err != nil || !strings.Contains(out, `Stored AKIAIOSFODNN7EXAMPLE as "alice" in the `+desc) {
		t.Fatalf("add: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, cliKeyID+"\n"+cliSecret+"\n", "keys", "add", "alice", "--config", cfg); err == nil || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("second add: %v", err)
	}
	bob := `{"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIABOBBOBBOBBOBBOB1", "Status": "Active", "SecretAccessKey": "bobsecretbobsecret", "CreateDate": "2025-01-01T00:00:00Z"}}`
	// --check, before IAM makes a key: a free name passes, a taken one fails.
	if out, _, err := runCLI(t, "", "keys", "add", "--check", "bob", "--config", cfg); err != nil || !strings.Contains(out, `"bob" is free`) {
		t.Errorf("add --check of a free name: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "", "keys", "add", "--check", "alice", "--config", cfg); err == nil || !strings.Contains(err.Error(), "already in the") {
		t.Errorf("add --check of a taken name: %v", err)
	}
	if _, _, err := runCLI(t, bob, "keys", "add", "bob", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	// A key piped to a taken name: refused, named, with the command that
	// deletes it from IAM; the secret is not quoted.
	piped := strings.ReplaceAll(bob, "AKIABOBBOBBOBBOBBOB1", "AKIABOBBOBBOBBOBBOB2")
	_, _, err = runCLI(t, piped, "keys", "add", "bob", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "aws iam delete-access-key --user-name 'bob' --access-key-id AKIABOBBOBBOBBOBBOB2") ||
		strings.Contains(err.Error(), "bobsecretbobsecret") {
		t.Errorf("add of a key to a taken name: %v", err)
	}

	out, _, err = runCLI(t, "", "keys", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, "alice  AKIAIOSFODNN7EXAMPLE") || !strings.Contains(out, "bob    AKIABOBBOBBOBBOBBOB1") || strings.Contains(out, "secret") || strings.Contains(out, cliSecret) {
		t.Fatalf("list:\n%s%v", out, err)
	}

	out, _, err = runCLI(t, "", "keys", "rotate", "alice", "--config", cfg)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	keys := fake.Keys("alice")
	if len(keys) != 1 || keys[0] == cliKeyID || !strings.Contains(out, keys[0]+" replaces "+cliKeyID) || !strings.Contains(out, "arn:aws:iam::123456789012:user/alice") {
		t.Fatalf("rotate printed %q; IAM keys %v", out, keys)
	}

	out, _, err = runCLI(t, "", "keys", "list", "-o", "json", "--config", cfg)
	var rows []struct {
		Name        string `json:"name"`
		AccessKeyID string `json:"access_key_id"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[0].AccessKeyID != keys[0] {
		t.Fatalf("list after rotate: %s %v", out, err)
	}

	for _, name := range []string{"alice", "bob"} {
		if out, _, err := runCLI(t, "", "keys", "remove", name, "--config", cfg); err != nil || !strings.Contains(out, "Removed") {
			t.Fatalf("remove %s: %q %v", name, out, err)
		}
	}
	if out, _, _ := runCLI(t, "", "keys", "list", "--config", cfg); !strings.Contains(out, "No keys") {
		t.Errorf("list after remove: %q", out)
	}
	if _, _, err := runCLI(t, "", "keys", "remove", "alice", "--config", cfg); err == nil {
		t.Error("removing a missing key succeeded")
	}

	// Nothing under HOME, TMPDIR or the XDG directories holds a secret
	// (the Secret Service's and pass's encrypted stores are there too).
	secrets := []string{cliSecret, "bobsecretbobsecret", fake.Secret(keys[0])}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret", p)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeysBadInput(t *testing.T) {
	_, cfg := keysEnv(t)
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"one line":      {cliKeyID, []string{"keys", "add", "alice"}, "two lines"},
		"session key":   {"ASIAIOSFODNN7EXAMPLE\n" + cliSecret, []string{"keys", "add", "alice"}, "temporary"},
		"bad name":      {"", []string{"keys", "add", "a/b"}, "not a key name"},
		"bad backend":   {"", []string{"keys", "list", "--keyring-backend", "vault"}, "--keyring-backend"},
		"bad scope":     {"", []string{"keys", "list", "--keyctl-scope", "global"}, "--keyctl-scope"},
		"rotate absent": {"", []string{"keys", "rotate", "nobody"}, "credbroker keys add nobody"},
	} {
		_, _, err := runCLI(t, tc.stdin, append(tc.args, "--config", cfg)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), cliSecret) {
			t.Errorf("%s: the error quotes the secret", name)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	os.WriteFile(bad, []byte("keyring { backend = \"kwallet\" }\n"), 0o600)
	if _, _, err := runCLI(t, "", "keys", "list", "--config", bad); err == nil || !strings.Contains(err.Error(), "bad.hcl:1:21") {
		t.Errorf("a bad config: %v", err)
	}
}
