// Package clocktest is the project's one fake clock. Its time stands still
// until Advance moves it (or, after Run, follows the wall clock from where it
// stood); timers made with AfterFunc run in Advance's goroutine, in order of
// their due time. Every package's tests use it.
package clocktest

import (
	"sort"
	"sync"
	"time"
)

// Start is the default start time: a fixed instant, so test output is stable.
var Start = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// Timer is a pending AfterFunc. It is an alias of the unnamed interface so that
// a Clock satisfies any package's Clock interface that declares its Timer the same
// way (broker/session does).
type Timer = interface{ Stop() bool }

// Clock is a fake clock. The zero value is not ready: use New.
type Clock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	real   time.Time // when set, Now is now plus the wall time since real
	timers []*timer
}

type timer struct {
	c  *Clock
	at time.Time
	f  func()
}

// New returns a clock standing at start.
func New(start time.Time) *Clock {
	c := &Clock{now: start}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.real.IsZero() {
		return c.now
	}
	return c.now.Add(time.Since(c.real)).In(c.now.Location())
}

// Run makes the clock follow the wall clock from its current time on, for
// clients that sign requests with the real time. Advance still adds to it;
// timers fire only in Advance.
func (c *Clock) Run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.nowLocked()
	c.real = time.Now()
}

// AfterFunc schedules f to run when Advance passes d from now.
func (c *Clock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

// Stop cancels the timer; it reports whether the timer was still pending.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			t.c.cond.Broadcast()
			return true
		}
	}
	return false
}

// Advance moves time forward by d, running the timers that fall due, each at
// its own due time.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(target) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// Set puts the clock at t, backwards too; it runs no timers.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	if !c.real.IsZero() {
		c.real = time.Now()
	}
}

// BlockUntil waits until at least n timers are pending.
func (c *Clock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

// Pending returns how long until each pending timer is due, soonest first.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		out = append(out, t.at.Sub(c.now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
