package console

import (
	"net/netip"
	"sync"
	"time"
)

// Limits bound failed sign-ins. Zero fields take the defaults.
type Limits struct {
	// PerUser failures of one user name within Window lock its sign-in (default 5).
	PerUser int
	// PerSource failures from one address within Window lock it (default 20).
	PerSource int
	// Window is how long a failure counts (default 15 minutes).
	Window time.Duration
	// MaxTracked bounds the names and addresses tracked (default 100,000).
	MaxTracked int
}

// limiter counts failed sign-ins per user and per source address.
type limiter struct {
	l   Limits
	now func() time.Time
	mu  sync.Mutex
	hit map[string][]time.Time
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	if l.PerUser <= 0 {
		l.PerUser = 5
	}
	if l.PerSource <= 0 {
		l.PerSource = 20
	}
	if l.Window <= 0 {
		l.Window = 15 * time.Minute
	}
	if l.MaxTracked <= 0 {
		l.MaxTracked = 100_000
	}
	return &limiter{l: l, now: now, hit: map[string][]time.Time{}}
}

func userKey(user string) string       { return "u:" + user }
func sourceKey(ip netip.Addr) string   { return "s:" + ip.String() }
func (l *limiter) recent(k string) int { return len(l.prune(k)) }

func (l *limiter) prune(k string) []time.Time {
	cut := l.now().Add(-l.l.Window)
	ts := l.hit[k]
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.hit, k)
	} else {
		l.hit[k] = ts
	}
	return ts
}

// allowed reports whether user may try to sign in from ip.
func (l *limiter) allowed(user string, ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recent(userKey(user)) < l.l.PerUser && l.recent(sourceKey(ip)) < l.l.PerSource
}

// fail records a failed sign-in of user from ip.
func (l *limiter) fail(user string, ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.hit) >= l.l.MaxTracked {
		for k := range l.hit {
			l.prune(k)
		}
	}
	now := l.now()
	for _, k := range []string{userKey(user), sourceKey(ip)} {
		if len(l.hit) < l.l.MaxTracked || l.hit[k] != nil {
			l.hit[k] = append(l.prune(k), now)
		}
	}
}
