package fleet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/imds"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// The simulated fleet. Time is compressed by testing/synctest: inside the
// bubble every clock — the brokers' session timers and backoff, the Go SDK's
// signing time and retry sleeps, the core's token bucket, session expiry —
// is one fake clock that jumps ahead whenever every goroutine waits, so 2½
// hours of a fleet's life take the CPU time of its requests only, with real
// 1-hour sessions, AWS's real quota and the broker's real defaults (no scaled
// durations that would change the ratios under test). Requests take no
// virtual time: the core is infinitely fast, and the throttle, not its CPU,
// is what limits the fleet, which is the case the issue asks about.
const (
	accountID = "123456789012"
	roleName  = "fleet"
	// fullSize is the fleet: 10,000 brokers against 600 AssumeRole/s.
	fullSize = 10000
)

// fleetConfig is every broker's configuration: one role, assumed with the
// host's own IAM user key (each broker's keystore holds its own), served to
// every local caller. The upstream is a remote core (the SDK retries once).
const fleetConfig = `
upstream "sts" { endpoint = "http://127.0.0.1:8913" }
source "keyring" "host" {}
role "fleet" {
  arn      = "arn:aws:iam::123456789012:role/fleet"
  source   = "host"
  duration = "1h"
}
default_role = "fleet"
`

// scenario is one run: the fleet's size, the core's throttle, the outage.
type scenario struct {
	brokers int
	// rate is the core's throttle: 600/s for 10,000 brokers, scaled with
	// the fleet's size for smaller runs, so that the ratios that shape the
	// dynamics (brokers per admitted request per second, and per second of
	// BackoffMax) stay those of the full fleet.
	rate float64
	// The core fails every call from outageAt for outageFor; 25 minutes is
	// longer than the 20-25 minutes a session has left at its refresh
	// point, so the sessions due early in it expire before it ends.
	outageAt, outageFor time.Duration
	// queryEvery is how often each broker's caller asks IMDS for
	// credentials (phases spread by the host's index).
	queryEvery time.Duration
	end        time.Duration
}

func newScenario(n int) scenario {
	return scenario{
		brokers:    n,
		rate:       sts.DefaultThrottleRate * float64(n) / fullSize,
		outageAt:   76 * time.Minute,
		outageFor:  25 * time.Minute,
		queryEvery: 2 * time.Minute,
		end:        150 * time.Minute,
	}
}

// fleetSize is $CREDBROKER_FLEET_SIZE, else defaultSize; `make test-fleet`
// (which CI runs) sets the full 10,000, without the race detector.
func fleetSize(t *testing.T) int {
	s := os.Getenv("CREDBROKER_FLEET_SIZE")
	if s == "" {
		return defaultSize
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || n < 10 {
		t.Fatalf("CREDBROKER_FLEET_SIZE=%q: want a number of brokers, at least 10", s)
	}
	return n
}

// TestFleet runs the fleet through a start-up storm (every broker starting
// at once), steady refreshes, an outage of the core and the recovery, and
// checks that no broker ever serves an expired credential, that every broker
// is served again soon after the outage, and that the recovery is no storm:
// the request rate after it stays under the throttle. It logs per-minute
// histograms of the core's answers.
//
// The bound after the outage: a broker failing for long retries after a
// uniform draw in [0, BackoffMax) (full jitter, BackoffMax = 1 min), so while
// the core is down the w waiting brokers' retries arrive at about
// w/(BackoffMax/2) per second, and when it comes back their next retries (the
// time left until each one's draw, densest near 0) arrive at 2w/BackoffMax per
// second at first, falling to nothing over the following minute: never faster
// than during the outage. The peak second stays under the throttle R as long
// as 2w/60 plus its random spread does: w up to ~15,000 brokers per 600/s of
// quota. The SDK's one retry of a refused connection doubles the attempts
// during the outage, not after it (one attempt succeeds).
func TestFleet(t *testing.T) {
	sc := newScenario(fleetSize(t))
	cfg, err := config.Parse([]byte(fleetConfig), "fleet.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	var res *results
	synctest.Test(t, func(t *testing.T) { res = run(t, sc, cfg) })
	t.Logf("%d brokers, throttle %.0f/s, %v simulated in %v of wall time", sc.brokers, sc.rate, sc.end, time.Since(wall).Round(time.Millisecond))
	res.report(t, sc)
	res.check(t, sc)
}

// meter counts what reaches the core, per simulated second.
type meter struct {
	start                              time.Time
	attempts, ok, throttled, refused   []atomic.Int64
	callerRefused, callerExpiredServed []atomic.Int64 // per second, at the brokers' callers
}

func newMeter(end time.Duration) *meter {
	n := int(end/time.Second) + 600
	return &meter{attempts: make([]atomic.Int64, n), ok: make([]atomic.Int64, n), throttled: make([]atomic.Int64, n),
		refused: make([]atomic.Int64, n), callerRefused: make([]atomic.Int64, n), callerExpiredServed: make([]atomic.Int64, n)}
}

func (m *meter) slot() int { return min(int(time.Since(m.start)/time.Second), len(m.attempts)-1) }

// link is the network between the brokers and the core: in-process, counted,
// and cut during the outage (connection refused).
type link struct {
	core http.RoundTripper
	down atomic.Bool
	m    *meter
}

var throttledCode = []byte("<Code>Throttling</Code>")

func (l *link) RoundTrip(r *http.Request) (*http.Response, error) {
	s := l.m.slot()
	l.m.attempts[s].Add(1)
	if l.down.Load() {
		l.m.refused[s].Add(1)
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("dial tcp 127.0.0.1:8913: %w", syscall.ECONNREFUSED)
	}
	resp, err := l.core.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		l.m.ok[s].Add(1)
	case http.StatusBadRequest:
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, throttledCode) {
			l.m.throttled[s].Add(1)
		}
	}
	return resp, nil
}

