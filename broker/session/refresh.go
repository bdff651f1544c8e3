package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"
)

func defaultRand() float64 { return rand.Float64() }

// entry is one set of credentials and the times that govern it.
type entry struct {
	creds aws.Credentials
	// fastUntil is min(refreshAt, floorAt): before it, Get is a load and a
	// clock read.
	fastUntil time.Time
	refreshAt time.Time
	floorAt   time.Time
	gotAt     time.Time
}

// call is one upstream fetch that callers may wait for.
type call struct {
	done  chan struct{}
	creds aws.Credentials
	err   error
}

// Session is the cached session of one Key.
type Session struct {
	c       *Cache
	key     Key
	source  string
	fetcher Fetcher
	log     hclog.Logger

	cur atomic.Pointer[entry]

	mu           sync.Mutex
	inflight     *call
	timer        Timer
	nextAt       time.Time // when timer fires
	retryAt      time.Time // no fetch before this after a failure
	failures     int
	lastRefresh  time.Time
	lastErr      *Error
	lastErrAt    time.Time
	belowFloor   bool // logged that we serve under the floor
	expiredNoted bool // logged that the session expired unrenewed
	closed       bool
}

// Key returns the session's key.
func (s *Session) Key() Key { return s.key }

// Get returns credentials with at least the floor left, from the cache
// when it can (no allocation, no lock). Otherwise:
//   - a refresh is due but the credentials are above the floor: they are
//     returned at once and the refresh runs in the background;
//   - they are under the floor but not expired: during an upstream outage
//     they are returned as they are (logged, and flagged in Status);
//     otherwise the caller waits up to MissWait for the refresh;
//   - nothing usable: the caller waits up to MissWait (or ctx) for the one
//     fetch under way, then gets ErrNotReady; after a failed fetch it gets
//     that failure (*Error) at once until the next retry.
func (s *Session) Get(ctx context.Context) (aws.Credentials, error) {
	if e := s.cur.Load(); e != nil && s.c.o.Clock.Now().Before(e.fastUntil) {
		return e.creds, nil
	}
	return s.slow(ctx)
}

func (s *Session) slow(ctx context.Context) (aws.Credentials, error) {
	now := s.c.o.Clock.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return aws.Credentials{}, ErrClosed
	}
	e := s.cur.Load()
	if e != nil && e.creds.CanExpire && !now.Before(e.creds.Expires) {
		e = nil // expired: as good as nothing
		if !s.expiredNoted {
			s.expiredNoted = true
			args := []any{"expired", s.cur.Load().creds.Expires.UTC()}
			if s.lastErr != nil {
				args = append(args, "last_error", s.lastErr.Message)
			}
			s.log.Error("session expired before the upstream renewed it; callers get no credentials until it recovers", args...)
		}
	}
	if e != nil && now.Before(e.floorAt) {
		// A refresh is due; these are still good: don't wait for it.
		s.startLocked(now, false)
		s.mu.Unlock()
		return e.creds, nil
	}
	cl := s.startLocked(now, false)
	outage := s.failures > 0
	lastErr := s.lastErr
	s.mu.Unlock()

	if obs := s.c.o.Observer; obs != nil {
		obs.Missed(s.key)
	}
	if e != nil {
		// Under the floor but valid.
		if cl != nil && !outage {
			r, ok := s.wait(ctx, cl)
			if ok && r.err == nil {
				return r.creds, nil
			}
			// The wait took time: what was valid may have expired since.
			if now = s.c.o.Clock.Now(); e.creds.CanExpire && !now.Before(e.creds.Expires) {
				if ok {
					return aws.Credentials{}, r.err
				}
				return aws.Credentials{}, ErrNotReady
			}
		}
		s.noteBelowFloor(e, now)
		return e.creds, nil
	}
	if cl == nil {
		// Backing off after a failure: answer now.
		if lastErr != nil {
			return aws.Credentials{}, lastErr
		}
		return aws.Credentials{}, ErrNotReady
	}
	r, ok := s.wait(ctx, cl)
	if !ok {
		return aws.Credentials{}, ErrNotReady
	}
	return r.creds, r.err
}

// wait waits for cl up to MissWait or ctx; ok is false on timeout.
func (s *Session) wait(ctx context.Context, cl *call) (*call, bool) {
	select {
	case <-cl.done:
		return cl, true
	default:
	}
	timeout := make(chan struct{})
	t := s.c.o.Clock.AfterFunc(s.c.o.MissWait, func() { close(timeout) })
	defer t.Stop()
	select {
	case <-cl.done:
		return cl, true
	case <-timeout:
	case <-ctx.Done():
	}
	return nil, false
}

