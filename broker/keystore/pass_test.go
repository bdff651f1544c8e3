package keystore

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// TestPassLockedKey: a GPG key whose passphrase gpg-agent does not hold
// makes reads ErrLocked with the fix in words, and no pinentry is run
// (the daemon has no way to ask); writes, which need only the public key,
// still work.
func TestPassLockedKey(t *testing.T) {
	p := keystoretest.StartPassLocked(t, t.TempDir(), "gpg key passphrase of the test")
	s := openPass(t, p, uniqueName(t))
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(); !errors.Is(err, ErrLocked) {
		t.Errorf("List (which reads each key's id) with the GPG key locked: %v, want ErrLocked", err)
	}
	_, err := s.Get("alice")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Get with the GPG key locked: %v, want ErrLocked", err)
	}
	for _, words := range []string{"needs its passphrase", "never asks", "gpg-agent caches it", p.Dir} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("%q lacks %q", err, words)
		}
	}
}

// TestPassNoAgent: gpg without a gpg-agent says so, and the fix.
func TestPassNoAgent(t *testing.T) {
	p := keystoretest.StartPass(t, t.TempDir())
	s := openPass(t, p, uniqueName(t))
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	// The agent stops, and gpg cannot start another (as when Debian's
	// gpg-agent package is missing).
	if out, err := exec.Command("gpgconf", "--kill", "gpg-agent").CombinedOutput(); err != nil {
		t.Fatalf("gpgconf --kill gpg-agent: %v\n%s", err, out)
	}
	t.Setenv("PASSWORD_STORE_GPG_OPTS", "--agent-program=/nonexistent/gpg-agent")
	_, err := s.Get("alice")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get without gpg-agent: %v", err)
	}
	for _, words := range []string{"could not reach gpg-agent", "apt-get install gpg-agent", "gpgconf --launch gpg-agent"} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("%q lacks %q", err, words)
		}
	}
}

// TestPassNotSetUp: a store without `pass init`, and no pass program.
func TestPassNotSetUp(t *testing.T) {
	keystoretest.StartPass(t, t.TempDir())
	s, err := Open(func(o *Options) { o.Backend, o.PassDir = config.BackendPass, t.TempDir() })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err == nil || !strings.Contains(err.Error(), "pass init") {
		t.Errorf("Put into a store without .gpg-id: %v", err)
	}
	if _, err := Open(func(o *Options) { o.Backend, o.PassCmd = config.BackendPass, "/nonexistent/pass" }); err == nil || !strings.Contains(err.Error(), "apt-get install pass") {
		t.Errorf("no pass program: %v", err)
	}
}

// FuzzPassExplain feeds the reading of pass's and gpg's stderr anything:
// an error always comes out, quoting at most stderr's last line.
func FuzzPassExplain(f *testing.F) {
	for _, s := range []string{"", "gpg: decryption failed: No secret key", "Error: x is not in the password store.",
		"gpg: can't connect to the agent: IPC connect call failed", "Error: You must run: pass init"} {
		f.Add("earlier line", s)
	}
	p := &passStore{dir: "/nonexistent", prefix: "p"}
	f.Fuzz(func(t *testing.T, earlier, last string) {
		const mark = "EARLIER-LINE-MARK"
		if strings.Contains(last, mark) || strings.TrimSpace(last) == "" {
			return
		}
		stderr := mark + strings.ReplaceAll(earlier, "\n", " ") + "\n" + last
		err := p.explain("show", stderr, errors.New("exit status 2"))
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), mark) {
			t.Fatalf("quoted more than the last line: %q", err)
		}
	})
}