// caller is the local process asking a broker for credentials.
type caller struct{}

func (caller) UID() uint32               { return 1000 }
func (caller) GIDs() ([]uint32, error)   { return nil, nil }
func (caller) Unit() (string, error)     { return "app.service", nil }
func (caller) Exe() (string, error)      { return "/usr/bin/app", nil }
func (caller) PID() (int, error)         { return 4242, nil }
func (caller) UserName() (string, error) { return "app", nil }

// host is one broker and what its caller saw.
type host struct {
	idx          int
	b            *broker.Broker
	firstServed  time.Duration // -1: never
	lastRefused  time.Duration // -1: never
	refusedInOut bool          // refused during the outage
}

type results struct {
	m     *meter
	hosts []*host
}

// run builds the core and the fleet and plays the scenario, in the bubble.
func run(t *testing.T, sc scenario, cfg *config.Config) *results {
	ctx := context.Background()
	st, err := store.OpenMemory(ctx, accountID, func(o *store.Options) { o.UsageFlushInterval = -1 })
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := fleetAccount(t, ctx, st, sc.brokers)
	core, err := sts.New(ctx, st, func(o *sts.Options) {
		o.Throttle = sts.Throttle{Rate: sc.rate}
		o.SessionCacheSize = 2 * sc.brokers // every host's key stays cached, as on a warm core
	})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()

	m := newMeter(sc.end)
	l := &link{core: broker.InProcessTransport(core.Handler()), m: m}
	hc := &http.Client{Transport: l}
	hosts := make([]*host, sc.brokers)
	for i := range hosts {
		ks := keystore.NewMemory()
		if err := ks.Put("host", keys[i]); err != nil {
			t.Fatal(err)
		}
		up := broker.NewSTSUpstream("us-east-1", func(o *broker.UpstreamOptions) {
			o.Endpoint = "http://127.0.0.1:8913"
			o.HTTPClient = hc
		})
		b, err := broker.New(cfg, func(o *broker.Options) {
			o.Upstream, o.Keys = up, ks
			o.Identify = func(context.Context, imds.Caller) (broker.Caller, error) { return caller{}, nil }
			o.Getenv = func(string) string { return "" }
			o.Hostname = fmt.Sprintf("host%05d", i)
		})
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = &host{idx: i, b: b, firstServed: -1, lastRefused: -1}
	}

	m.start = time.Now()
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Go(func() { h.live(ctx, sc, m) })
	}
	time.Sleep(sc.outageAt)
	l.down.Store(true)
	time.Sleep(sc.outageFor)
	l.down.Store(false)
	wg.Wait()
	for _, h := range hosts {
		h.b.Close()
	}
	return &results{m: m, hosts: hosts}
}

// live is one host: its broker warms at start, as the daemon does, then its
// caller asks for credentials every queryEvery until the end.
func (h *host) live(ctx context.Context, sc scenario, m *meter) {
	h.b.Warm(ctx)
	// Callers start at phases spread over queryEvery (from the host's index,
	// so that runs compare).
	time.Sleep(time.Duration(h.idx*7919%int(sc.queryEvery/time.Millisecond)) * time.Millisecond)
	for time.Since(m.start) < sc.end {
		c, err := h.b.Credentials(ctx, imds.Caller{Endpoint: imds.EndpointIMDS}, roleName)
		now := time.Since(m.start)
		switch {
		case err != nil:
			h.lastRefused = now
			m.callerRefused[m.slot()].Add(1)
			if now >= sc.outageAt && now < sc.outageAt+sc.outageFor {
				h.refusedInOut = true
			}
		case !time.Now().Before(c.Expiration):
			m.callerExpiredServed[m.slot()].Add(1)
		case h.firstServed < 0:
			h.firstServed = now
		}
		time.Sleep(sc.queryEvery)
	}
}

