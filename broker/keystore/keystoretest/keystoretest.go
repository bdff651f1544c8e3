// Package keystoretest starts the real keyring services the keystore
// backends talk to, for tests: GNOME Keyring's Secret Service on a private
// D-Bus session bus, and a pass store encrypted to a throwaway GPG key in a
// temporary GNUPGHOME. A test that cannot have them skips, saying which
// Debian package to install (CI installs them all).
package keystoretest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/credbroker/credbroker/internal/testtool"
)

// SecretService is a running GNOME Keyring Secret Service on a D-Bus
// session bus of its own.
type SecretService struct {
	// Addr is the bus's address, for DBUS_SESSION_BUS_ADDRESS.
	Addr string
	// Password unlocks the login collection.
	Password string
	conn     *dbus.Conn
	dataHome string
	gk       *exec.Cmd
}

// StartSecretService starts dbus-daemon and `gnome-keyring-daemon --unlock
// --components=secrets` (the login password on its stdin), with the
// keyring's files under dataHome/keyrings, and stops both at the end of
// the test. The login collection is the default one and is unlocked.
func StartSecretService(t testing.TB, dataHome string) *SecretService {
	t.Helper()
	testtool.Need(t, "dbus-daemon", "gnome-keyring-daemon=gnome-keyring")
	s := StartBus(t)
	s.dataHome = dataHome
	s.start(t)
	return s
}

// Restart stops gnome-keyring-daemon and starts it again on the same bus
// and files (unlocked with the login password), as after a crash or a
// log-out and in: clients' sessions with the old one are gone.
func (s *SecretService) Restart(t testing.TB) {
	t.Helper()
	gone := s.ownerChanges(t)
	defer s.conn.RemoveSignal(gone)
	s.gk.Process.Kill()
	s.gk.Wait()
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("org.freedesktop.secrets still owned 30 s after killing gnome-keyring-daemon")
	}
	s.start(t)
}

// ownerChanges delivers the next change of owner of the service's name.
func (s *SecretService) ownerChanges(t testing.TB) chan *dbus.Signal {
	t.Helper()
	if err := s.conn.AddMatchSignal(dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, "org.freedesktop.secrets")); err != nil {
		t.Fatal(err)
	}
	ch := make(chan *dbus.Signal, 4)
	s.conn.Signal(ch)
	return ch
}

// start starts gnome-keyring-daemon and waits until it owns its name.
func (s *SecretService) start(t testing.TB) {
	t.Helper()
	run := shortTempDir(t, "gk")
	// Wait for the service's name by the bus's own signal, not by polling.
	owned := s.ownerChanges(t)
	defer s.conn.RemoveSignal(owned)

	gk := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	gk.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+s.Addr, "XDG_DATA_HOME="+s.dataHome, "XDG_RUNTIME_DIR="+run)
	gk.Stdin = strings.NewReader(s.Password)
	var gkErr bytes.Buffer
	gk.Stdout, gk.Stderr = io.Discard, &gkErr
	if err := gk.Start(); err != nil {
		t.Fatalf("starting gnome-keyring-daemon: %v", err)
	}
	s.gk = gk
	t.Cleanup(func() { gk.Process.Kill(); gk.Wait() })
	select {
	case <-owned:
	case <-time.After(30 * time.Second):
		t.Fatalf("gnome-keyring-daemon did not take org.freedesktop.secrets in 30 s: %s", gkErr.String())
	}
}