// Warm fetches credentials unless good ones are cached, and waits for the
// outcome (or ctx): for start-up, before the daemon says it is ready.
func (s *Session) Warm(ctx context.Context) error {
	now := s.c.o.Clock.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if e := s.cur.Load(); e != nil && now.Before(e.floorAt) {
		s.mu.Unlock()
		return nil
	}
	cl := s.startLocked(now, true)
	s.mu.Unlock()
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startLocked returns the fetch under way, or starts one unless a failure
// asks to wait (retryAt) or the last refresh was too recent; force (the
// refresh timer, Warm) ignores both. nil means no fetch.
func (s *Session) startLocked(now time.Time, force bool) *call {
	if s.inflight != nil {
		return s.inflight
	}
	if s.closed {
		return nil
	}
	if !force {
		if now.Before(s.retryAt) {
			return nil
		}
		if e := s.cur.Load(); e != nil && now.Before(s.lastRefresh.Add(s.c.o.MinInterval)) {
			return nil
		}
	}
	cl := &call{done: make(chan struct{})}
	s.inflight = cl
	s.stopTimerLocked()
	go s.run(cl)
	return cl
}

func (s *Session) run(cl *call) {
	o := &s.c.o
	ctx, cancel := context.WithTimeout(s.c.ctx, o.FetchTimeout)
	start := o.Clock.Now()
	creds, err := s.fetcher.Fetch(ctx)
	cancel()
	now := o.Clock.Now()
	if err == nil {
		switch {
		case !creds.HasKeys():
			err = errors.New("the upstream returned empty credentials")
		case creds.CanExpire && !now.Before(creds.Expires):
			err = errors.New("the upstream returned credentials that have already expired (is this host's clock right?)")
		}
	}
	if obs := o.Observer; obs != nil {
		obs.Fetched(s.key, now.Sub(start), err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	defer close(cl.done)
	if s.closed {
		cl.err = ErrClosed
		return
	}
	if err != nil {
		ce := Classify(err)
		s.failures++
		s.lastErr, s.lastErrAt = ce, now
		d := s.backoff(ce.Kind)
		s.retryAt = now.Add(d)
		s.scheduleLocked(s.retryAt, now)
		cl.err = ce
		lvl := hclog.Warn
		if ce.Kind == NonRecoverable {
			lvl = hclog.Error
		}
		s.log.Log(lvl, "session refresh failed; keeping what is cached", "code", ce.Code, "kind", ce.Kind.String(),
			"error", ce.Message, "failures", s.failures, "retry_in", d.Round(time.Second))
		if ce.Err != nil {
			s.log.Debug("session refresh failure cause", "cause", ce.Err.Error())
		}
		return
	}
	e := s.newEntry(creds, now)
	s.cur.Store(e)
	if s.failures > 0 {
		s.log.Info("session refreshed after failures", "failures", s.failures, "expires", creds.Expires.UTC())
	}
	s.failures, s.retryAt, s.lastRefresh = 0, time.Time{}, now
	s.belowFloor, s.expiredNoted = false, false
	s.scheduleLocked(e.refreshAt, now)
	cl.creds = creds
	s.log.Debug("session refreshed", "access_key_id", creds.AccessKeyID, "expires", creds.Expires.UTC(), "next_refresh", e.refreshAt.UTC())
}

// newEntry works out when creds are refreshed and when they fall under the
// floor.
func (s *Session) newEntry(creds aws.Credentials, now time.Time) *entry {
	o := &s.c.o
	e := &entry{creds: creds, gotAt: now}
	if !creds.CanExpire {
		far := now.AddDate(100, 0, 0)
		e.fastUntil, e.refreshAt, e.floorAt = far, far, far
		return e
	}
	life := creds.Expires.Sub(now)
	// Refresh when a third of the life or RefreshAhead is left, whichever
	// comes first, but not before two thirds of the life... of short ones,
	// not before a third of it has been used.
	lead := max(life/3, o.RefreshAhead)
	lead = min(lead, life*2/3)
	jitter := time.Duration(o.Rand() * float64(min(lead/4, o.MaxJitter)))
	e.refreshAt = creds.Expires.Add(-lead - jitter)
	if earliest := now.Add(o.MinInterval); e.refreshAt.Before(earliest) {
		e.refreshAt = earliest
	}
	e.floorAt = creds.Expires.Add(-o.Floor)
	e.fastUntil = e.refreshAt
	if e.floorAt.Before(e.fastUntil) {
		e.fastUntil = e.floorAt
	}
	return e
}

// backoff is the wait before the next attempt after s.failures failures.
//
// Retryable failures (throttling, 5xx, an unreachable upstream) back off
// exponentially with "full jitter": a uniform draw in [0, min(BackoffMax,
// BackoffBase·2^(failures-1))), floored at minBackoff. A fleet of brokers
// that failed together (an outage of the core, a throttled burst) thus
// comes back spread evenly over the whole window instead of in its second
// half as with "equal jitter", which halves the peak request rate when the
// upstream recovers (AWS Architecture Blog, "Exponential Backoff And
// Jitter"; the AWS SDKs' retryers draw the same way).
//
// Non-recoverable failures wait SlowRetry, half of it jittered: someone has
// to act before a retry can help, and what matters is only that a fleet's
// retries do not line up.
func (s *Session) backoff(k Kind) time.Duration {
	o := &s.c.o
	if k == NonRecoverable {
		d := o.SlowRetry
		return d/2 + time.Duration(o.Rand()*float64(d/2))
	}
	d := o.BackoffBase
	for i := 1; i < s.failures && d < o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.BackoffMax)
	return max(time.Duration(o.Rand()*float64(d)), minBackoff)
}

// minBackoff keeps a retry drawn at the very start of its window from being
// immediate.
const minBackoff = 50 * time.Millisecond

func (s *Session) scheduleLocked(at, now time.Time) {
	s.stopTimerLocked()
	s.nextAt = at
	s.timer = s.c.o.Clock.AfterFunc(max(at.Sub(now), 0), s.onTimer)
}

func (s *Session) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer, s.nextAt = nil, time.Time{}
	}
}

