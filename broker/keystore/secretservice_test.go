package keystore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// noDBusPath fails t when msg shows a D-Bus object path: messages say
// what happened in words.
func noDBusPath(t *testing.T, what, msg string) {
	t.Helper()
	if strings.Contains(msg, "/org/freedesktop") || strings.Contains(msg, "“/”") || strings.Contains(msg, `"/"`) {
		t.Errorf("%s: the message shows a D-Bus path: %s", what, msg)
	}
}

// TestSecretServiceLocked locks the default collection under a Store in
// use: reads, writes and lists are ErrLocked with the fix in words, no
// dialog is ever asked for, and the same Store works again once the
// collection is unlocked.
func TestSecretServiceLocked(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	prompts := ss.Prompts(t)
	s := openSecretService(t, ss, uniqueName(t), "")
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	ss.Lock(t, "default")
	for op, fn := range map[string]func() error{
		"Get":    func() error { _, err := s.Get("alice"); return err },
		"List":   func() error { _, err := s.List(); return err },
		"Put":    func() error { return s.Put("bob", Key{AccessKeyID: testID, SecretAccessKey: testSecret}) },
		"Remove": func() error { return s.Remove("alice") },
	} {
		err := fn()
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("%s on a locked collection: %v, want ErrLocked", op, err)
		}
		for _, words := range []string{`"Login"`, "is locked", "unlock it", "never opens"} {
			if !strings.Contains(err.Error(), words) {
				t.Errorf("%s: %q lacks %q", op, err, words)
			}
		}
		noDBusPath(t, op, err.Error())
	}
	if p := prompts(); len(p) != 0 {
		t.Errorf("the keystore asked for dialogs: %v", p)
	}
	ss.Unlock(t, "default", ss.Password)
	if k, err := s.Get("alice"); err != nil || k.SecretAccessKey != testSecret {
		t.Fatalf("after unlock, the same store: %v", err)
	}
}

// TestSecretServiceCollections: the default collection is the login
// keyring; a named one is found by alias or label; a missing one is an
// error that says how to make it, and nothing tries to create it.
func TestSecretServiceCollections(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	prompts := ss.Prompts(t)
	name := uniqueName(t)

	def := openSecretService(t, ss, name, "")
	if def.String() != "Secret Service default collection" {
		t.Errorf("described as %q", def)
	}
	if err := def.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	// The login collection by its alias is the same one.
	if k, err := openSecretService(t, ss, name, "login").Get("alice"); err != nil || k.SecretAccessKey != testSecret {
		t.Errorf("alias login: %v", err)
	}

	ss.CreateCollection(t, "Work", "work-password")
	work := openSecretService(t, ss, name, "Work")
	if err := work.Put("bob", Key{AccessKeyID: "AKIABOBBOBBOBBOBBOB1", SecretAccessKey: "bobsecretbobsecret"}); err != nil {
		t.Fatal(err)
	}
	if l, err := work.List(); err != nil || len(l) != 1 || l[0].Name != "bob" {
		t.Errorf("the Work collection lists %v, %v", l, err)
	}
	if l, err := def.List(); err != nil || len(l) != 1 || l[0].Name != "alice" {
		t.Errorf("the default collection lists %v, %v", l, err)
	}

	missing := openSecretService(t, ss, name, "credbroker")
	_, err := missing.Get("alice")
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing collection: %v", err)
	}
	for _, words := range []string{`no collection "credbroker"`, "does not create one", "Passwords and Keys", "remove `collection`"} {
		if !strings.Contains(err.Error(), words) {
			t.Errorf("%q lacks %q", err, words)
		}
	}
	noDBusPath(t, "missing collection", err.Error())
	if err := missing.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err == nil || !strings.Contains(err.Error(), "does not create one") {
		t.Errorf("Put into a missing collection: %v", err)
	}
	if p := prompts(); len(p) != 0 {
		t.Errorf("the keystore asked for dialogs: %v", p)
	}
}

