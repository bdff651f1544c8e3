// Package session caches role sessions and refreshes them ahead of expiry.
//
// There is one Session per Key (a role and a caller binding), shared by all
// the callers that map to it. The current credentials sit behind an atomic
// pointer: a cache hit is a load and a clock read. Concurrent misses share
// one upstream call. A session is refreshed in the background when a third
// of its life or 20 minutes is left, whichever comes first, a little
// earlier by a random jitter; callers never wait for a refresh they don't
// need. A credential handed out has at least the floor (15 minutes) left,
// except during an upstream outage, when a session under the floor is
// served until it actually expires, and Status and the log say so. Failed
// refreshes are retried with exponential backoff and full jitter, and never
// replace good credentials.
package session

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"
)

// Fetcher gets a new session from upstream (assumes the role).
type Fetcher interface {
	Fetch(ctx context.Context) (aws.Credentials, error)
}

// FetchFunc adapts a function to Fetcher.
type FetchFunc func(ctx context.Context) (aws.Credentials, error)

// Fetch calls f.
func (f FetchFunc) Fetch(ctx context.Context) (aws.Credentials, error) { return f(ctx) }

// Clock is the time source; tests use a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc. It is an alias of the unnamed interface so
// that any clock whose AfterFunc returns interface{ Stop() bool } (the
// project's fake clock, internal/clocktest) satisfies Clock.
type Timer = interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Observer hears about upstream calls and misses (for metrics). Its
// methods must be fast and must not call back into the cache.
type Observer interface {
	// Fetched is called after every upstream call.
	Fetched(key Key, took time.Duration, err error)
	// Missed is called when a caller found nothing good enough cached and
	// had to wait for, or was refused for lack of, a fetch.
	Missed(key Key)
}

// Options tune a Cache. The zero values of the durations take defaults.
type Options struct {
	Clock  Clock
	Rand   func() float64 // uniform in [0, 1); default math/rand/v2
	Logger hclog.Logger
	// Observer, if set, hears about fetches and misses.
	Observer Observer

	// Floor is the least time a credential handed out has left (15m).
	Floor time.Duration
	// RefreshAhead is the time before expiry a refresh starts at the
	// latest, unless a third of the session's life is more (20m).
	RefreshAhead time.Duration
	// MaxJitter caps the random advance of a refresh (5m; at most a
	// quarter of the lead).
	MaxJitter time.Duration
	// MissWait is how long a caller with nothing usable cached waits for
	// the fetch under way before ErrNotReady (500ms: IMDS clients give up
	// after 1s).
	MissWait time.Duration
	// FetchTimeout bounds one upstream call (30s).
	FetchTimeout time.Duration
	// MinInterval is the least time between two successful refreshes of a
	// session (30s), which keeps very short upstream sessions from being
	// refetched at every call.
	MinInterval time.Duration
	// BackoffBase and BackoffMax shape the retry of retryable failures
	// (1s doubling up to 1m, "full jitter": uniform in [0, the doubled
	// value)).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// SlowRetry is the retry interval after a non-recoverable failure (5m).
	SlowRetry time.Duration
}

// Key identifies a session: the broker's role name and the caller binding
// (config.Role.Binding: "" when all callers share the session).
type Key struct {
	Role    string
	Binding string
}

// Cache holds the sessions. It is safe for concurrent use.
type Cache struct {
	o      Options
	ctx    context.Context // canceled by Close: aborts fetches
	cancel context.CancelFunc

	// sessions is copied on write: lookups are a load and a map read.
	sessions atomic.Pointer[map[Key]*Session]
	mu       sync.Mutex // serialises writers
	closed   bool
}

// New returns an empty Cache.
func New(optFns ...func(*Options)) *Cache {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Rand == nil {
		o.Rand = defaultRand
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Floor, 15*time.Minute)
	def(&o.RefreshAhead, 20*time.Minute)
	def(&o.MaxJitter, 5*time.Minute)
	def(&o.MissWait, 500*time.Millisecond)
	def(&o.FetchTimeout, 30*time.Second)
	def(&o.MinInterval, 30*time.Second)
	def(&o.BackoffBase, time.Second)
	def(&o.BackoffMax, time.Minute)
	def(&o.SlowRetry, 5*time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{o: o, ctx: ctx, cancel: cancel}
	c.sessions.Store(&map[Key]*Session{})
	return c
}

// setLocked replaces the session map with a copy changed by fn.
func (c *Cache) setLocked(fn func(m map[Key]*Session)) {
	old := *c.sessions.Load()
	m := make(map[Key]*Session, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	fn(m)
	c.sessions.Store(&m)
}

// Session returns the session of key, creating it with fetcher (and a
// description of its source, for Status) if there is none. A new session
// fetches nothing until it is first asked (Get or Warm).
func (c *Cache) Session(key Key, source string, fetcher Fetcher) *Session {
	if s := c.Lookup(key); s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := (*c.sessions.Load())[key]; s != nil {
		return s
	}
	s := &Session{c: c, key: key, source: source, fetcher: fetcher,
		log: c.o.Logger.With("role", key.Role, "binding", key.Binding, "source", source)}
	if c.closed {
		s.closed = true
	}
	c.setLocked(func(m map[Key]*Session) { m[key] = s })
	return s
}

// Lookup returns the session of key, or nil.
func (c *Cache) Lookup(key Key) *Session {
	return (*c.sessions.Load())[key]
}

// Retain keeps the sessions for which keep is true and closes the others
// (after a reload: roles removed or changed).
func (c *Cache) Retain(keep func(Key) bool) {
	c.mu.Lock()
	var drop []*Session
	c.setLocked(func(m map[Key]*Session) {
		for k, s := range m {
			if !keep(k) {
				drop = append(drop, s)
				delete(m, k)
			}
		}
	})
	c.mu.Unlock()
	for _, s := range drop {
		s.close()
	}
}

// Status returns a snapshot of every session, sorted by role and binding.
func (c *Cache) Status() []Status {
	m := *c.sessions.Load()
	all := make([]*Session, 0, len(m))
	for _, s := range m {
		all = append(all, s)
	}
	out := make([]Status, 0, len(all))
	for _, s := range all {
		out = append(out, s.Status())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Binding < out[j].Binding
	})
	return out
}

// Close stops every refresh and aborts fetches under way.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	m := *c.sessions.Load()
	all := make([]*Session, 0, len(m))
	for _, s := range m {
		all = append(all, s)
	}
	c.mu.Unlock()
	c.cancel()
	for _, s := range all {
		s.close()
	}
}