func (s *Session) onTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer, s.nextAt = nil, time.Time{}
	s.startLocked(s.c.o.Clock.Now(), true)
}

// noteBelowFloor logs, once per episode, that credentials under the floor
// are being served (and, once, that none are left).
func (s *Session) noteBelowFloor(e *entry, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.belowFloor {
		return
	}
	s.belowFloor = true
	args := []any{"expires", e.creds.Expires.UTC(), "left", e.creds.Expires.Sub(now).Round(time.Second), "floor", s.c.o.Floor}
	if s.lastErr != nil {
		args = append(args, "last_error", s.lastErr.Message)
	}
	s.log.Warn("serving credentials with less than the floor left: the upstream has not renewed them", args...)
}

func (s *Session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.stopTimerLocked()
}

// State summarises a session for status.
type State string

// States of a session.
const (
	StateReady      State = "ready"       // credentials above the floor
	StateBelowFloor State = "below-floor" // served under the floor: upstream failing
	StatePending    State = "pending"     // nothing cached yet; first fetch not done
	StateFailed     State = "failed"      // nothing usable cached and the last fetch failed
	StateClosed     State = "closed"
)

// Status is a snapshot of one session.
type Status struct {
	Role    string
	Binding string
	Source  string
	State   State
	// AccessKeyID of the current credentials (not a secret).
	AccessKeyID string
	Expires     time.Time
	LastRefresh time.Time
	// NextAttempt is when the next refresh or retry is scheduled.
	NextAttempt time.Time
	Refreshing  bool
	// BelowFloor: the credentials served have less than the floor left.
	BelowFloor bool
	Failures   int
	// LastError is the classified last failure (nil if none yet); it stays
	// after a success, as history.
	LastError   *Error
	LastErrorAt time.Time
}

// Status returns a snapshot of the session.
func (s *Session) Status() Status {
	now := s.c.o.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Role: s.key.Role, Binding: s.key.Binding, Source: s.source,
		LastRefresh: s.lastRefresh, NextAttempt: s.nextAt, Refreshing: s.inflight != nil,
		Failures: s.failures, LastError: s.lastErr, LastErrorAt: s.lastErrAt,
	}
	e := s.cur.Load()
	valid := e != nil && (!e.creds.CanExpire || now.Before(e.creds.Expires))
	switch {
	case s.closed:
		st.State = StateClosed
	case valid && now.Before(e.floorAt):
		st.State = StateReady
	case valid:
		st.State, st.BelowFloor = StateBelowFloor, true
	case s.lastErr != nil && s.failures > 0:
		st.State = StateFailed
	default:
		st.State = StatePending
	}
	if e != nil {
		st.AccessKeyID = e.creds.AccessKeyID
		if e.creds.CanExpire {
			st.Expires = e.creds.Expires
		}
	}
	return st
}
