package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/hashicorp/go-hclog"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// upstream is a fake STS: it mints credentials of life from the fake
// clock, or fails with fail; with a gate it blocks until the gate opens.
type upstream struct {
	clock *clocktest.Clock
	mu    sync.Mutex
	calls int
	life  time.Duration
	fail  error
	gate  chan struct{}
	// entered, if set, hears of every call as it starts.
	entered chan int
}

func (u *upstream) Fetch(ctx context.Context) (aws.Credentials, error) {
	u.mu.Lock()
	u.calls++
	n, gate, fail, life, entered := u.calls, u.gate, u.fail, u.life, u.entered
	u.mu.Unlock()
	if entered != nil {
		entered <- n
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return aws.Credentials{}, ctx.Err()
		}
	}
	if fail != nil {
		return aws.Credentials{}, fail
	}
	return aws.Credentials{
		AccessKeyID: fmt.Sprintf("ASIA%012d", n), SecretAccessKey: "secret", SessionToken: "token",
		CanExpire: true, Expires: u.clock.Now().Add(life),
	}, nil
}

func (u *upstream) set(fn func(u *upstream)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fn(u)
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls
}

type fixture struct {
	clock *clocktest.Clock
	up    *upstream
	cache *Cache
	s     *Session
	logs  *logtest.Buffer
}

// newFixture builds a cache on a fake clock with jitter r (0 = none).
func newFixture(t *testing.T, life time.Duration, r float64, optFns ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{clock: clocktest.New(t0), logs: &logtest.Buffer{}}
	f.up = &upstream{clock: f.clock, life: life}
	f.cache = New(append([]func(*Options){func(o *Options) {
		o.Clock = f.clock
		o.Rand = func() float64 { return r }
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: f.logs, Level: hclog.Debug})
	}}, optFns...)...)
	t.Cleanup(f.cache.Close)
	f.s = f.cache.Session(Key{Role: "dev"}, "keyring alice", f.up)
	return f
}

// settle waits for the fetch under way, if any, to be fully recorded.
func (f *fixture) settle(t *testing.T) {
	t.Helper()
	f.s.mu.Lock()
	cl := f.s.inflight
	f.s.mu.Unlock()
	if cl == nil {
		return
	}
	select {
	case <-cl.done:
	case <-time.After(10 * time.Second):
		t.Fatal("fetch did not finish")
	}
}

func (f *fixture) get(t *testing.T) (aws.Credentials, error) {
	t.Helper()
	return f.s.Get(context.Background())
}

func TestConcurrentMissesMakeOneCall(t *testing.T) {
	f := newFixture(t, time.Hour, 0, func(o *Options) { o.MissWait = time.Hour })
	gate := make(chan struct{})
	f.up.set(func(u *upstream) { u.gate = gate })

	const callers = 1000
	var wg sync.WaitGroup
	var ok atomic.Int32
	keys := make(chan string, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.get(t)
			if err == nil {
				ok.Add(1)
				keys <- c.AccessKeyID
			}
		}()
	}
	// Every caller is waiting (each holds a MissWait timer) before the
	// upstream answers.
	f.clock.BlockUntil(callers)
	close(gate)
	wg.Wait()
	close(keys)
	if n := f.up.count(); n != 1 {
		t.Errorf("%d upstream calls for %d concurrent misses, want 1", n, callers)
	}
	if ok.Load() != callers {
		t.Errorf("%d of %d callers got credentials", ok.Load(), callers)
	}
	for k := range keys {
		if k != "ASIA000000000001" {
			t.Fatalf("a caller got %s", k)
		}
	}
}

func TestHitsDoNotCallUpstream(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	first, err := f.get(t)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		f.clock.Advance(20 * time.Second)
		c, err := f.get(t)
		if err != nil || c.AccessKeyID != first.AccessKeyID {
			t.Fatalf("got %s, %v", c.AccessKeyID, err)
		}
	}
	if n := f.up.count(); n != 1 {
		t.Errorf("%d upstream calls, want 1", n)
	}
}