// StartBus starts a private D-Bus session bus (dbus-daemon) with no Secret
// Service on it, stopped at the end of the test.
func StartBus(t testing.TB) *SecretService {
	t.Helper()
	testtool.Need(t, "dbus-daemon")
	run := shortTempDir(t, "bus")
	// A session bus that starts no service on demand (the system's
	// session.conf would activate a gnome-keyring-daemon of its own).
	conf := filepath.Join(run, "bus.conf")
	if err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(run, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bus := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bus.Stderr = io.Discard // "Failed to set fd limit" as root
	if err := bus.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	s := &SecretService{Addr: strings.TrimSpace(line), Password: "login-password-of-the-test"}
	s.conn, err = dbus.Connect(s.Addr)
	if err != nil {
		t.Fatalf("connecting to the test bus: %v", err)
	}
	t.Cleanup(func() { s.conn.Close() })
	return s
}

// Collection is the collection of an alias ("default", "login").
func (s *SecretService) Collection(t testing.TB, alias string) dbus.ObjectPath {
	t.Helper()
	var p dbus.ObjectPath
	if err := s.conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.ReadAlias", 0, alias).Store(&p); err != nil || p == "/" {
		t.Fatalf("no collection of alias %q: %v", alias, err)
	}
	return p
}

// Lock locks the collection of alias, as the desktop does on a screen lock
// or on `seahorse` Lock.
func (s *SecretService) Lock(t testing.TB, alias string) {
	t.Helper()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{s.Collection(t, alias)}).Store(&locked, &prompt); err != nil {
		t.Fatalf("locking %s: %v", alias, err)
	}
	if len(locked) != 1 || prompt != "/" {
		t.Fatalf("locking %s: locked %v, prompt %s", alias, locked, prompt)
	}
}

// Unlock unlocks the collection of alias with its password, through GNOME
// Keyring's own interface for that (the one its tools use): there is no
// prompter in a test.
func (s *SecretService) Unlock(t testing.TB, alias, password string) {
	t.Helper()
	if err := s.internal().Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		s.Collection(t, alias), s.plainSecret(t, password)).Err; err != nil {
		t.Fatalf("unlocking %s: %v", alias, err)
	}
}

// CreateCollection makes a collection labelled label with a password,
// without a prompt, and returns its path.
func (s *SecretService) CreateCollection(t testing.TB, label, password string) dbus.ObjectPath {
	t.Helper()
	var p dbus.ObjectPath
	props := map[string]dbus.Variant{"org.freedesktop.Secret.Collection.Label": dbus.MakeVariant(label)}
	if err := s.internal().Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.CreateWithMasterPassword", 0,
		props, s.plainSecret(t, password)).Store(&p); err != nil {
		t.Fatalf("creating collection %q: %v", label, err)
	}
	return p
}

func (s *SecretService) internal() dbus.BusObject {
	return s.conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
}

type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// plainSecret wraps a password in a session without transport encryption:
// it only ever travels over the test's private bus.
func (s *SecretService) plainSecret(t testing.TB, password string) secret {
	t.Helper()
	var out dbus.Variant
	var sess dbus.ObjectPath
	if err := s.internal().Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &sess); err != nil {
		t.Fatalf("opening a plain session: %v", err)
	}
	return secret{Session: sess, Value: []byte(password), ContentType: "text/plain"}
}

// Pass is a pass store encrypted to a throwaway GPG key.
type Pass struct {
	// Dir is the store (PASSWORD_STORE_DIR).
	Dir string
	// GNUPGHOME holds the throwaway key (without a passphrase).
	GNUPGHOME string
	// KeyID is the key's fingerprint.
	KeyID string
}

// StartPass makes a GPG key in a new GNUPGHOME and a pass store at dir
// encrypted to it, and sets $GNUPGHOME for the rest of the test (pass and
// gpg read it). gpg-agent, started by gpg, is stopped at the end.
func StartPass(t testing.TB, dir string) *Pass {
	t.Helper()
	return StartPassLocked(t, dir, "")
}

