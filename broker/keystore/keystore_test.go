package keystore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
	"github.com/credbroker/credbroker/internal/masterkey"
	"github.com/credbroker/credbroker/internal/testtool"
)

const (
	testID     = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// uniqueName is a keyring name no other test run uses.
func uniqueName(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("credbroker-test-%d-%x", os.Getpid(), b)
}

func needKeyctl(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the kernel keyring is Linux's")
	}
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_PROCESS_KEYRING, true); err != nil {
		t.Skipf("keyctl unavailable: %v", err)
	}
}

// openKeyctl opens a kernel keyring for a test. Tests use the user scope
// with a unique name, removed at the end: the process and thread keyrings
// hang from per-thread credentials, which the Go runtime's threads do not
// reliably share.
func openKeyctl(t testing.TB, scope, name string) *Store {
	t.Helper()
	if scope == "user" {
		t.Cleanup(func() { unlinkNamed(t, name) })
	}
	s, err := Open(func(o *Options) {
		o.Backend, o.KeyctlScope, o.Name = config.BackendKeyctl, scope, name
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unlinkNamed removes a test's named keyring from the user keyring.
func unlinkNamed(t testing.TB, name string) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", name, 0)
	if err == nil {
		_, err = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	}
	if err != nil && !errors.Is(err, unix.ENOKEY) {
		t.Errorf("cleaning up keyring %s: %v", name, err)
	}
}

// TestKeyctlUserScope stores a key in the user keyring and reads it back
// from another process (the keyctl tool): it is really in the kernel. (What
// every backend does, keyctl included, is TestConformance's.)
func TestKeyctlUserScope(t *testing.T) {
	needKeyctl(t)
	name := uniqueName(t)
	s := openKeyctl(t, "user", name)
	if !strings.Contains(s.String(), "user scope") {
		t.Errorf("the store says %q, not its scope", s)
	}
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	// A second Open (the daemon after `keys add`) finds it.
	if k, err := openKeyctl(t, "user", name).Get("alice"); err != nil || k.SecretAccessKey != testSecret {
		t.Fatalf("second store: %v", err)
	}
	testtool.Need(t, "keyctl=keyutils")
	ring, err := exec.Command("keyctl", "search", "@u", "keyring", name).Output()
	if err != nil {
		t.Fatalf("keyctl search: %v", err)
	}
	id, err := exec.Command("keyctl", "search", strings.TrimSpace(string(ring)), "user", "aws-key:alice").Output()
	if err != nil {
		t.Fatalf("keyctl search: %v", err)
	}
	desc, err := exec.Command("keyctl", "rdescribe", strings.TrimSpace(string(id))).Output()
	if err != nil {
		t.Fatal(err)
	}
	// type;uid;gid;perm;description — possessor and user may read it.
	fields := strings.Split(strings.TrimSpace(string(desc)), ";")
	if len(fields) != 5 || fields[3] != "3f3f0000" {
		t.Errorf("key %s: %q, want perm 3f3f0000 (possessor and user: all)", id, desc)
	}
	payload, err := exec.Command("keyctl", "pipe", strings.TrimSpace(string(id))).Output()
	if err != nil || !bytes.Contains(payload, []byte(testSecret)) {
		t.Errorf("keyctl pipe: %v", err)
	}
}

// TestNoSecretInFiles adds, lists and reads keys with HOME, TMPDIR and the
// XDG directories pointing into a fresh directory, then searches every
// file there for the secret: it must be nowhere (the file backend's
// encrypted files included). The backends: the kernel keyring (auto, with
// no D-Bus session), the file backend, GNOME Keyring's Secret Service
// (its encrypted store and runtime files under the same directories) and
// pass (its store, the throwaway GNUPGHOME and gpg-agent's files too).
func TestNoSecretInFiles(t *testing.T) {
	needKeyctl(t)
	root := t.TempDir()
	for _, v := range []string{"HOME", "TMPDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"} {
		dir := filepath.Join(root, strings.ToLower(v))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Setenv(v, dir)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	name := uniqueName(t)
	t.Cleanup(func() { unlinkNamed(t, name) })

	// The default backend here is the kernel keyring.
	auto, err := Open(func(o *Options) { o.Name = name })
	if err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(t.TempDir(), "passphrase") // outside root: not a secret under test
	if err := os.WriteFile(passFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := Open(func(o *Options) {
		o.Backend, o.FileDir, o.PassphraseFile = config.BackendFile, filepath.Join(os.Getenv("XDG_DATA_HOME"), "credbroker", "keyring"), passFile
	})
	if err != nil {
		t.Fatal(err)
	}
	ss := keystoretest.StartSecretService(t, os.Getenv("XDG_DATA_HOME"))
	secretService := openSecretService(t, ss, name, "")
	passStore := openPass(t, keystoretest.StartPass(t, filepath.Join(os.Getenv("HOME"), ".password-store")), name)
	for _, s := range []*Store{auto, file, secretService, passStore} {
		if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.List(); err != nil {
			t.Fatal(err)
		}
		if k, err := s.Get("alice"); err != nil || k.SecretAccessKey != testSecret {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if auto.Backend() != config.BackendKeyctl {
		t.Errorf("auto picked %q without a D-Bus session", auto.Backend())
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err // directories, and the services' sockets
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, needle := range []string{testSecret, base64.StdEncoding.EncodeToString([]byte(testSecret)), hex.EncodeToString([]byte(testSecret))} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s holds the secret", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Error("the file backend wrote nothing: the search proves nothing")
	}
	// The services' own (encrypted) stores were among the files searched.
	for _, p := range []string{
		filepath.Join(os.Getenv("XDG_DATA_HOME"), "keyrings", "login.keyring"),
		filepath.Join(os.Getenv("HOME"), ".password-store", name, "aws-key:alice.gpg"),
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the search missed a store: %v", err)
		}
	}
}

func TestFileBackendPassphrase(t *testing.T) {
	dir := t.TempDir()
	open := func(fn func(*Options)) *Store {
		s, err := Open(func(o *Options) { o.Backend, o.FileDir = config.BackendFile, dir }, fn)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	prompts := 0
	s := open(func(o *Options) {
		o.Prompt = func(string) (string, error) { prompts++; return "pw-one", nil }
	})
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Get("alice"); err != nil {
			t.Fatal(err)
		}
	}
	if prompts != 1 {
		t.Errorf("%d prompts for one open store, want 1", prompts)
	}
	if _, err := open(func(o *Options) { o.Prompt = nil }).Get("alice"); !errors.Is(err, ErrLocked) {
		t.Errorf("no prompt, no passphrase: %v", err)
	}
	wrong := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(wrong, []byte("pw-two"), 0o600)
	if _, err := open(func(o *Options) { o.PassphraseFile = wrong }).Get("alice"); err == nil {
		t.Error("a wrong passphrase opened the key")
	}
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "kp"), []byte("pw-one\n"), 0o400)
	s2 := open(func(o *Options) {
		o.PassphraseCredential = "kp"
		o.Getenv = func(k string) string { return map[string]string{"CREDENTIALS_DIRECTORY": creds}[k] }
	})
	if k, err := s2.Get("alice"); err != nil || k.AccessKeyID != testID {
		t.Errorf("passphrase from a systemd credential: %v", err)
	}
}

func TestSystemdCredentialsBackend(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "alice"), []byte(testID+"\n"+testSecret+"\n"), 0o400)
	os.WriteFile(filepath.Join(dir, "bob"), []byte(`{"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIABOBBOBBOBBOBBOB1", "Status": "Active", "SecretAccessKey": "bobsecretbobsecret", "CreateDate": "2025-01-01T00:00:00Z"}}`), 0o400)
	os.WriteFile(filepath.Join(dir, "credbroker-master-key"), bytes.Repeat([]byte{7}, 32), 0o400)
	env := func(k string) string { return map[string]string{"CREDENTIALS_DIRECTORY": dir}[k] }
	s, err := Open(func(o *Options) { o.Backend, o.Getenv = config.BackendSystemdCredentials, env })
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 || list[0].Name != "alice" || list[1].AccessKeyID != "AKIABOBBOBBOBBOBBOB1" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if k, err := s.Get("alice"); err != nil || k.SecretAccessKey != testSecret {
		t.Errorf("Get: %v", err)
	}
	if err := s.Put("carol", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err == nil || !strings.Contains(err.Error(), "systemd-creds encrypt") {
		t.Errorf("Put: %v", err)
	}
	if _, err := Open(func(o *Options) {
		o.Backend, o.Getenv = config.BackendSystemdCredentials, func(string) string { return "" }
	}); err == nil {
		t.Error("opened without CREDENTIALS_DIRECTORY")
	}
}

func TestKeyNeverPrintsSecret(t *testing.T) {
	k := Key{AccessKeyID: testID, SecretAccessKey: testSecret, Previous: &Key{AccessKeyID: "AKIAOLD", SecretAccessKey: testSecret}}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if out := fmt.Sprintf(f, k); strings.Contains(out, testSecret) || !strings.Contains(out, testID) {
			t.Errorf("%s prints %q", f, out)
		}
	}
	if out := fmt.Sprintf("%v", []Key{k}); strings.Contains(out, testSecret) {
		t.Errorf("a slice of keys prints %q", out)
	}
}

func TestParseKeyInput(t *testing.T) {
	for name, in := range map[string]string{
		"two lines":       testID + "\n" + testSecret + "\n",
		"crlf and blanks": "\r\n  " + testID + "  \r\n\r\n" + testSecret + "\r\n",
		"create-access-key": `{
    "AccessKey": {
        "UserName": "alice",
        "AccessKeyId": "` + testID + `",
        "Status": "Active",
        "SecretAccessKey": "` + testSecret + `",
        "CreateDate": "2025-01-01T00:00:00+00:00"
    }
}`,
		"flat json":   `{"AccessKeyId": "` + testID + `", "SecretAccessKey": "` + testSecret + `"}`,
		"console csv": "\xef\xbb\xbfAccess key ID,Secret access key\n" + testID + "," + testSecret + "\n",
		"old console": "User name,Password,Access key ID,Secret access key,Console login link\nalice,,\"" + testID + "\"," + testSecret + ",https://x\n",
	} {
		id, secret, err := ParseKeyInput([]byte(in))
		if err != nil || id != testID || secret != testSecret {
			t.Errorf("%s: %q %v", name, id, err)
		}
	}
	for name, tc := range map[string]struct{ in, want string }{
		"empty":     {"  \n", "no key"},
		"one line":  {testID, "two lines"},
		"three":     {"a\nb\nc", "two lines"},
		"temporary": {"ASIAIOSFODNN7EXAMPLE\n" + testSecret, "temporary"},
		"lowercase": {"akiaiosfodnn7example\n" + testSecret, "capital letters"},
		"spaces":    {testID + "\nsecret with spaces inside", "printable"},
		"bad json":  {`{"AccessKey": `, "does not parse"},
		"json keys": {`{"Foo": 1}`, "AccessKeyId"},
	} {
		_, _, err := ParseKeyInput([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestParseKeyInputNeverQuotesTheSecret(t *testing.T) {
	const secret = "Zq9-this-is-the-secret-Zq9"
	for _, in := range []string{
		"ASIAIOSFODNN7EXAMPLE\n" + secret,
		"akia-lowercase\n" + secret,
		testID + "\n" + secret + " with a space",
		testID + "\n" + secret + "\nthird line",
		`{"AccessKey": {"AccessKeyId": "bad id", "SecretAccessKey": "` + secret + `"}}`,
		`{"AccessKey": {"AccessKeyId": "x", "SecretAccessKey": "` + secret + `"`,
		"Access key ID,Secret access key\nlower," + secret + " x",
	} {
		_, _, err := ParseKeyInput([]byte(in))
		if err == nil || strings.Contains(err.Error(), "secret-Zq9") {
			t.Errorf("input %q: error %v", in, err)
		}
	}
}

func FuzzParseKeyInput(f *testing.F) {
	f.Add([]byte(testID + "\n" + testSecret))
	f.Add([]byte(`{"AccessKey":{"AccessKeyId":"` + testID + `","SecretAccessKey":"x y"}}`))
	f.Add([]byte("Access key ID,Secret access key\n" + testID + ",zz"))
	f.Fuzz(func(t *testing.T, in []byte) {
		id, secret, err := ParseKeyInput(in)
		if err != nil {
			return
		}
		if CheckKey(id, secret) != nil {
			t.Fatalf("accepted a key CheckKey refuses")
		}
		// A parsed key written back as two lines parses the same.
		id2, secret2, err := ParseKeyInput([]byte(id + "\n" + secret))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestMasterKey(t *testing.T) {
	needKeyctl(t)
	s := openKeyctl(t, "user", uniqueName(t))
	mk, err := NewMasterKey(config.MasterKey{Source: config.MasterKeyKeyring, Name: "mk"}, s)
	if err != nil {
		t.Fatal(err)
	}
	a, err := mk.MasterKey(context.Background())
	if err != nil || len(a) != masterkey.Size {
		t.Fatalf("%d bytes, %v", len(a), err)
	}
	b, _ := mk.MasterKey(context.Background())
	if !bytes.Equal(a, b) {
		t.Error("the keyring master key changed between calls")
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("the master key shows up as an access key: %+v", list)
	}
	// Reading an existing core: a missing key is an error, and none is made.
	noCreate := func(o *MasterKeyOptions) { o.NoCreate = true }
	if mk, _ := NewMasterKey(config.MasterKey{Source: config.MasterKeyKeyring, Name: "mk"}, s, noCreate); mk != nil {
		if got, err := mk.MasterKey(context.Background()); err != nil || !bytes.Equal(got, a) {
			t.Errorf("NoCreate of an existing key: %v", err)
		}
	}
	other, _ := NewMasterKey(config.MasterKey{Source: config.MasterKeyKeyring, Name: "other"}, s, noCreate)
	if _, err := other.MasterKey(context.Background()); err == nil || !strings.Contains(err.Error(), `no master key "other"`) {
		t.Errorf("NoCreate of a missing key: %v", err)
	}
	if _, err := s.kr.Get(masterPrefix + "other"); err == nil {
		t.Error("NoCreate made a master key")
	}

	dir := t.TempDir()
	key := bytes.Repeat([]byte{0xab}, 32)
	for name, content := range map[string][]byte{
		"raw": key, "hex": []byte(hex.EncodeToString(key) + "\n"), "b64": []byte(base64.StdEncoding.EncodeToString(key)),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, content, 0o600)
		got, err := fileKey(t, p).MasterKey(context.Background())
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		loose := filepath.Join(dir, "loose")
		os.WriteFile(loose, key, mode)
		os.Chmod(loose, mode)
		if _, err := fileKey(t, loose).MasterKey(context.Background()); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("a key file of mode %04o: %v", mode, err)
		}
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	if _, err := fileKey(t, short).MasterKey(context.Background()); err == nil {
		t.Error("a 3-byte key accepted")
	}
	env := func(k string) string { return map[string]string{"CREDENTIALS_DIRECTORY": dir}[k] }
	cred, err := NewMasterKey(config.MasterKey{Source: config.MasterKeyCredential, Name: "raw"}, nil, func(o *MasterKeyOptions) { o.Getenv = env })
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cred.MasterKey(context.Background()); err != nil || !bytes.Equal(got, key) {
		t.Errorf("credential: %v", err)
	}
	if _, err := NewMasterKey(config.MasterKey{Source: config.MasterKeyCredential, Name: "x"}, nil, func(o *MasterKeyOptions) { o.Getenv = func(string) string { return "" } }); err == nil || !strings.Contains(err.Error(), "LoadCredentialEncrypted") {
		t.Errorf("credential without systemd: %v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	s := NewMemory()
	if s.Backend() != BackendMemory {
		t.Fatalf("backend %q", s.Backend())
	}
	if _, err := s.Get("dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty store: %v, want ErrNotFound", err)
	}
	k := Key{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if err := s.Put("dev", k); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("dev")
	if err != nil || got.AccessKeyID != k.AccessKeyID || got.SecretAccessKey != k.SecretAccessKey {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if l, err := s.List(); err != nil || len(l) != 1 || l[0].Name != "dev" {
		t.Fatalf("List = %v, %v", l, err)
	}
	if err := s.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Remove: %v", err)
	}
}

// fileKey is the provider of master_key { source = "file", path = path }.
func fileKey(t *testing.T, path string) MasterKeyProvider {
	t.Helper()
	mk, err := NewMasterKey(config.MasterKey{Source: config.MasterKeyFile, Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mk
}
