package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/internal/masterkey"
	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/internal/wrkbench"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// BenchmarkAssumeRoleSockets: AssumeRole over real sockets, served by real
// `credbroker serve` processes as shipped (audit lines at info, written to a
// file), on the bbolt core, on PostgreSQL with one replica, and with two
// replicas of one database loaded at once, each next to the yardstick of the
// same run (a minimal net/http server answering the same bytes), in
// alternating rounds of wrk with 64 keep-alive connections. The request is
// one presigned GET (SigV4 in the query, valid 15 minutes; AssumeRole has no
// replay protection, as AWS's), so wrk sends it as is and every answer is a
// newly minted session. Reported: req/s and the ratio to the yardstick, p50/
// p99, and the serve processes' CPU time per AssumeRole (rusage / requests),
// for accounts of 1,000 and 10,000 users (CREDBROKER_BENCH_USERS=1000,10000,100000
// for others). The throttle is off (sts_rate_limit = 0): this measures the
// core, not the quota.
func BenchmarkAssumeRoleSockets(b *testing.B) {
	sizes := []int{1000, 10000}
	if v := os.Getenv("CREDBROKER_BENCH_USERS"); v != "" {
		sizes = nil
		for _, s := range bytes.Split([]byte(v), []byte(",")) {
			var n int
			if _, err := fmt.Sscan(string(s), &n); err != nil || n < 0 {
				b.Fatalf("CREDBROKER_BENCH_USERS=%q: want numbers of users, comma-separated", v)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			b.Run("bbolt", func(b *testing.B) {
				c := newScaleCore(b, "", "", n)
				c.compare(b, c.serve(b))
			})
			pg := pgtest.New(b)
			c := newScaleCore(b, pg.NewDatabase(b), pg.PasswordFile(), n)
			a := c.serve(b)
			b.Run("postgres-1", func(b *testing.B) { c.compare(b, a) })
			other := c.serve(b)
			b.Run("postgres-2", func(b *testing.B) { c.compare(b, a, other) })
		})
	}
}

// scaleCore is a core's store and configuration for BenchmarkAssumeRoleSockets:
// the dev account's user and role and n more users with a key each.
type scaleCore struct {
	e          *e2e
	store, pwd string // --core-store, --core-store-password-file ("": bbolt in the state dir)
	dev        sts.DevAccount
}

func newScaleCore(b *testing.B, storeURL, pwFile string, users int) *scaleCore {
	b.Helper()
	c := &scaleCore{e: newE2E(b), store: storeURL, pwd: pwFile}
	e := c.e
	keyFile := filepath.Join(e.root, "master.key")
	e.coreUpstream = "  sts_rate_limit = 0\n"
	e.writeCoreConfig(e.stateDir, sts.DevAccountID, keyFile, "")
	e.coreInitWith("", append([]string{"--master-key-file", keyFile, "--account-id", sts.DevAccountID}, c.storeFlags()...)...)
	loc := c.store
	if loc == "" {
		loc = filepath.Join(e.stateDir, "core.db")
	}
	ctx := context.Background()
	st, err := openStoreAt(ctx, loc, pwFile, "", store.KeySourceFunc(func(context.Context) ([]byte, error) { return masterkey.ReadFile(keyFile) }), false)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if c.dev, err = sts.SeedDev(ctx, st); err != nil {
		b.Fatal(err)
	}
	names := make([]string, users)
	for i := range names {
		names[i] = fmt.Sprintf("u%06d", i)
	}
	for chunk := range slices.Chunk(names, 1000) {
		if err := st.Update(ctx, func(tx *store.Tx) error { return addUsersWithKeys(tx, chunk) }); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// addUsersWithKeys creates IAM users of names, an access key each.
func addUsersWithKeys(tx *store.Tx, names []string) error {
	for _, n := range names {
		_, err := tx.CreateUser(account.User{Name: n})
		if err == nil {
			_, err = tx.CreateAccessKey(n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *scaleCore) storeFlags() []string {
	if c.store == "" {
		return nil
	}
	return []string{"--core-store", c.store, "--core-store-password-file", c.pwd}
}

// serve starts a serve process of the core (its log to a file) and returns
// it; each runs in a directory of its own (a replica's control socket,
// runtime files), with the same configuration.
func (c *scaleCore) serve(b *testing.B) *daemonProc {
	b.Helper()
	e := newE2E(b)
	e.cfgPath = c.e.cfgPath
	log, err := os.CreateTemp(e.root, "serve-*.log")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	e.serveOut = log
	return e.serve(nil, append([]string{"--core-addr", "127.0.0.1:0", "--log-level", "info"}, c.storeFlags()...)...)
}

// presign returns AssumeRole of the dev role by the dev user as a presigned
// GET URL of the core at addr.
func (c *scaleCore) presign(b *testing.B, addr string) string {
	b.Helper()
	q := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {c.dev.RoleARN},
		"RoleSessionName": {"bench"}, "X-Amz-Expires": {"900"}}
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/?"+q.Encode(), nil)
	if err != nil {
		b.Fatal(err)
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.dev.AccessKeyID, SecretAccessKey: c.dev.SecretAccessKey},
		req, emptySHA256, "sts", "us-east-1", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// emptySHA256 is the SHA-256 of an empty body, in hex: a GET's payload hash.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// compare runs wrk against the replicas (all at once) and the yardstick.
func (c *scaleCore) compare(b *testing.B, replicas ...*daemonProc) {
	b.Helper()
	urls := make([]string, len(replicas))
	pids := make([]int, len(replicas))
	for i, d := range replicas {
		urls[i], pids[i] = c.presign(b, d.eps.Core), d.cmd.Process.Pid
	}
	resp, err := http.Get(urls[0])
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<AssumeRoleResult>")) {
		b.Fatalf("the presigned AssumeRole answered %d %v:\n%s", resp.StatusCode, err, body)
	}
	ct := resp.Header.Get("Content-Type")
	base := wrkbench.Yardstick(b, body, ct)
	for b.Loop() {
		wrkbench.Compare(b, urls[0], base, "", func(o *wrkbench.Options) {
			o.OursPID, o.BasePID = pids[0], os.Getpid()
			o.OursMore, o.OursMorePIDs = urls[1:], pids[1:]
		}).ReportTo(b)
	}
}