func TestRefreshAheadInBackground(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	first, err := f.get(t)
	if err != nil {
		t.Fatal(err)
	}
	// Refresh is due at 40m (20m left, which is also a third of 1h).
	if p := f.clock.Pending(); len(p) != 1 || p[0] != 40*time.Minute {
		t.Fatalf("pending timers %v, want the refresh at 40m", p)
	}
	gate, entered := make(chan struct{}), make(chan int, 1)
	f.up.set(func(u *upstream) { u.gate, u.entered = gate, entered })
	f.clock.Advance(40 * time.Minute) // the refresh starts, and blocks
	if n := <-entered; n != 2 {
		t.Fatalf("call %d started", n)
	}
	// Callers are answered at once from the cache while it runs.
	for range 10 {
		c, err := f.get(t)
		if err != nil || c.AccessKeyID != first.AccessKeyID {
			t.Fatalf("during the refresh: %s, %v", c.AccessKeyID, err)
		}
	}
	if n := f.up.count(); n != 2 {
		t.Fatalf("%d upstream calls, want 2 (one refresh)", n)
	}
	if st := f.s.Status(); !st.Refreshing || st.State != StateReady {
		t.Errorf("status during refresh: %+v", st)
	}
	close(gate)
	f.settle(t)
	c, _ := f.get(t)
	if c.AccessKeyID != "ASIA000000000002" {
		t.Errorf("after the refresh: %s", c.AccessKeyID)
	}
}

func TestRefreshSchedule(t *testing.T) {
	for _, tc := range []struct {
		life    time.Duration
		r       float64
		refresh time.Duration // after issue
	}{
		{time.Hour, 0, 40 * time.Minute},                        // 20m left = a third
		{12 * time.Hour, 0, 8 * time.Hour},                      // a third (4h) left comes first
		{90 * time.Minute, 0, 60 * time.Minute},                 // 30m left (a third) comes before 20m
		{30 * time.Minute, 0, 10 * time.Minute},                 // 20m left
		{time.Hour, 0.5, 40*time.Minute - 150*time.Second},      // jitter: half of min(20m/4, 5m)
		{12 * time.Hour, 0.999999, 8*time.Hour - 5*time.Minute}, // jitter capped at 5m
		{15 * time.Minute, 0, 5 * time.Minute},                  // short: a third of the life used first
	} {
		f := newFixture(t, tc.life, tc.r)
		if _, err := f.get(t); err != nil {
			t.Fatal(err)
		}
		p := f.clock.Pending()
		if len(p) != 1 || (p[0]-tc.refresh).Abs() > time.Second {
			t.Errorf("life %v jitter %v: refresh after %v, want %v", tc.life, tc.r, p, tc.refresh)
		}
	}
}

func TestFloorHeldWhileUpstreamIsHealthy(t *testing.T) {
	f := newFixture(t, time.Hour, 0.7)
	for step := range 6 * 60 { // six hours, a minute at a time
		c, err := f.get(t)
		if err != nil {
			t.Fatalf("minute %d: %v", step, err)
		}
		if left := c.Expires.Sub(f.clock.Now()); left < 15*time.Minute {
			t.Fatalf("minute %d: handed out %s with %v left", step, c.AccessKeyID, left)
		}
		f.clock.Advance(time.Minute)
		f.settle(t)
	}
	// About one refresh per 36-40 minutes.
	if n := f.up.count(); n < 9 || n > 12 {
		t.Errorf("%d upstream calls in 6h of 1h sessions", n)
	}
	if strings.Contains(f.logs.String(), "floor") {
		t.Errorf("floor warnings while healthy:\n%s", f.logs)
	}
}

