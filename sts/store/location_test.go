package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

func openPGStore(t *testing.T, c *pgtest.Cluster, url string, fns ...func(*Options)) *Store {
	t.Helper()
	db, err := OpenDB(context.Background(), url, c.PasswordFile())
	if err != nil {
		t.Fatal(err)
	}
	return openTestStore(t, db, fns...)
}

// accountSnapshot is everything a user-facing read returns for each user, secrets
// included, for comparing stores.
type userSnapshot struct {
	User     account.User
	Keys     []account.AccessKey
	Inline   string
	Policies PolicySet
	MFA      []account.VirtualMFADevice
}

func snapshot(t *testing.T, s *Store, users int) []userSnapshot {
	t.Helper()
	var out []userSnapshot
	view(t, s, func(tx *Tx) error {
		for i := range users {
			name := fmt.Sprintf("user%04d", i)
			var u userSnapshot
			var err error
			if u.User, err = tx.User(name); err != nil {
				return err
			}
			if u.Keys, err = tx.AccessKeys(name); err != nil {
				return err
			}
			for j, k := range u.Keys { // AccessKeys lists without secrets: read each
				if u.Keys[j], err = tx.AccessKey(k.ID); err != nil {
					return err
				}
			}
			if u.Inline, err = tx.InlinePolicy(account.UserRef(name), "inline"); err != nil {
				return err
			}
			if u.Policies, err = tx.PoliciesFor(account.UserRef(name)); err != nil {
				return err
			}
			u.Policies.Generation = 0
			devs, err := tx.MFADevices(name)
			if err != nil {
				return err
			}
			for _, d := range devs {
				full, err := tx.VirtualMFADevice(d.Serial)
				if err != nil {
					return err
				}
				u.MFA = append(u.MFA, full)
			}
			out = append(out, u)
		}
		return nil
	})
	return out
}

// TestCopyRoundTrip moves an account of 1,000 users with access keys, MFA devices and
// policies from bbolt to PostgreSQL and back: every read, secrets included, is the same,
// and each copy passes Check.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	const users = 1000
	dir := t.TempDir()
	src, err := OpenFile(ctx, filepath.Join(dir, "src.db"), testKey(), func(o *Options) {
		o.AccountID = testAccount
		o.UsageFlushInterval = -1
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	update(t, src, func(tx *Tx) error {
		var arns []string
		for i := range 5 {
			p, err := tx.CreatePolicy(account.ManagedPolicy{Name: fmt.Sprintf("p%d", i)}, allowS3)
			if err != nil {
				return err
			}
			arns = append(arns, p.ARN)
		}
		for i := range users {
			name := fmt.Sprintf("user%04d", i)
			if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
				return err
			}
			if _, err := tx.CreateAccessKey(name); err != nil {
				return err
			}
			if err := tx.PutInlinePolicy(account.UserRef(name), "inline", denyAll); err != nil {
				return err
			}
			if err := tx.AttachPolicy(account.UserRef(name), arns[i%len(arns)]); err != nil {
				return err
			}
			if i%10 == 0 {
				d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: name + "-mfa"})
				if err != nil {
					return err
				}
				if err := tx.EnableMFADevice(name, d.Serial); err != nil {
					return err
				}
			}
		}
		return tx.PutSecret("signing/1", []byte("sealed signing key"))
	})
	want := snapshot(t, src, users)
	if len(want[0].Keys) != 1 || want[0].Keys[0].Secret == "" || len(want[0].MFA) != 1 || len(want[0].MFA[0].Seed) == 0 {
		t.Fatalf("the source lacks what the test compares: %+v", want[0])
	}
	srcDB := src.db

	url := c.NewDatabase(t)
	pgDB, err := OpenDB(ctx, url, c.PasswordFile())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := Copy(ctx, pgDB, srcDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %d records of %d users bbolt→PostgreSQL in %v", n, users, time.Since(start))
	if _, err := Copy(ctx, pgDB, srcDB); err == nil || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("a second copy into the same database = %v, want a refusal", err)
	}
	pg := openTestStore(t, pgDB)
	if diff := cmp.Diff(want, snapshot(t, pg, users)); diff != "" {
		t.Fatalf("PostgreSQL copy differs (-bbolt +postgres):\n%s", diff)
	}
	if err := pg.Check(ctx); err != nil {
		t.Errorf("Check of the PostgreSQL copy: %v", err)
	}
	back, err := kv.OpenBolt(filepath.Join(dir, "back.db"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := Copy(ctx, back, pgDB); err != nil || m != n {
		t.Fatalf("copy back = %d records, %v; want %d", m, err, n)
	}
	b := openTestStore(t, back)
	if diff := cmp.Diff(want, snapshot(t, b, users)); diff != "" {
		t.Fatalf("round trip differs (-before +after):\n%s", diff)
	}
	view(t, b, func(tx *Tx) error {
		v, err := tx.Secret("signing/1")
		if string(v) != "sealed signing key" {
			t.Errorf("named secret after the round trip = %q, %v", v, err)
		}
		return nil
	})
}

// TestPostgresReplicasSeeChanges: two stores on one database (two core replicas): a key
// created through A is read through B at once; B's generation moves, and its Changed
// fires, within one second of A's change (LISTEN/NOTIFY).
func TestPostgresReplicasSeeChanges(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	url := c.NewDatabase(t)
	a := openPGStore(t, c, url, func(o *Options) { o.AccountID = testAccount })
	b := openPGStore(t, c, url)
	var key account.AccessKey
	update(t, a, func(tx *Tx) error {
		if _, err := tx.CreateUser(account.User{Name: "ann"}); err != nil {
			return err
		}
		var err error
		key, err = tx.CreateAccessKey("ann")
		return err
	})
	got, err := b.LookupAccessKey(ctx, key.ID)
	if err != nil || got.Secret != key.Secret {
		t.Fatalf("B's lookup of A's new key = %v (secret matches: %v)", err, got.Secret == key.Secret)
	}
	// B's cache-invalidation signal follows A's writes.
	for i := range 4 { // Inactive, Active, Inactive, Active
		g := b.Generation()
		start := time.Now()
		update(t, a, func(tx *Tx) error {
			return tx.UpdateAccessKey(key.ID, []account.KeyStatus{account.KeyInactive, account.KeyActive}[i%2])
		})
		want := a.Generation()
		deadline := time.After(time.Second)
		for {
			ch := b.Changed() // before the check: a change between them still fires it
			if b.Generation() >= want {
				break
			}
			select {
			case <-ch:
			case <-deadline:
				t.Fatalf("change %d: B's generation %d (was %d), A's %d after 1 s", i, b.Generation(), g, want)
			}
		}
		t.Logf("B reached A's generation %d after %v", want, time.Since(start))
	}
	// A's deactivation is read through B within one second.
	if got, _ = b.LookupAccessKey(ctx, key.ID); got.Status != account.KeyActive {
		t.Fatalf("status through B = %q", got.Status)
	}
	update(t, a, func(tx *Tx) error { return tx.UpdateAccessKey(key.ID, account.KeyInactive) })
	start := time.Now()
	for got, _ = b.LookupAccessKey(ctx, key.ID); got.Status != account.KeyInactive; got, _ = b.LookupAccessKey(ctx, key.ID) {
		if time.Since(start) > time.Second {
			t.Fatalf("B still answers %q 1 s after A deactivated the key", got.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("B refused the deactivated key after %v", time.Since(start))
}
