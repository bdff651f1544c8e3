package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/imds"
	"github.com/credbroker/credbroker/internal/awsfake"
	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
)

const (
	aliceKeyID  = "AKIAALICE0000EXAMPLE"
	aliceSecret = "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// fakeCaller is a caller known up front.
type fakeCaller struct {
	uid  uint32
	user string
	pid  int
	gids []uint32
	unit string
	exe  string
}

func (c *fakeCaller) UID() uint32               { return c.uid }
func (c *fakeCaller) GIDs() ([]uint32, error)   { return c.gids, nil }
func (c *fakeCaller) Unit() (string, error)     { return c.unit, nil }
func (c *fakeCaller) Exe() (string, error)      { return c.exe, nil }
func (c *fakeCaller) PID() (int, error)         { return c.pid, nil }
func (c *fakeCaller) UserName() (string, error) { return c.user, nil }

var (
	alice = &fakeCaller{uid: 1001, user: "alice", pid: 4242, exe: "/usr/bin/aws", unit: "user@1001.service"}
	bob   = &fakeCaller{uid: 1002, user: "bob", pid: 4343, exe: "/usr/bin/terraform"}
	eve   = &fakeCaller{uid: 1003, user: "eve", pid: 4444}
)

type callerKey struct{}

// as puts the caller into a context for the fake Identify.
func as(ctx context.Context, c Caller) context.Context { return context.WithValue(ctx, callerKey{}, c) }

func identifyFromContext(ctx context.Context, _ imds.Caller) (Caller, error) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok {
		return nil, fmt.Errorf("no caller in context")
	}
	return c, nil
}

// fetchWatch is a session.Observer that reports each fetch.
type fetchWatch struct{ ch chan error }

func (f *fetchWatch) Fetched(_ session.Key, _ time.Duration, err error) {
	select {
	case f.ch <- err:
	default:
	}
}
func (f *fetchWatch) Missed(session.Key) {}

// env is a broker with an STS fake behind it (in-process) and a keyring
// in memory holding alice's key.
type env struct {
	t       testing.TB
	sts     *awsfake.Server
	keys    *keystore.Store
	b       *Broker
	log     *logtest.Buffer
	audit   *logtest.Buffer
	fetches *fetchWatch
	clock   *clocktest.Clock
}

type envOptions struct {
	network bool // STS over loopback instead of in-process
	clock   *clocktest.Clock
	getenv  func(string) string
	broker  []func(*Options)
}

func newEnv(t testing.TB, hcl string, optFns ...func(*envOptions)) *env {
	t.Helper()
	var eo envOptions
	for _, fn := range optFns {
		fn(&eo)
	}
	e := &env{t: t, sts: awsfake.New(), keys: keystore.NewMemory(), log: &logtest.Buffer{}, audit: &logtest.Buffer{},
		fetches: &fetchWatch{ch: make(chan error, 64)}, clock: eo.clock}
	e.sts.AddUser("alice", aliceKeyID, aliceSecret)
	if err := e.keys.Put("alice", keystore.Key{AccessKeyID: aliceKeyID, SecretAccessKey: aliceSecret}); err != nil {
		t.Fatal(err)
	}
	up := NewEmbeddedUpstream(e.sts, "us-east-1")
	if eo.network {
		if err := e.sts.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.sts.Stop)
		up = NewSTSUpstream("us-east-1", func(o *UpstreamOptions) { o.Endpoint = e.sts.URL() })
	}
	getenv := eo.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg, err := config.Parse([]byte(hcl), "test.hcl", func(o *config.LoadOptions) { o.Getenv = getenv; o.UID = 1000 })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	opts := func(o *Options) {
		o.Upstream = up
		o.Keys = e.keys
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: e.log, Level: hclog.Debug})
		o.AuditLogger = hclog.New(&hclog.LoggerOptions{Output: e.audit, Level: hclog.Info, JSONFormat: true})
		o.Identify = identifyFromContext
		o.Getenv = getenv
		o.Hostname = "testhost"
		o.Observer = e.fetches
		if e.clock != nil {
			o.Now = e.clock.Now
			o.Session = append(o.Session, func(so *session.Options) { so.Clock = e.clock; so.Rand = func() float64 { return 0 } })
		}
	}
	b, err := New(cfg, append([]func(*Options){opts}, eo.broker...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e.b = b
	return e
}

// session returns the session of role for caller c (nil: shared).
func (e *env) session(role string, c Caller) *binding {
	st := e.b.state.Load()
	return e.b.binding(st, st.roles[role], c)
}