func TestOutageServesUntilExpiry(t *testing.T) {
	f := newFixture(t, time.Hour, 0.5)
	good, err := f.get(t)
	if err != nil {
		t.Fatal(err)
	}
	outage := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	f.up.set(func(u *upstream) { u.fail = outage })

	// Walk through the outage a few seconds at a time; timers (refresh,
	// retries) fire as the clock passes them.
	var sawBelowFloor bool
	for f.clock.Now().Before(good.Expires) {
		c, err := f.get(t)
		if err != nil || c.AccessKeyID != good.AccessKeyID {
			t.Fatalf("at %v: %s, %v: a failed refresh must not replace good credentials", f.clock.Now().Sub(t0), c.AccessKeyID, err)
		}
		st := f.s.Status()
		below := c.Expires.Sub(f.clock.Now()) < 15*time.Minute
		if st.BelowFloor != below || (below && st.State != StateBelowFloor) {
			t.Fatalf("at %v: status %+v", f.clock.Now().Sub(t0), st)
		}
		sawBelowFloor = sawBelowFloor || below
		f.clock.Advance(7 * time.Second)
		f.settle(t)
	}
	if !sawBelowFloor || strings.Count(f.logs.String(), "less than the floor") != 1 {
		t.Errorf("below-floor served %v; log:\n%s", sawBelowFloor, f.logs)
	}
	// Retries backed off: the outage lasts from the refresh point (20 min
	// before expiry, and the jitter: half of 5 min) to expiry. Backoff
	// doubles from BackoffBase to BackoffMax with "full jitter" (a uniform
	// draw below the doubled value; the fixture's random is 0.5), so once
	// capped a retry comes every BackoffMax/2. The count lies between one
	// per BackoffMax and one per BackoffMax/2 after the doubling phase: far
	// fewer than one per 7-second step.
	o := f.cache.o
	outageLen := 20*time.Minute + 150*time.Second
	doubling := 0
	for d := o.BackoffBase; d < o.BackoffMax; d *= 2 {
		doubling++
	}
	lo := int(outageLen / o.BackoffMax)
	hi := 1 + doubling + int(outageLen/(o.BackoffMax/2))
	if n := f.up.count(); n < lo || n > hi {
		t.Errorf("%d upstream calls in a 20-minute outage, want %d..%d", n, lo, hi)
	}

	// Expired: callers get the classified error at once.
	_, err = f.get(t)
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != Retryable || ce.Code != "Unreachable" {
		t.Fatalf("after expiry: %v", err)
	}
	if st := f.s.Status(); st.State != StateFailed || st.LastError == nil {
		t.Errorf("status after expiry: %+v", st)
	}

	// The upstream recovers: the next retry brings fresh credentials.
	f.up.set(func(u *upstream) { u.fail = nil })
	f.clock.Advance(time.Minute)
	f.settle(t)
	c, err := f.get(t)
	if err != nil || c.Expires.Sub(f.clock.Now()) < 59*time.Minute {
		t.Fatalf("after recovery: %+v, %v", c, err)
	}
	if st := f.s.Status(); st.State != StateReady || st.Failures != 0 {
		t.Errorf("status after recovery: %+v", st)
	}
}

func TestNotReadyIsFast(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	gate := make(chan struct{})
	f.up.set(func(u *upstream) { u.gate = gate })
	done := make(chan error)
	go func() {
		_, err := f.get(t)
		done <- err
	}()
	f.clock.BlockUntil(1) // the caller waits with its MissWait timer
	f.clock.Advance(500 * time.Millisecond)
	if err := <-done; !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
	// A caller whose context ends gives up too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.s.Get(ctx); !errors.Is(err, ErrNotReady) {
		t.Fatalf("canceled: %v", err)
	}
	// The fetch went on in the background; once it lands callers are served.
	close(gate)
	f.settle(t)
	if c, err := f.get(t); err != nil || !c.HasKeys() {
		t.Fatalf("after the fetch: %v", err)
	}
	if n := f.up.count(); n != 1 {
		t.Errorf("%d upstream calls, want 1", n)
	}
}

