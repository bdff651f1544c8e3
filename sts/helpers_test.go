package sts_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

const testAccount = "123456789012"

// clock is a settable clock shared by the store, the core and the clients.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a core over a memory store, served by an httptest server.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *store.Store
	core  *sts.Core
	srv   *httptest.Server
	clock *clock
	logs  *logBuffer
}

type fixtureOpt = func(*sts.Options)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := store.OpenMemory(ctx, testAccount, func(o *store.Options) {
		o.Now = clk.Now
		o.UsageFlushInterval = -1
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &logBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug, JSONFormat: true})
	core, err := sts.New(ctx, st, append([]fixtureOpt{func(o *sts.Options) {
		o.Now = clk.Now
		o.Logger = logger
	}}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, ctx: ctx, store: st, core: core, srv: srv, clock: clk, logs: logs}
}

// update runs fn in a store transaction and fails the test on error.
func (f *fixture) update(fn func(tx *store.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// user creates an IAM user with inline policies (name → document) and an access key.
func (f *fixture) user(name string, policies map[string]string, tags ...account.Tag) aws.Credentials {
	f.t.Helper()
	var k account.AccessKey
	f.update(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: name, Tags: tags}); err != nil {
			return err
		}
		for pn, doc := range policies {
			if err := tx.PutInlinePolicy(account.UserRef(name), pn, doc); err != nil {
				return err
			}
		}
		var err error
		k, err = tx.CreateAccessKey(name)
		return err
	})
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// client returns an SDK STS client signing with creds (anonymous when empty).
func (f *fixture) client(creds aws.Credentials) *awssts.Client {
	return awssts.New(awssts.Options{
		BaseEndpoint:     aws.String(f.srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		HTTPClient:       f.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
