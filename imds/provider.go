package imds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// failure classifies why a caller got no credentials; each endpoint's
// renderer maps it to that endpoint's status and message.
type failure uint8

const (
	failNone     failure = iota
	failNoRole           // the caller has no role, or asked for another's
	failNotReady         // the source is still fetching, or did not answer in time
	failUpstream         // the source failed (or returned unusable credentials)
)

// failureAnswers are an endpoint's status and error codes for credentials not ready
// yet and unavailable; the words are the same on both endpoints.
type failureAnswers struct {
	status                        int
	notReadyCode, unavailableCode string
}

// answer is the error for failure f (failNotReady or failUpstream) of role.
func (a failureAnswers) answer(f failure, role string) *apiError {
	if f == failNotReady {
		return &apiError{status: a.status, code: a.notReadyCode,
			msg: fmt.Sprintf("credentials for role %s are not ready yet: retry in a few seconds", role)}
	}
	return &apiError{status: a.status, code: a.unavailableCode,
		msg: fmt.Sprintf("credentials for role %s are unavailable: the broker could not obtain them (its log says why)", role)}
}

// provider asks the Source on behalf of both endpoints: it bounds the time
// given to the source, checks what comes back and logs failures once per
// streak.
type provider struct {
	src     Source
	now     func() time.Time
	timeout time.Duration
	log     hclog.Logger
	streaks streaks
}

func newProvider(src Source, now func() time.Time, timeout time.Duration, log hclog.Logger) *provider {
	return &provider{src: src, now: now, timeout: timeout, log: log, streaks: streaks{log: log}}
}

// bound returns the context for the Source calls of one request: the
// request's, cut off after the source timeout. Its timer is made only if
// something waits on it (a cache miss): a source answering from what it
// holds, as it should, costs the request no timer.
func (p *provider) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	b := &budget{Context: ctx, timeout: p.timeout}
	return b, b.cancel
}

// budget is a context with a deadline whose timer starts on the first call
// of Done or Err. The timeout counts from the first call of Deadline, Done
// or Err: the source's work before it asks is microseconds of cache
// lookup, and a request that never asks reads no clock.
type budget struct {
	context.Context // the request's
	timeout         time.Duration

	dlOnce   sync.Once
	deadline time.Time

	once sync.Once
	ctx  context.Context // the real one, from the first Done or Err (or cancel)
	stop context.CancelFunc
}

func (b *budget) init() {
	b.once.Do(func() { b.ctx, b.stop = context.WithDeadline(b.Context, b.due()) })
}

func (b *budget) due() time.Time {
	b.dlOnce.Do(func() { b.deadline = time.Now().Add(b.timeout) })
	return b.deadline
}

// Deadline is the earlier of the request's and the source timeout's.
func (b *budget) Deadline() (time.Time, bool) {
	due := b.due()
	if d, ok := b.Context.Deadline(); ok && d.Before(due) {
		return d, true
	}
	return due, true
}

// Done starts the timer.
func (b *budget) Done() <-chan struct{} {
	b.init()
	return b.ctx.Done()
}

// Err starts the timer (a caller polling Err gets DeadlineExceeded in time).
func (b *budget) Err() error {
	b.init()
	return b.ctx.Err()
}

// cancel releases the timer, if one was made, and ends the context.
func (b *budget) cancel() {
	b.once.Do(func() { b.ctx, b.stop = canceled, func() {} })
	b.stop()
}

// canceled is the Done and Err of a budget canceled before anything waited.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// role returns the caller's role name.
func (p *provider) role(ctx context.Context, c Caller) (RoleInfo, failure) {
	ri, err := p.src.Role(ctx, c)
	if err == nil && ri.Name == "" {
		err = fmt.Errorf("%w: the source returned an empty role name", ErrUpstream)
	}
	if err != nil {
		f := classify(err)
		if f == failNoRole {
			p.log.Debug("caller has no role", "endpoint", c.Endpoint, "remote", c.Remote, "error", err)
		} else {
			p.streaks.fail(c.Endpoint, "", err)
		}
		return RoleInfo{}, f
	}
	return ri, failNone
}