func TestFailureAnswersAtOnceDuringBackoff(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole"}
	f.up.set(func(u *upstream) { u.fail = denied })
	_, err := f.get(t)
	var ce *Error
	if !errors.As(err, &ce) || ce.Kind != NonRecoverable || !strings.Contains(ce.Message, "trust policy") {
		t.Fatalf("err = %v", err)
	}
	for range 5 {
		if _, err := f.get(t); !errors.As(err, &ce) {
			t.Fatalf("during backoff: %v", err)
		}
	}
	if n := f.up.count(); n != 1 {
		t.Errorf("%d upstream calls during backoff, want 1", n)
	}
	// Non-recoverable: the next try is SlowRetry (5m, equal jitter) away.
	if p := f.clock.Pending(); len(p) != 1 || p[0] != 150*time.Second {
		t.Errorf("retry after %v, want 2m30s (half of 5m with jitter 0)", p)
	}
	if !strings.Contains(f.logs.String(), "[ERROR]") {
		t.Errorf("a non-recoverable failure is logged as an error:\n%s", f.logs)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	f := newFixture(t, time.Hour, 0.999999)
	f.up.set(func(u *upstream) { u.fail = &net.OpError{Op: "dial", Err: errors.New("refused")} })
	if _, err := f.get(t); err == nil {
		t.Fatal("no error")
	}
	var got []time.Duration
	for range 9 {
		p := f.clock.Pending()
		if len(p) != 1 {
			t.Fatalf("pending %v", p)
		}
		got = append(got, p[0].Round(time.Second))
		f.clock.Advance(p[0])
		f.settle(t)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("retry delays %v, want %v seconds", got, want)
		}
	}
}

func TestBadUpstreamAnswers(t *testing.T) {
	for name, creds := range map[string]aws.Credentials{
		"empty":   {},
		"expired": {AccessKeyID: "ASIA1", SecretAccessKey: "s", CanExpire: true, Expires: t0.Add(-time.Minute)},
	} {
		f := newFixture(t, time.Hour, 0)
		s := f.cache.Session(Key{Role: name}, "test", FetchFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }))
		if _, err := s.Get(context.Background()); err == nil {
			t.Errorf("%s credentials were accepted", name)
		}
		if st := s.Status(); st.State != StateFailed || st.AccessKeyID != "" {
			t.Errorf("%s: status %+v", name, st)
		}
	}
}

func TestWarmAndStatus(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	if st := f.s.Status(); st.State != StatePending || st.Role != "dev" || st.Source != "keyring alice" {
		t.Errorf("before: %+v", st)
	}
	if err := f.s.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := f.cache.Status()
	if len(all) != 1 || all[0].State != StateReady || all[0].Expires != t0.Add(time.Hour) || all[0].LastRefresh != t0 || all[0].NextAttempt != t0.Add(40*time.Minute) {
		t.Errorf("after Warm: %+v", all)
	}
	if err := f.s.Warm(context.Background()); err != nil || f.up.count() != 1 {
		t.Errorf("a second Warm fetched again (%d calls, %v)", f.up.count(), err)
	}
}

