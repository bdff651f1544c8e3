package sts_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
	"github.com/credbroker/credbroker/sts/store/kv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// coreOn returns a core over db, seeded with the dev account (when seed) and extra users.
func coreOn(tb testing.TB, db kv.DB, key store.KeySource, seed bool, users int) (*sts.Core, *store.Store, sts.DevAccount) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, db, key, func(o *store.Options) { o.AccountID = sts.DevAccountID })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	var dev sts.DevAccount
	if seed {
		if dev, err = sts.SeedDev(ctx, st); err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < users; i += 1000 {
			err := st.Update(ctx, func(tx *store.Tx) error {
				for j := i; j < min(i+1000, users); j++ {
					if _, err := tx.CreateUser(account.User{Name: fmt.Sprintf("u%06d", j)}); err != nil {
						return err
					}
					if _, err := tx.CreateAccessKey(fmt.Sprintf("u%06d", j)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
	core, err := sts.New(ctx, st, func(o *sts.Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info})
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { core.Close() })
	return core, st, dev
}

// BenchmarkAssumeRoleBackends measures AssumeRole through the handler in-process (warm
// caches, as a serving core) on bbolt, on PostgreSQL with one replica and with two
// replicas on one database (requests alternate), with accounts of 1k and 10k users,
// next to the yardstick of the same run: a handler writing a response of the same size.
// Run: go test -run - -bench AssumeRoleBackends ./sts/ (CREDBROKER_BENCH_USERS=1000,10000,100000
// for other account sizes).
func BenchmarkAssumeRoleBackends(b *testing.B) {
	ctx := context.Background()
	sizes := []int{1000, 10000}
	if v := os.Getenv("CREDBROKER_BENCH_USERS"); v != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("CREDBROKER_BENCH_USERS=%q: %v", v, err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, users := range sizes {
		key := store.MemoryKey(rand.Reader)
		bolt, err := kv.OpenBolt(b.TempDir() + "/core.db")
		if err != nil {
			b.Fatal(err)
		}
		boltCore, _, dev := coreOn(b, bolt, key, true, users)
		creds := aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}
		raw := signedRequest(b, creds, "127.0.0.1", assumeForm)

		c := pgtest.Shared(b)
		url := c.NewDatabase(b)
		pgdb, err := kv.OpenPostgres(ctx, url, func(o *kv.PostgresOptions) { o.PasswordFile = c.PasswordFile() })
		if err != nil {
			b.Fatal(err)
		}
		n, err := store.Copy(ctx, pgdb, bolt) // the same account, keys included
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d users: %d records copied to PostgreSQL", users, n)
		pgCore, _, _ := coreOn(b, pgdb, key, false, 0)
		pgdb2, err := kv.OpenPostgres(ctx, url, func(o *kv.PostgresOptions) { o.PasswordFile = c.PasswordFile() })
		if err != nil {
			b.Fatal(err)
		}
		pgCore2, _, _ := coreOn(b, pgdb2, key, false, 0)

		rec := newRecorder()
		boltCore.Handler().ServeHTTP(rec, parseRaw(b, raw))
		if rec.status != 200 {
			b.Fatalf("AssumeRole: %d %s", rec.status, rec.body.String())
		}
		body := append([]byte(nil), rec.body.Bytes()...)
		yard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.Write(body)
		})
		for _, h := range []struct {
			name string
			hs   []http.Handler
		}{
			{"yardstick", []http.Handler{yard}},
			{"bbolt", []http.Handler{boltCore.Handler()}},
			{"postgres-1", []http.Handler{pgCore.Handler()}},
			{"postgres-2", []http.Handler{pgCore.Handler(), pgCore2.Handler()}},
		} {
			b.Run(fmt.Sprintf("users=%d/%s", users, h.name), func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Uint64
				b.RunParallel(func(pb *testing.PB) {
					rec := newRecorder()
					req := parseRaw(b, raw)
					formBody := req.Body.(*rereader)
					for pb.Next() {
						rec.reset()
						formBody.reset()
						h.hs[next.Add(1)%uint64(len(h.hs))].ServeHTTP(rec, req)
						if rec.status != 200 {
							b.Errorf("%d %s", rec.status, rec.body.String())
							return
						}
					}
				})
			})
		}
	}
}

// TestAssumeRoleWarmWithoutDatabase: on PostgreSQL, a warm AssumeRole reads nothing from
// the database (keys, principals and compiled policies are cached for the generation),
// so it keeps working while the database is down; a request that needs the database (a
// key not seen yet) answers ServiceUnavailable.
func TestAssumeRoleWarmWithoutDatabase(t *testing.T) {
	ctx := context.Background()
	c := pgtest.New(t)
	pgdb, err := kv.OpenPostgres(ctx, c.NewDatabase(t), func(o *kv.PostgresOptions) { o.PasswordFile = c.PasswordFile() })
	if err != nil {
		t.Fatal(err)
	}
	core, _, dev := coreOn(t, pgdb, store.MemoryKey(rand.Reader), true, 10)
	creds := aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}
	assume := func() *recorder {
		rec := newRecorder()
		core.Handler().ServeHTTP(rec, parseRaw(t, signedRequest(t, creds, "127.0.0.1", assumeForm)))
		return rec
	}
	if rec := assume(); rec.status != 200 {
		t.Fatalf("AssumeRole: %d %s", rec.status, rec.body.String())
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if rec := assume(); rec.status != 200 {
			t.Fatalf("warm AssumeRole with the database down: %d %s", rec.status, rec.body.String())
		}
	}
	rec := newRecorder()
	unseen := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	core.Handler().ServeHTTP(rec, parseRaw(t, signedRequest(t, unseen, "127.0.0.1", assumeForm)))
	if rec.status != 503 || !strings.Contains(rec.body.String(), "ServiceUnavailable") {
		t.Errorf("an unseen key with the database down: %d %s", rec.status, rec.body.String())
	}
}