// credentials returns usable credentials of role for the caller.
func (p *provider) credentials(ctx context.Context, c Caller, role string) (Credentials, failure) {
	cr, err := p.src.Credentials(ctx, c, role)
	if err == nil {
		err = p.check(cr)
	}
	if err != nil {
		f := classify(err)
		if f == failNoRole {
			p.log.Debug("caller may not have this role", "endpoint", c.Endpoint, "remote", c.Remote, "role", role, "error", err)
		} else {
			p.streaks.fail(c.Endpoint, role, err)
		}
		return Credentials{}, f
	}
	p.streaks.ok(c.Endpoint, role)
	return cr, failNone
}

func (p *provider) check(cr Credentials) error {
	switch {
	case cr.AccessKeyID == "" || cr.SecretAccessKey == "":
		return fmt.Errorf("%w: the source returned credentials without an access key id or secret", ErrUpstream)
	case cr.Expiration.IsZero():
		return fmt.Errorf("%w: the source returned credentials %s without an expiration", ErrUpstream, cr.AccessKeyID)
	case !p.now().Before(cr.Expiration):
		return fmt.Errorf("%w: the source returned credentials %s that expired at %s",
			ErrNotReady, cr.AccessKeyID, cr.Expiration.UTC().Format(time.RFC3339))
	}
	return nil
}

func classify(err error) failure {
	switch {
	case errors.Is(err, ErrNoRole):
		return failNoRole
	case errors.Is(err, ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		return failNotReady
	case errors.Is(err, context.Canceled):
		return failNotReady // the client went away; nothing will be read
	}
	return failUpstream
}

// bodyCache keeps the last response body rendered for each role, reused
// while the source returns the very same credentials: a refresh by the
// source changes them and so re-renders. Keys are role names the source
// gave (a bounded set); a role's entry goes when it fails.
type bodyCache struct {
	m sync.Map // string → *renderedBody
}

// renderedBody is one rendered response; its header values are shared by
// every response that sends it (net/http only reads them).
type renderedBody struct {
	cr            Credentials
	body          []byte
	contentType   []string
	contentLength []string
}

func (c *bodyCache) get(role string, cr Credentials, contentType string, render func(Credentials) ([]byte, error)) (*renderedBody, error) {
	if v, ok := c.m.Load(role); ok {
		if rb := v.(*renderedBody); rb.cr == cr {
			return rb, nil
		}
	}
	body, err := render(cr)
	if err != nil {
		return nil, err
	}
	rb := &renderedBody{cr: cr, body: body, contentType: []string{contentType},
		contentLength: []string{strconv.Itoa(len(body))}}
	c.m.Store(role, rb)
	return rb, nil
}

// write sends the body with status 200.
func (rb *renderedBody) write(w http.ResponseWriter) {
	hd := w.Header()
	hd["Content-Type"] = rb.contentType
	hd["Content-Length"] = rb.contentLength
	w.WriteHeader(http.StatusOK)
	w.Write(rb.body)
}

func (c *bodyCache) forget(role string) { c.m.Delete(role) }

// streaks logs a failure once when a streak of failures for a role starts,
// and once when it ends.
type streaks struct {
	log     hclog.Logger
	failing atomic.Int32 // number of keys in m; lets the success path skip the lock
	mu      sync.Mutex
	m       map[streakKey]struct{}
}

type streakKey struct {
	ep   Endpoint
	role string
}

func (s *streaks) fail(ep Endpoint, role string, err error) {
	k := streakKey{ep, role}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; ok {
		return
	}
	if s.m == nil {
		s.m = map[streakKey]struct{}{}
	}
	s.m[k] = struct{}{}
	s.failing.Add(1)
	if role == "" {
		s.log.Warn("cannot look up the caller's role; callers get errors until it recovers",
			"endpoint", ep, "error", err)
		return
	}
	s.log.Warn("cannot serve credentials; callers get errors until the source recovers",
		"endpoint", ep, "role", role, "error", err)
}

func (s *streaks) ok(ep Endpoint, role string) {
	if s.failing.Load() == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range []streakKey{{ep, role}, {ep, ""}} {
		if _, ok := s.m[k]; ok {
			delete(s.m, k)
			s.failing.Add(-1)
			s.log.Info("serving credentials again", "endpoint", ep, "role", role)
		}
	}
}
