package kv

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends returns a fresh DB of each kind; reopen, when not nil, closes and reopens it
// (for backends that persist).
func backends(t *testing.T) map[string]func(t *testing.T) (db DB, reopen func() DB) {
	return map[string]func(t *testing.T) (DB, func() DB){
		"memory": func(t *testing.T) (DB, func() DB) { return NewMemory(), nil },
		"postgres": func(t *testing.T) (DB, func() DB) {
			c := pgtest.Shared(t)
			url := c.NewDatabase(t)
			open := func() *Postgres {
				db, err := OpenPostgres(context.Background(), url, func(o *PostgresOptions) { o.PasswordFile = c.PasswordFile() })
				if err != nil {
					t.Fatal(err)
				}
				return db
			}
			cur := open()
			t.Cleanup(func() { cur.Close() })
			return cur, func() DB {
				if err := cur.Close(); err != nil {
					t.Fatal(err)
				}
				cur = open()
				return cur
			}
		},
		"bolt": func(t *testing.T) (DB, func() DB) {
			path := filepath.Join(t.TempDir(), "sub", "kv.db")
			db, err := OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			cur := db
			t.Cleanup(func() { cur.Close() })
			return db, func() DB {
				if err := cur.Close(); err != nil {
					t.Fatal(err)
				}
				n, err := OpenBolt(path)
				if err != nil {
					t.Fatal(err)
				}
				cur = n
				return n
			}
		},
	}
}

type kvPair struct{ K, V string }

func scan(t *testing.T, db DB, bucket, prefix, start string, limit int) []kvPair {
	t.Helper()
	var out []kvPair
	var st []byte
	if start != "" {
		st = []byte(start)
	}
	err := db.View(context.Background(), func(tx Tx) error {
		return tx.Scan(bucket, []byte(prefix), st, func(k, v []byte) bool {
			out = append(out, kvPair{string(k), string(v)})
			return limit == 0 || len(out) < limit
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBackends(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, reopen := open(t)
			err := db.Update(ctx, func(tx Tx) error {
				for _, k := range []string{"b/2", "a/1", "b/1", "b/10", "c", "empty"} {
					v := "v" + k
					if k == "empty" {
						v = ""
					}
					if err := tx.Put("x", []byte(k), []byte(v)); err != nil {
						return err
					}
				}
				return tx.Put("y", []byte("b/1"), []byte("other bucket"))
			})
			if err != nil {
				t.Fatal(err)
			}
			if reopen != nil {
				db = reopen()
			}
			cases := map[string]struct {
				prefix, start string
				limit         int
				want          []kvPair
			}{
				"all":          {want: []kvPair{{"a/1", "va/1"}, {"b/1", "vb/1"}, {"b/10", "vb/10"}, {"b/2", "vb/2"}, {"c", "vc"}, {"empty", ""}}},
				"prefix":       {prefix: "b/", want: []kvPair{{"b/1", "vb/1"}, {"b/10", "vb/10"}, {"b/2", "vb/2"}}},
				"prefix+start": {prefix: "b/", start: "b/10\x00", want: []kvPair{{"b/2", "vb/2"}}},
				"start<prefix": {prefix: "b/", start: "a", want: []kvPair{{"b/1", "vb/1"}, {"b/10", "vb/10"}, {"b/2", "vb/2"}}},
				"limit":        {limit: 2, want: []kvPair{{"a/1", "va/1"}, {"b/1", "vb/1"}}},
				"none":         {prefix: "zz"},
			}
			for cname, c := range cases {
				if diff := cmp.Diff(c.want, scan(t, db, "x", c.prefix, c.start, c.limit)); diff != "" {
					t.Errorf("%s: scan (-want +got):\n%s", cname, diff)
				}
			}
			err = db.View(ctx, func(tx Tx) error {
				got, err := tx.(BucketLister).Buckets()
				if diff := cmp.Diff([]string{"x", "y"}, got); err != nil || diff != "" {
					t.Errorf("Buckets: %v (-want +got):\n%s", err, diff)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := scan(t, db, "missing", "", "", 0); got != nil {
				t.Errorf("scan of a missing bucket = %v", got)
			}
			err = db.View(ctx, func(tx Tx) error {
				if v, _ := tx.Get("x", []byte("empty")); v == nil || len(v) != 0 {
					t.Errorf("Get of an empty value = %#v, want non-nil empty", v)
				}
				if v, _ := tx.Get("x", []byte("nope")); v != nil {
					t.Errorf("Get of an absent key = %q", v)
				}
				if v, _ := tx.Get("nobucket", []byte("a")); v != nil {
					t.Errorf("Get in an absent bucket = %q", v)
				}
				if err := tx.Put("x", []byte("k"), []byte("v")); !errors.Is(err, ErrReadOnly) {
					t.Errorf("Put in View: %v, want ErrReadOnly", err)
				}
				if err := tx.Delete("x", []byte("a/1")); !errors.Is(err, ErrReadOnly) {
					t.Errorf("Delete in View: %v, want ErrReadOnly", err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, _ := open(t)
			if err := db.Update(ctx, func(tx Tx) error { return tx.Put("x", []byte("keep"), []byte("1")) }); err != nil {
				t.Fatal(err)
			}
			err := db.Update(ctx, func(tx Tx) error {
				_ = tx.Put("x", []byte("keep"), []byte("changed"))
				_ = tx.Put("x", []byte("new"), []byte("2"))
				_ = tx.Delete("x", []byte("keep"))
				_ = tx.Put("x", []byte("keep"), []byte("again"))
				if v, _ := tx.Get("x", []byte("new")); string(v) != "2" {
					t.Errorf("a transaction does not see its own write: %q", v)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("Update = %v, want boom", err)
			}
			func() {
				defer func() { _ = recover() }()
				_ = db.Update(ctx, func(tx Tx) error {
					_ = tx.Put("x", []byte("panic"), []byte("3"))
					panic("in a transaction")
				})
			}()
			want := []kvPair{{"keep", "1"}}
			if diff := cmp.Diff(want, scan(t, db, "x", "", "", 0)); diff != "" {
				t.Errorf("after rollback (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClosedAndCancelled(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, _ := open(t)
			cctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := db.View(cctx, func(Tx) error { return nil }); !errors.Is(err, context.Canceled) {
				t.Errorf("View with a cancelled context = %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if err := db.Update(context.Background(), func(Tx) error { return nil }); !errors.Is(err, ErrClosed) {
				t.Errorf("Update after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestBoltLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	db, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// bbolt's lock is per open file description (flock), so a second open in this
	// process waits for it like another process would.
	_, err = OpenBolt(path, func(o *BoltOptions) { o.LockTimeout = 50 * time.Millisecond })
	if err == nil {
		t.Fatal("second OpenBolt of a held file succeeded")
	}
	if want := "locked by another process"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}
