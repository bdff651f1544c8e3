package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// backend opens stores of one real backend; name is the keyring name (the
// keyctl keyring, the Secret Service item tag, the pass prefix).
type backend struct {
	want config.Backend
	open func(t *testing.T, name string) *Store
}

// realBackends are the three backends that keep keys in a real service:
// the kernel keyring, GNOME Keyring's Secret Service and pass (gpg). Each
// starts what it needs; one whose programs are missing skips loudly.
var realBackends = map[string]func(t *testing.T) backend{
	"keyctl": func(t *testing.T) backend {
		needKeyctl(t)
		return backend{config.BackendKeyctl, func(t *testing.T, name string) *Store { return openKeyctl(t, "user", name) }}
	},
	"secret-service": func(t *testing.T) backend {
		ss := keystoretest.StartSecretService(t, t.TempDir())
		return backend{config.BackendSecretService, func(t *testing.T, name string) *Store { return openSecretService(t, ss, name, "") }}
	},
	"pass": func(t *testing.T) backend {
		p := keystoretest.StartPass(t, t.TempDir())
		return backend{config.BackendPass, func(t *testing.T, name string) *Store { return openPass(t, p, name) }}
	},
}

func openSecretService(t testing.TB, ss *keystoretest.SecretService, name, collection string) *Store {
	t.Helper()
	s, err := Open(func(o *Options) {
		o.Backend, o.Name, o.Collection = config.BackendSecretService, name, collection
		o.Getenv = func(k string) string {
			if k == "DBUS_SESSION_BUS_ADDRESS" {
				return ss.Addr
			}
			return ""
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openPass(t testing.TB, p *keystoretest.Pass, name string) *Store {
	t.Helper()
	s, err := Open(func(o *Options) { o.Backend, o.Name, o.PassDir = config.BackendPass, name, p.Dir })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the same checks against each real backend: what
// `keys add|list|rotate|remove` and the daemon rely on.
func TestConformance(t *testing.T) {
	for name, start := range realBackends {
		t.Run(name, func(t *testing.T) {
			b := start(t)
			ring := uniqueName(t)
			conform(t, b.want, func() *Store { return b.open(t, ring) }, func() *Store { return b.open(t, uniqueName(t)) })
		})
	}
}

// conform checks a backend: open gives a new Store on the same keyring (as
// the daemon opens it after `keys add` stored a key), other one on another
// keyring name.
func conform(t *testing.T, want config.Backend, open, other func() *Store) {
	s := open()
	if s.Backend() != want {
		t.Errorf("backend %q, want %q", s.Backend(), want)
	}
	if _, err := s.Get("alice"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "credbroker keys add alice") {
		t.Fatalf("Get of a missing key: %v", err)
	}
	if l, err := s.List(); err != nil || len(l) != 0 {
		t.Fatalf("List of an empty keyring: %v, %v", l, err)
	}
	if err := s.Remove("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing key: %v", err)
	}
	for _, bad := range []string{"", "a/b", "a b", strings.Repeat("x", 65)} {
		if err := s.Put(bad, Key{AccessKeyID: testID, SecretAccessKey: testSecret}); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}

	// add
	added := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Put("alice", Key{AccessKeyID: testID, SecretAccessKey: testSecret, Added: added}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("bob", Key{AccessKeyID: "AKIABOBBOBBOBBOBBOB1", SecretAccessKey: "bob+secret/bob+secret"}); err != nil {
		t.Fatal(err)
	}
	// the daemon's own Store reads what `keys add` stored
	d := open()
	k, err := d.Get("alice")
	if err != nil || k.AccessKeyID != testID || k.SecretAccessKey != testSecret || !k.Added.Equal(added) || k.Previous != nil {
		t.Fatalf("Get = %#v, %v", k, err)
	}

	// rotate: the new key with the previous one, replacing the item
	rot := Key{AccessKeyID: "AKIANEWNEWNEWNEWNEW1", SecretAccessKey: "new/secret+new", Added: added, Previous: &k}
	if err := s.Put("alice", rot); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get("alice")
	if err != nil || got.SecretAccessKey != rot.SecretAccessKey || got.Previous == nil || got.Previous.SecretAccessKey != testSecret {
		t.Fatalf("after rotation: %#v, %v", got, err)
	}

	// list
	list, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	wantList := []Entry{{Name: "alice", AccessKeyID: rot.AccessKeyID, Added: added, PreviousKeyID: testID}, {Name: "bob", AccessKeyID: "AKIABOBBOBBOBBOBBOB1"}}
	if len(list) == 2 {
		if list[1].Added.IsZero() {
			t.Error("Put did not stamp the time bob's key was added")
		}
		wantList[1].Added = list[1].Added
	}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	// another keyring name sees none of these
	o := other()
	if l, err := o.List(); err != nil || len(l) != 0 {
		t.Errorf("another keyring lists %v, %v", l, err)
	}
	if _, err := o.Get("bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another keyring reads bob: %v", err)
	}

	// concurrent reads, as the daemon's sessions do
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if k, err := d.Get("bob"); err != nil || k.SecretAccessKey != "bob+secret/bob+secret" {
				errs <- errors.Join(err, errors.New("concurrent Get read a wrong key"))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// remove
	if err := s.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Remove: %v", err)
	}
	if err := s.Remove("alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if l, err := d.List(); err != nil || len(l) != 1 || l[0].Name != "bob" {
		t.Errorf("List after Remove: %v, %v", l, err)
	}
	if err := s.Remove("bob"); err != nil {
		t.Fatal(err)
	}
}

// TestConformanceFileAndMemory holds the other two writable backends to
// the same checks.
func TestConformanceFileAndMemory(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("file backend passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	openFile := func(sub string) *Store {
		s, err := Open(func(o *Options) {
			o.Backend, o.FileDir, o.PassphraseFile = config.BackendFile, filepath.Join(dir, sub), pw
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("file", func(t *testing.T) {
		conform(t, config.BackendFile, func() *Store { return openFile("a") }, func() *Store { return openFile("b") })
	})
	t.Run("memory", func(t *testing.T) {
		m := NewMemory()
		conform(t, BackendMemory, func() *Store { return m }, NewMemory)
	})
}
