package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

const (
	testAccount = "123456789012"
	trustEC2    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	allowS3     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	denyAll     = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
)

var testEpoch = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func testKey() KeySource {
	return KeySourceFunc(func(context.Context) ([]byte, error) {
		k := make([]byte, MasterKeySize)
		for i := range k {
			k[i] = byte(i)
		}
		return k, nil
	})
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// eachBackend runs fn against a new store of each backend: memory, bbolt and PostgreSQL
// (the store's conformance suite).
func eachBackend(t *testing.T, fn func(t *testing.T, s *Store, c *clocktest.Clock)) {
	t.Helper()
	for _, name := range []string{"memory", "bolt", "postgres"} {
		t.Run(name, func(t *testing.T) {
			c := clocktest.New(testEpoch)
			opts := func(o *Options) {
				o.AccountID = testAccount
				o.Now = c.Now
			}
			var db kv.DB = kv.NewMemory()
			if name == "postgres" {
				c := pgtest.Shared(t)
				p, err := kv.OpenPostgres(context.Background(), c.NewDatabase(t), func(o *kv.PostgresOptions) { o.PasswordFile = c.PasswordFile() })
				if err != nil {
					t.Fatal(err)
				}
				db = p
			}
			if name == "bolt" {
				b, err := kv.OpenBolt(filepath.Join(t.TempDir(), "core.db"))
				if err != nil {
					t.Fatal(err)
				}
				db = b
			}
			fn(t, openTestStore(t, db, opts), c)
		})
	}
}

// openTestStore opens the store in db with the test master key and no background
// flushes, closed when the test ends; fns add options (an account id to create one).
func openTestStore(tb testing.TB, db kv.DB, fns ...func(*Options)) *Store {
	tb.Helper()
	s, err := Open(context.Background(), db, testKey(), append([]func(*Options){func(o *Options) { o.UsageFlushInterval = -1 }}, fns...)...)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is an *account.Error with code (and, when msg is not "",
// that message).
func wantCode(t *testing.T, what string, err error, code account.Code, msg string) {
	t.Helper()
	var e *account.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Errorf("%s: error %v, want code %s", what, err, code)
		return
	}
	if msg != "" && e.Message != msg {
		t.Errorf("%s: message %q, want %q", what, e.Message, msg)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// namesOf returns the name of each item, in order.
func namesOf[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}