func TestRetainAndClose(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	other := f.cache.Session(Key{Role: "ops", Binding: "alice"}, "x", f.up)
	if f.cache.Session(Key{Role: "ops", Binding: "alice"}, "y", nil) != other {
		t.Fatal("Session did not return the existing session")
	}
	if _, err := other.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.cache.Retain(func(k Key) bool { return k.Role == "dev" })
	if f.cache.Lookup(other.Key()) != nil {
		t.Error("retained a dropped session")
	}
	if _, err := other.Get(context.Background()); !errors.Is(err, ErrClosed) && err != nil {
		t.Errorf("dropped session: %v", err)
	}
	if p := f.clock.Pending(); len(p) != 0 {
		t.Errorf("a dropped session left timers: %v", p)
	}
	f.cache.Close()
	if _, err := f.get(t); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		kind Kind
		code string
		fix  string
	}{
		"denied":       {&smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}, NonRecoverable, "AccessDenied", "trust policy"},
		"mfa":          {&smithy.GenericAPIError{Code: "AccessDenied", Message: "MultiFactorAuthentication failed with invalid MFA one time pass code."}, NonRecoverable, "AccessDenied", "credbroker mfa"},
		"expired src":  {&smithy.GenericAPIError{Code: "ExpiredToken", Message: "The security token included in the request is expired"}, NonRecoverable, "ExpiredToken", "mfa"},
		"expired oidc": {&smithy.GenericAPIError{Code: "ExpiredTokenException", Message: "Token expired"}, NonRecoverable, "ExpiredTokenException", "token file"},
		"bad key":      {&smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}, NonRecoverable, "InvalidClientTokenId", "keys add"},
		"bad secret":   {&smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, NonRecoverable, "SignatureDoesNotMatch", "keys add"},
		"oidc":         {&smithy.GenericAPIError{Code: "InvalidIdentityToken"}, NonRecoverable, "InvalidIdentityToken", "OIDC provider"},
		"idp down":     {&smithy.GenericAPIError{Code: "IDPCommunicationError"}, Retryable, "IDPCommunicationError", ""},
		"policy":       {&smithy.GenericAPIError{Code: "PackedPolicyTooLarge"}, NonRecoverable, "PackedPolicyTooLarge", "session policy"},
		"throttled":    {&smithy.GenericAPIError{Code: "Throttling"}, Retryable, "Throttling", "backoff"},
		"limit":        {&smithy.GenericAPIError{Code: "RequestLimitExceeded"}, Retryable, "RequestLimitExceeded", "backoff"},
		"unavailable":  {httpErr(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), Retryable, "ServiceUnavailable", "backoff"},
		"5xx":          {httpErr(502, errors.New("bad gateway")), Retryable, "HTTP502", "backoff"},
		"timeout":      {fmt.Errorf("operation error STS: AssumeRole: %w", context.DeadlineExceeded), Retryable, "Timeout", ""},
		"network":      {&net.OpError{Op: "dial", Err: errors.New("refused")}, Retryable, "Unreachable", ""},
		"human":        {NeedsHuman("MFARequired", "role dev needs an MFA session: run `credbroker mfa dev`", nil), NonRecoverable, "MFARequired", "credbroker mfa"},
		"other":        {errors.New("boom"), Retryable, "UpstreamError", "boom"},
	} {
		ce := Classify(tc.err)
		if ce.Kind != tc.kind || ce.Code != tc.code || !strings.Contains(ce.Message, tc.fix) {
			t.Errorf("%s: %v %q %q", name, ce.Kind, ce.Code, ce.Message)
		}
		if !errors.Is(ce, tc.err) && ce != tc.err {
			t.Errorf("%s: the cause is lost", name)
		}
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

// httpErr is err as the SDK returns it with an HTTP response of status.
func httpErr(status int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
}

// seeded returns a deterministic source of uniform draws in [0, 1), safe for
// the cache's goroutines.
func seeded(seed uint64) func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}

// peak returns the most of ds falling in one bucket of width w.
func peak(ds []time.Duration, w time.Duration) int {
	n := map[time.Duration]int{}
	best := 0
	for _, d := range ds {
		b := d / w
		n[b]++
		best = max(best, n[b])
	}
	return best
}