// StartPassLocked is StartPass with a GPG key protected by passphrase,
// which gpg-agent does not hold (its cache is flushed): decrypting needs
// the passphrase, as after a desktop's agent timed out.
func StartPassLocked(t testing.TB, dir, passphrase string) *Pass {
	t.Helper()
	testtool.Need(t, "pass", "gpg=gnupg", "gpg-agent", "gpgconf=gnupg")
	p := &Pass{Dir: dir, GNUPGHOME: shortTempDir(t, "gpg")}
	t.Setenv("GNUPGHOME", p.GNUPGHOME)
	t.Cleanup(func() { exec.Command("gpgconf", "--kill", "gpg-agent").Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The agent calibrates its passphrase hashing to 100 ms of a busy
	// machine's CPU, which made key generation take 13 s here: a fixed,
	// small count is plenty for a throwaway key.
	if err := os.WriteFile(filepath.Join(p.GNUPGHOME, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gen := exec.CommandContext(ctx, "gpg", "--batch", "--pinentry-mode=loopback", "--passphrase-fd", "0",
		"--quick-gen-key", "credbroker test <test@credbroker.invalid>", "future-default", "default", "never")
	gen.Stdin = strings.NewReader(passphrase + "\n")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gpg --quick-gen-key: %v\n%s", err, out)
	}
	if passphrase != "" {
		// SIGHUP: gpg-agent forgets every cached passphrase.
		if out, err := exec.CommandContext(ctx, "gpgconf", "--reload", "gpg-agent").CombinedOutput(); err != nil {
			t.Fatalf("gpgconf --reload gpg-agent: %v\n%s", err, out)
		}
	}
	out, err := exec.CommandContext(ctx, "gpg", "--batch", "--with-colons", "--list-secret-keys").Output()
	if err != nil {
		t.Fatalf("gpg --list-secret-keys: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			p.KeyID = f[9]
			break
		}
	}
	if p.KeyID == "" {
		t.Fatalf("no fingerprint in gpg's listing:\n%s", out)
	}
	init := exec.CommandContext(ctx, "pass", "init", p.KeyID)
	init.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+dir)
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("pass init: %v\n%s", err, out)
	}
	return p
}

// shortTempDir is a temporary directory with a short path: UNIX socket
// paths (the bus's, gpg-agent's) are limited to about 100 bytes.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", "cb-"+prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// Env is the environment for a child process of the test (the daemon, the
// CLI) to use the Secret Service of s.
func (s *SecretService) Env() []string {
	return []string{fmt.Sprintf("DBUS_SESSION_BUS_ADDRESS=%s", s.Addr)}
}

// Prompts records, from now until the test ends, every call on the bus
// that would show the person a dialog: Unlock and CreateCollection on the
// service, and Prompt on a prompt object. calls returns them so far.
func (s *SecretService) Prompts(t testing.TB) (calls func() []string) {
	t.Helper()
	mon, err := dbus.Connect(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Close() })
	const sentinel = "CredbrokerTestSentinel"
	rules := []string{
		"type='method_call',interface='org.freedesktop.Secret.Service',member='Unlock'",
		"type='method_call',interface='org.freedesktop.Secret.Service',member='CreateCollection'",
		"type='method_call',interface='org.freedesktop.Secret.Prompt'",
		"type='method_call',member='" + sentinel + "'",
	}
	if err := mon.BusObject().Call("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, rules, uint32(0)).Err; err != nil {
		t.Fatalf("BecomeMonitor: %v", err)
	}
	ch := make(chan *dbus.Message, 64)
	mon.Eavesdrop(ch)
	var mu sync.Mutex
	var seen []string
	marks := make(chan struct{}, 1)
	go func() {
		for m := range ch {
			if m.Type != dbus.TypeMethodCall {
				continue // the bus's own NameLost to a new monitor
			}
			iface, _ := m.Headers[dbus.FieldInterface].Value().(string)
			member, _ := m.Headers[dbus.FieldMember].Value().(string)
			if member == sentinel {
				marks <- struct{}{}
				continue
			}
			mu.Lock()
			seen = append(seen, iface+"."+member)
			mu.Unlock()
		}
	}()
	return func() []string {
		// The bus hands the monitor messages in the order it routes them:
		// once it has seen a sentinel sent now, it has seen every call
		// made before.
		s.conn.BusObject().Go("org.freedesktop.DBus."+sentinel, dbus.FlagNoReplyExpected, nil)
		select {
		case <-marks:
		case <-time.After(10 * time.Second):
			t.Error("the bus monitor did not see the sentinel call in 10 s")
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