// tokenKID returns the kid of a session token's JWT header ("" when none is found).
func tokenKID(token string) string {
	for _, part := range strings.Split(token, ".") {
		hdr, err := base64.RawURLEncoding.DecodeString(strings.TrimLeft(part, "="))
		if err != nil {
			continue
		}
		var h struct{ Kid string }
		if json.Unmarshal(hdr, &h) == nil && h.Kid != "" {
			return h.Kid
		}
	}
	return ""
}

// TestSessionKeyRotationAcrossReplicas: two cores on one PostgreSQL database share the
// session keys; a rotation on A makes B sign with the new key within a second, and
// tokens of the old key and of the new one open on both.
func TestSessionKeyRotationAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Shared(t)
	url := c.NewDatabase(t)
	key := store.MemoryKey(rand.Reader)
	open := func() kv.DB {
		db, err := kv.OpenPostgres(ctx, url, func(o *kv.PostgresOptions) { o.PasswordFile = c.PasswordFile() })
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	a, _, dev := coreOn(t, open(), key, true, 0)
	b, _, _ := coreOn(t, open(), key, false, 0)
	creds := aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}
	opens := func(core *sts.Core, s aws.Credentials) bool {
		rec := newRecorder()
		core.Handler().ServeHTTP(rec, parseRaw(t, signedRequest(t, s, "127.0.0.1", "Action=GetCallerIdentity&Version=2011-06-15")))
		return rec.status == 200
	}
	old := assumeOn(t, a, creds)
	oldKID := tokenKID(old.SessionToken)
	if oldKID == "" || tokenKID(assumeOn(t, b, creds).SessionToken) != oldKID {
		t.Fatalf("A and B do not sign with one key: kid %q", oldKID)
	}
	time.Sleep(1100 * time.Millisecond) // kids start with the creation second
	newKID, err := a.RotateSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := tokenKID(assumeOn(t, a, creds).SessionToken); got != newKID || newKID == oldKID {
		t.Fatalf("A signs with %q after rotating to %q (old %q)", got, newKID, oldKID)
	}
	start := time.Now()
	var fromB aws.Credentials
	for {
		fromB = assumeOn(t, b, creds)
		if tokenKID(fromB.SessionToken) == newKID {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("B still signs with %q 1 s after A rotated", tokenKID(fromB.SessionToken))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("B signs with the new key %v after A's rotation", time.Since(start))
	for name, ok := range map[string]bool{
		"old token on A": opens(a, old), "old token on B": opens(b, old),
		"B's new token on A": opens(a, fromB), "B's new token on B": opens(b, fromB),
	} {
		if !ok {
			t.Errorf("%s refused", name)
		}
	}
}

// TestSessionKeyRotationPrunes: a rotated-out key stays while tokens it signed may be
// valid (36 h after its successor was made), then goes.
func TestSessionKeyRotationPrunes(t *testing.T) {
	f := newFixture(t)
	names := func() []string {
		var out []string
		f.update(func(tx *store.Tx) error {
			var err error
			out, err = tx.SecretNames("sts/session-key/")
			return err
		})
		return out
	}
	first := names()
	if len(first) != 1 {
		t.Fatalf("session keys at start = %v", first)
	}
	f.clock.Advance(time.Hour)
	k1, err := f.core.RotateSessionKey(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(); len(got) != 2 {
		t.Fatalf("after the first rotation = %v, want the old key kept for verification", got)
	}
	f.clock.Advance(39 * time.Hour) // k1 was made 39 h ago: nothing the first key signed is valid
	k2, err := f.core.RotateSessionKey(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sts/session-key/" + k1, "sts/session-key/" + k2}
	if got := names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after the second rotation = %v, want %v", got, want)
	}
}
