package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/pgtest"
)

func openPG(t *testing.T, c *pgtest.Cluster, url string, fns ...func(*PostgresOptions)) *Postgres {
	t.Helper()
	fns = append([]func(*PostgresOptions){func(o *PostgresOptions) { o.PasswordFile = c.PasswordFile() }}, fns...)
	db, err := OpenPostgres(context.Background(), url, fns...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresMigratesFromFirstSchema builds the database at schema 1, writes to it, and
// opens it with every migration: the data stays and the later migrations' features work.
func TestPostgresMigratesFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	url := c.NewDatabase(t)
	old := openPG(t, c, url, func(o *PostgresOptions) { o.Migrations = 1 })
	if v, err := old.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("schema after the first migration = %d, %v", v, err)
	}
	if err := old.Update(ctx, func(tx Tx) error { return tx.Put("b", []byte("k"), []byte("old")) }); err != nil {
		t.Fatal(err)
	}
	old.Close()
	db := openPG(t, c, url)
	if v, err := db.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema after open = %d, %v; want %d", v, err, len(migrations))
	}
	if got := scan(t, db, "b", "", "", 0); len(got) != 1 || got[0].V != "old" {
		t.Errorf("data written at schema 1 = %v", got)
	}
	notified := make(chan struct{}, 10)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	db.Watch(wctx, func() { notified <- struct{}{} })
	waitNotified(t, db, notified)
	// A newer schema than this code knows is refused.
	conn, err := c.Connect(ctx, url[strings.LastIndex(url, "/")+1:strings.Index(url, "?")])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO credbroker_schema (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	_, err = OpenPostgres(ctx, url, func(o *PostgresOptions) { o.PasswordFile = c.PasswordFile() })
	if err == nil || !strings.Contains(err.Error(), "upgrade credbroker") {
		t.Errorf("open of a newer schema = %v, want a refusal naming the fix", err)
	}
}

// waitNotified writes through db until notified fires (the listener may not be
// listening yet when the first write commits).
func waitNotified(t *testing.T, db DB, notified <-chan struct{}) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for i := 0; ; i++ {
		if err := db.Update(context.Background(), func(tx Tx) error {
			return tx.Put("n", []byte("k"), []byte(fmt.Sprint(i)))
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-notified:
			return
		case <-deadline:
			t.Fatal("no notification of a committed change within 5 s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestPostgresTwoProcesses: two DBs on one database (as two replicas) see each other's
// commits at once, are told of them by Watch, and serialise their Updates.
func TestPostgresTwoProcesses(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	url := c.NewDatabase(t)
	a, b := openPG(t, c, url), openPG(t, c, url)
	notified := make(chan struct{}, 100)
	b.Watch(ctx, func() {
		select {
		case notified <- struct{}{}:
		default:
		}
	})
	waitNotified(t, a, notified)
	// Read-modify-write counters from both sides: serialised Updates lose no increment.
	const n = 40
	errs := make(chan error, 2*n)
	for _, db := range []DB{a, b} {
		go func() {
			for range n {
				errs <- db.Update(ctx, func(tx Tx) error {
					v, err := tx.Get("c", []byte("n"))
					if err != nil {
						return err
					}
					var i int
					fmt.Sscan(string(v), &i)
					return tx.Put("c", []byte("n"), []byte(fmt.Sprint(i+1)))
				})
			}
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := scan(t, b, "c", "", "", 0); len(got) != 1 || got[0].V != fmt.Sprint(2*n) {
		t.Errorf("counter after %d increments from two processes = %v", 2*n, got)
	}
}

// TestPostgresScanBatches scans across the query batches, with prefixes that end in 0xff.
func TestPostgresScanBatches(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	db := openPG(t, c, c.NewDatabase(t))
	const n = 2*scanBatch + 7
	err := db.Update(ctx, func(tx Tx) error {
		for i := range n {
			if err := tx.Put("s", []byte(fmt.Sprintf("p\xff/%05d", i)), []byte("v")); err != nil {
				return err
			}
		}
		return tx.Put("s", []byte("q"), []byte("after"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := scan(t, db, "s", "p\xff/", "", 0); len(got) != n {
		t.Errorf("scan of %d keys over batches of %d = %d keys", n, scanBatch, len(got))
	}
	if got := scan(t, db, "s", "p\xff/", "p\xff/00500", 0); len(got) != n-500 {
		t.Errorf("scan from the 500th = %d keys, want %d", len(got), n-500)
	}
	for in, want := range map[string]string{"": "", "a": "b", "a\xff": "b", "\xff\xff": ""} {
		if got := string(prefixEnd([]byte(in))); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPostgresUnavailable: with the database down, transactions fail with
// ErrUnavailable; after it is back, they succeed again on the same DB.
func TestPostgresUnavailable(t *testing.T) {
	ctx := context.Background()
	c := pgtest.New(t)
	db := openPG(t, c, c.NewDatabase(t))
	put := func(v string) error {
		return db.Update(ctx, func(tx Tx) error { return tx.Put("x", []byte("k"), []byte(v)) })
	}
	if err := put("1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := put("2"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Update with the database down = %v, want ErrUnavailable", err)
	}
	if err := db.View(ctx, func(tx Tx) error { _, err := tx.Get("x", []byte("k")); return err }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("View with the database down = %v, want ErrUnavailable", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if err := put("3"); err != nil {
		t.Errorf("Update after the database restarted: %v", err)
	}
	if got := scan(t, db, "x", "", "", 0); len(got) != 1 || got[0].V != "3" {
		t.Errorf("after restart = %v", got)
	}
}

func TestPostgresRefusesPasswordInURL(t *testing.T) {
	_, err := OpenPostgres(context.Background(), "postgres://u:s3cretpw@127.0.0.1:1/db")
	if err == nil || strings.Contains(err.Error(), "s3cretpw") || !strings.Contains(err.Error(), "file") {
		t.Errorf("open with a password in the URL = %v, want a refusal naming the file, without the password", err)
	}
	_, err = OpenPostgres(context.Background(), "postgres://u:s3cretpw@[bad")
	if err == nil || strings.Contains(err.Error(), "s3cretpw") {
		t.Errorf("open of a bad URL = %v, want an error without the password", err)
	}
}
