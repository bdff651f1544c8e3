// Package coretest builds the embedded IAM/STS core the way the tests of sts
// and sts/iamapi need it: a memory store and a core sharing one fake clock,
// AWS's managed-policy catalog, a JSON logger into a buffer, and an httptest
// server, all closed when the test ends. It is the one copy of that set-up, and of
// Replay, the recorded request that the benchmarks send to such a core again and again.
package coretest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store"
)

// Account is the account the core serves.
const Account = "123456789012"

// Options configure New.
type Options struct {
	// Core is applied to the core's options after the fixture's own.
	Core []func(*sts.Options)
	// Register adds services (the IAM API) to the core before it serves.
	Register func(*sts.Core) error
	// RunningClock makes the clock follow the wall clock (Clock.Run), for
	// clients that sign with the real time.
	RunningClock bool
}

// Core is a core over a memory store, served by an httptest server.
type Core struct {
	T       testing.TB
	Ctx     context.Context
	Store   *store.Store
	Core    *sts.Core
	Srv     *httptest.Server
	Clock   *clocktest.Clock
	Catalog *policy.Catalog
	// Logs holds the core's log lines (JSON, debug level).
	Logs *logtest.Buffer
}

// New builds a core; everything is closed when t ends.
func New(t testing.TB, optFns ...func(*Options)) *Core {
	t.Helper()
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	c := &Core{T: t, Ctx: context.Background(), Clock: clocktest.New(time.Now().UTC().Truncate(time.Second)), Logs: &logtest.Buffer{}}
	if o.RunningClock {
		c.Clock.Run()
	}
	var err error
	if c.Catalog, err = policy.BuiltinCatalog(); err != nil {
		t.Fatal(err)
	}
	c.Store, err = store.OpenMemory(c.Ctx, Account, func(so *store.Options) {
		so.Now = c.Clock.Now
		so.UsageFlushInterval = -1
		so.AWSManagedPolicyExists = func(arn string) bool { _, ok := c.Catalog.Lookup(arn); return ok }
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Store.Close() })
	logger := hclog.New(&hclog.LoggerOptions{Output: c.Logs, Level: hclog.Debug, JSONFormat: true})
	c.Core, err = sts.New(c.Ctx, c.Store, append([]func(*sts.Options){func(co *sts.Options) {
		co.Now = c.Clock.Now
		co.Logger = logger
		co.Catalog = c.Catalog
	}}, o.Core...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Core.Close() })
	if o.Register != nil {
		if err := o.Register(c.Core); err != nil {
			t.Fatal(err)
		}
	}
	c.Srv = httptest.NewServer(c.Core.Handler())
	t.Cleanup(c.Srv.Close)
	cl := c.Srv.Client()
	cl.Transport = sdkBodyTransport{cl.Transport.(*http.Transport)}
	return c
}

// sdkBodyTransport works around a race between the AWS SDK (smithy-go) and
// net/http that closes the client's connection under a response still being read.
//
// smithy-go wraps a request body in a reader that answers WriteTo with io.EOF once
// closed, and closes it as soon as the HTTP client returns the response headers.
// net/http's write loop, having sent the Content-Length bytes (so the server has
// read the body and answered), copies the body once more to check that nothing is
// left; that copy goes through WriteTo, and a WriteTo error — io.EOF included, as
// io.Copy passes it on — fails the request write, and the transport closes the
// connection. When the response is larger than what the transport has already
// buffered (an ACTION_LEVEL last-accessed report), the SDK's deserializer then
// reads "use of closed network connection". The server is not at fault.
//
// Hiding WriteTo makes net/http copy with Read, which answers io.EOF after close,
// the end of the body rather than an error.
type sdkBodyTransport struct{ *http.Transport }

func (t sdkBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r2 := *r
		r2.Body = readOnlyBody{r.Body}
		r = &r2
	}
	return t.Transport.RoundTrip(r)
}

// readOnlyBody is a request body with Read and Close only.
type readOnlyBody struct{ io.ReadCloser }

// Update runs fn in a store transaction and fails the test on error.
func (c *Core) Update(fn func(tx *store.Tx) error) {
	c.T.Helper()
	if err := c.Store.Update(c.Ctx, fn); err != nil {
		c.T.Fatal(err)
	}
}

// Config is an SDK configuration for the core's server signing with creds
// (anonymous when empty), without retries.
func (c *Core) Config(creds aws.Credentials) aws.Config {
	return aws.Config{
		BaseEndpoint:     aws.String(c.Srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		HTTPClient:       c.Srv.Client(),
		RetryMaxAttempts: 1,
	}
}

// Entity says what User and Role give an entity besides its name.
type Entity struct {
	Inline  map[string]string // policy name → document
	Managed []string          // policy ARNs to attach
	Tags    []account.Tag
}

// User creates IAM user name with e's policies and tags and an access key,
// and returns the key.
func (c *Core) User(name string, e Entity) aws.Credentials {
	c.T.Helper()
	var k account.AccessKey
	c.Update(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: name, Tags: e.Tags}); err != nil {
			return err
		}
		if err := e.attach(tx, account.UserRef(name)); err != nil {
			return err
		}
		var err error
		k, err = tx.CreateAccessKey(name)
		return err
	})
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// Role creates role r (its trust policy, session length, tags...) with e's policies.
func (c *Core) Role(r account.Role, e Entity) account.Role {
	c.T.Helper()
	r.Tags = append(r.Tags, e.Tags...)
	c.Update(func(tx *store.Tx) error {
		var err error
		if r, err = tx.CreateRole(r); err != nil {
			return err
		}
		return e.attach(tx, account.RoleRef(r.Name))
	})
	return r
}

func (e Entity) attach(tx *store.Tx, ref account.Ref) error {
	for name, doc := range e.Inline {
		if err := tx.PutInlinePolicy(ref, name, doc); err != nil {
			return err
		}
	}
	for _, arn := range e.Managed {
		if err := tx.AttachPolicy(ref, arn); err != nil {
			return err
		}
	}
	return nil
}