// fleetAccount creates the role and one IAM user per host (in a group allowed
// to assume the role) and returns their keys.
func fleetAccount(t *testing.T, ctx context.Context, st *store.Store, n int) []keystore.Key {
	t.Helper()
	const (
		trust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
		assume = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/fleet"}]}`
	)
	keys := make([]keystore.Key, n)
	err := st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateRole(account.Role{Name: roleName, AssumeRolePolicy: trust, MaxSessionDuration: time.Hour}); err != nil {
			return err
		}
		if _, err := tx.CreateGroup(account.Group{Name: "hosts"}); err != nil {
			return err
		}
		if err := tx.PutInlinePolicy(account.GroupRef("hosts"), "assume", assume); err != nil {
			return err
		}
		for i := range keys {
			name := fmt.Sprintf("host%05d", i)
			if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
				return err
			}
			if err := tx.AddUserToGroup("hosts", name); err != nil {
				return err
			}
			k, err := tx.CreateAccessKey(name)
			if err != nil {
				return err
			}
			keys[i] = keystore.Key{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// sum adds up s[from:to] (seconds).
func sum(s []atomic.Int64, from, to int) int64 {
	var n int64
	for i := from; i < to && i < len(s); i++ {
		n += s[i].Load()
	}
	return n
}

// peak is the busiest second of s[from:to].
func peak(s []atomic.Int64, from, to int) int64 {
	var p int64
	for i := from; i < to && i < len(s); i++ {
		p = max(p, s[i].Load())
	}
	return p
}

func (r *results) report(t *testing.T, sc scenario) {
	m := r.m
	var b strings.Builder
	fmt.Fprintf(&b, "per simulated minute: AssumeRole answered / throttled / refused (outage) / peak attempts in one second / caller queries refused\n")
	for minute := 0; minute < int(sc.end/time.Minute); minute++ {
		from, to := minute*60, minute*60+60
		ok, thr, ref := sum(m.ok, from, to), sum(m.throttled, from, to), sum(m.refused, from, to)
		cref := sum(m.callerRefused, from, to)
		if ok+thr+ref+cref == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %3d min %6d ok %6d throttled %6d refused  peak %4d/s  %5d refused to callers  %s\n",
			minute, ok, thr, ref, peak(m.attempts, from, to), cref, bar(ok, int64(sc.rate*60)))
	}
	t.Log(b.String())
	boot, got := 0, int64(0)
	for ; boot < len(m.ok) && got < int64(sc.brokers); boot++ {
		got += m.ok[boot].Load()
	}
	out := 0
	for _, h := range r.hosts {
		if h.refusedInOut {
			out++
		}
	}
	rec := int((sc.outageAt + sc.outageFor) / time.Second)
	t.Logf("start-up: %d sessions issued in the first %d s (the throttle's floor: %.0f s), with a peak of %d attempts in one second; outage: %d of %d brokers had no valid credential to serve for a while (their sessions expired), none served an expired one",
		got, boot, float64(sc.brokers)/sc.rate, peak(m.attempts, 0, 60), out, sc.brokers)
	back := sum(m.ok, rec, rec+90)
	t.Logf("after the outage: %d waiting brokers came back with a peak of %d attempts/s (2w/60 s = %d/s predicted), %d throttled in the first 5 min (throttle %.0f/s)",
		back, peak(m.attempts, rec, rec+300), 2*back/60, sum(m.throttled, rec, rec+300), sc.rate)
}

// bar draws n against full as a row of up to 40 #.
func bar(n, full int64) string {
	if full <= 0 {
		return ""
	}
	return strings.Repeat("#", int(min(40, (n*40+full-1)/full)))
}

func (r *results) check(t *testing.T, sc scenario) {
	m := r.m
	if n := sum(m.callerExpiredServed, 0, len(m.callerExpiredServed)); n != 0 {
		t.Errorf("%d times a broker served an expired credential", n)
	}
	for i, h := range r.hosts {
		if h.firstServed < 0 || h.firstServed > 5*time.Minute {
			t.Errorf("broker %d first served after %v", i, h.firstServed)
			break
		}
	}
	// After recovery, every broker is served again within BackoffMax (1 min)
	// plus a query interval.
	back := sc.outageAt + sc.outageFor + time.Minute + sc.queryEvery
	for i, h := range r.hosts {
		if h.lastRefused > back {
			t.Errorf("broker %d refused its caller at %v, after the core was back at %v", i, h.lastRefused, sc.outageAt+sc.outageFor)
			break
		}
	}
	// No storm: from the recovery to the end, no second sees more requests
	// than the throttle admits.
	rec := int((sc.outageAt + sc.outageFor) / time.Second)
	if p := peak(m.attempts, rec, int(sc.end/time.Second)); float64(p) > sc.rate {
		t.Errorf("after the outage a second saw %d requests, over the throttle's %.0f", p, sc.rate)
	}
	if n := sum(m.throttled, rec, int(sc.end/time.Second)); n > 0 {
		t.Errorf("%d requests throttled after the outage", n)
	}
}