// TestSecretServiceAbsent: no bus, and a bus without a Secret Service,
// are errors that say what to start or choose.
func TestSecretServiceAbsent(t *testing.T) {
	none, err := Open(func(o *Options) {
		o.Backend, o.Getenv = config.BackendSecretService, func(string) string { return "" }
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Get("alice"); err == nil || !strings.Contains(err.Error(), "no D-Bus session bus") || !strings.Contains(err.Error(), `backend = "keyctl"`) {
		t.Errorf("no bus: %v", err)
	}
	if err := none.Watch(context.Background(), func() {}); err == nil {
		t.Error("Watch without a bus returned nil")
	}

	ss := keystoretest.StartBus(t)
	s := openSecretService(t, ss, uniqueName(t), "")
	_, err = s.List()
	if err == nil || !strings.Contains(err.Error(), "no Secret Service runs") || !strings.Contains(err.Error(), "gnome-keyring-daemon") {
		t.Errorf("a bus without the service: %v", err)
	}
	noDBusPath(t, "no service", err.Error())
}

// TestSecretServiceWatch: Watch tells of a lock and an unlock.
func TestSecretServiceWatch(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	s := openSecretService(t, ss, uniqueName(t), "")
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 64)
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- s.kr.(*secretService).watch(ctx, func() { changed <- struct{}{} }, ready) }()
	<-ready
	for _, step := range []func(){func() { ss.Lock(t, "default") }, func() { ss.Unlock(t, "default", ss.Password) }} {
		for len(changed) > 0 {
			<-changed
		}
		step()
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatal("no change reported in 10 s")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch ended with %v", err)
	}
}

// TestSecretServiceSession checks the transfer encryption against a
// second implementation of its key agreement (the peer's side).
func TestSecretServiceSession(t *testing.T) {
	a, apub, err := dhKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, bpub, err := dhKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	ka, err := dhKey(a, bpub)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := dhKey(b, apub)
	if err != nil || string(ka) != string(kb) || len(ka) != 16 {
		t.Fatalf("the two sides derived different keys: %v", err)
	}
	sa, sb := &ssSession{path: dbus.ObjectPath("/s"), key: ka}, &ssSession{key: kb}
	for _, plain := range []string{"", "x", strings.Repeat("y", 16), `{"secret_access_key":"` + testSecret + `"}`} {
		sec, err := sa.seal([]byte(plain))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(sec.Value), testSecret) {
			t.Error("the sealed secret holds the plain text")
		}
		got, err := sb.open(sec)
		if err != nil || string(got) != plain {
			t.Errorf("round trip of %q: %q, %v", plain, got, err)
		}
	}
	for _, bad := range [][]byte{{0}, {1}, nil} {
		if _, err := dhKey(a, bad); err == nil {
			t.Errorf("peer public value %x accepted", bad)
		}
	}
	if _, err := sb.open(ssSecret{Parameters: make([]byte, 16), Value: make([]byte, 15)}); err == nil {
		t.Error("a 15-byte ciphertext opened")
	}
}

// FuzzSecretServiceOpen feeds the decryption of what the service sends
// anything: it errs or returns, never panics, and what seal makes opens.
func FuzzSecretServiceOpen(f *testing.F) {
	key := make([]byte, 16)
	s := &ssSession{key: key}
	sealed, _ := s.seal([]byte(`{"version":1}`))
	f.Add(sealed.Parameters, sealed.Value, []byte("x"))
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, iv, value, plain []byte) {
		s.open(ssSecret{Parameters: iv, Value: value})
		sec, err := s.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.open(sec); err != nil || string(got) != string(plain) {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	})
}

// TestSecretServiceRestart: a Store in use survives gnome-keyring-daemon
// restarting (its session with the old one is gone): the next call
// connects again.
func TestSecretServiceRestart(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	s := openSecretService(t, ss, uniqueName(t), "")
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	ss.Restart(t)
	if k, err := s.Get("alice"); err != nil || k.SecretAccessKey != testSecret {
		t.Fatalf("after a restart of the service: %v", err)
	}
}

// hung is a Secret Service that never answers OpenSession.
type hung struct{ release chan struct{} }

func (h hung) OpenSession(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	<-h.release
	return dbus.MakeVariant(""), "/", nil
}

// TestSecretServiceHung: a service that does not answer (a dialog it
// waits for, a hang) fails the call after the timeout instead of holding
// the keyring, and every later call, forever.
func TestSecretServiceHung(t *testing.T) {
	bus := keystoretest.StartBus(t)
	conn, err := dbus.Connect(bus.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := hung{release: make(chan struct{})}
	defer close(h.release)
	if err := conn.Export(h, ssPath, ssService); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(ssBus, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("taking %s: %v %v", ssBus, reply, err)
	}
	s := openSecretService(t, bus, uniqueName(t), "")
	s.kr.(*secretService).timeout = 200 * time.Millisecond
	for range 2 {
		start := time.Now()
		_, err := s.Get("alice")
		if err == nil || !strings.Contains(err.Error(), "did not answer in 200ms") {
			t.Errorf("Get from a hung service: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Get took %v with a 200 ms timeout", d)
		}
	}
}