// TestRefreshesOfAFleetSpread: sessions fetched at the same moment (a fleet
// coming up together, or back after an outage) are refreshed over the
// jitter window before the refresh point, not at one instant.
func TestRefreshesOfAFleetSpread(t *testing.T) {
	const n = 1000
	f := newFixture(t, time.Hour, 0, func(o *Options) { o.Rand = seeded(1) })
	for i := range n {
		s := f.cache.Session(Key{Role: fmt.Sprint("r", i)}, "keyring", f.up)
		if err := s.Warm(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	p := f.clock.Pending()
	if len(p) != n {
		t.Fatalf("%d refreshes pending, want %d", len(p), n)
	}
	// 1h sessions: refreshed 20 min before expiry, up to 5 min earlier.
	if first, last := p[0], p[n-1]; first < 35*time.Minute || last > 40*time.Minute || last-first < 4*time.Minute {
		t.Errorf("refreshes from %v to %v after the fetch, want spread over 35m..40m", first, last)
	}
	// Evenly: n/30 per 10 s on average.
	if got := peak(p, 10*time.Second); got > 2*n/30 {
		t.Errorf("%d of %d refreshes fall in one 10-second window", got, n)
	}
}

// TestBackoffFullJitter: retries after a shared failure are drawn uniformly
// over the whole backoff window ("full jitter"), at the first failure and
// once capped, so a fleet's retries after an outage arrive at about
// n/BackoffMax per second, not in a burst.
func TestBackoffFullJitter(t *testing.T) {
	const n = 1000
	f := newFixture(t, time.Hour, 0, func(o *Options) { o.Rand = seeded(2) })
	f.up.set(func(u *upstream) { u.fail = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"} })
	for i := range n {
		s := f.cache.Session(Key{Role: fmt.Sprint("r", i)}, "keyring", f.up)
		if err := s.Warm(context.Background()); err == nil {
			t.Fatal("no error")
		}
	}
	p := f.clock.Pending()
	o := f.cache.o
	early := 0
	for _, d := range p {
		if d < minBackoff || d >= o.BackoffBase {
			t.Fatalf("first retry after %v, want within [%v, %v)", d, minBackoff, o.BackoffBase)
		}
		if d < o.BackoffBase/2 {
			early++
		}
	}
	if early < n*4/10 {
		t.Errorf("%d of %d first retries in the first half of the window, want about half", early, n)
	}

	// Capped: a session failing for long retries within BackoffMax, evenly.
	s := f.cache.Lookup(Key{Role: "r0"})
	s.mu.Lock()
	s.failures = 20
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = s.backoff(Retryable)
	}
	s.mu.Unlock()
	slices.Sort(ds)
	if ds[0] > 2*time.Second || ds[n-1] > o.BackoffMax || ds[n-1] < o.BackoffMax-2*time.Second {
		t.Errorf("capped retries from %v to %v, want spread over [0, %v)", ds[0], ds[n-1], o.BackoffMax)
	}
	if got := peak(ds, time.Second); got > 2*n/60 {
		t.Errorf("%d of %d capped retries in one second, want about %d", got, n, n/60)
	}
}

// BenchmarkGet measures a cache hit against a same-run baseline: the two
// things a hit cannot avoid, a clock read and an atomic load.
func BenchmarkGet(b *testing.B) {
	c := New()
	defer c.Close()
	s := c.Session(Key{Role: "dev"}, "bench", FetchFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "ASIA", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
	}))
	if err := s.Warm(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("baseline-now+load", func(b *testing.B) {
		b.ReportAllocs()
		var sink bool
		for b.Loop() {
			e := s.cur.Load()
			sink = time.Now().Before(e.fastUntil)
		}
		_ = sink
	})
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("lookup+hit", func(b *testing.B) {
		b.ReportAllocs()
		key := Key{Role: "dev"}
		for b.Loop() {
			if _, err := c.Lookup(key).Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestNeverServesExpiredAfterWaiting: a caller finding credentials under
// the floor waits (up to MissWait) for the refresh under way; if they
// expire during that wait, it gets "not ready", never the expired ones.
func TestNeverServesExpiredAfterWaiting(t *testing.T) {
	f := newFixture(t, time.Hour, 0)
	good, err := f.get(t)
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	defer close(gate)
	f.up.set(func(u *upstream) { u.gate = gate }) // the refresh hangs
	f.clock.Advance(good.Expires.Sub(f.clock.Now()) - 200*time.Millisecond)
	done := make(chan struct{})
	var c aws.Credentials
	go func() {
		defer close(done)
		c, err = f.get(t)
	}()
	f.clock.BlockUntil(1) // the caller's MissWait timer
	f.clock.Advance(f.cache.o.MissWait)
	<-done
	if err == nil {
		t.Fatalf("served %s at expiry+%v", c.AccessKeyID, f.clock.Now().Sub(c.Expires))
	}
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("err = %v, want ErrNotReady", err)
	}
}
