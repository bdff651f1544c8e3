package broker

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/broker/rules"
	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/imds"
)

// Errors of the broker's own API (the control socket maps them).
var (
	// ErrNotAllowed: the caller's rules do not give it the role asked for.
	ErrNotAllowed = errors.New("the caller may not have this role")
	// ErrUnknownRole: no role of that name is configured.
	ErrUnknownRole = errors.New("no such role")
)

// Error codes of failures that need a person; the daemon never prompts, so
// the roles they stop are reported in status until someone acts.
const (
	CodeMFARequired   = "MFARequired"
	CodeKeyringLocked = "KeyringLocked"
)

// CodeKeyringError is a keyring that failed otherwise (its service is not
// running, say): retried with backoff, and at once when the keyring says
// it changed (KeyringChanged).
const CodeKeyringError = "KeyringError"

// KeyStore is where keyring sources read IAM users' keys; *keystore.Store
// satisfies it. It is opened once per daemon start (one prompt at most),
// then read at every fetch.
type KeyStore interface {
	Get(name string) (keystore.Key, error)
}

// Caller is the process on the other end of a connection, as the broker
// needs it; *peer.Caller satisfies it. Only UID is cheap: the others are
// looked up (once) when a rule or the audit log asks.
type Caller interface {
	rules.Caller
	PID() (int, error)
	UserName() (string, error)
}

// Options configure a Broker.
type Options struct {
	// Upstream is where roles are assumed. Required.
	Upstream *Upstream
	// Keys holds keyring sources' keys; nil when the config has none, or
	// a KeyStore that fails with the reason it could not be opened.
	Keys KeyStore
	// Tokens are the container endpoint's tokens; IssueToken adds to it.
	Tokens *imds.TokenSet
	// Logger receives the broker's log; AuditLogger the audit trail (a
	// line per client connection and session, the repeats summed up; see
	// auditor). Default: no logging; audit defaults to Logger.Named("audit").
	Logger      hclog.Logger
	AuditLogger hclog.Logger
	// AuditSummaryEvery is how often the audit trail sums up the
	// credentials handed out again on a connection already logged.
	// Default DefaultAuditSummaryEvery.
	AuditSummaryEvery time.Duration
	// WatchExit calls gone when process pid exits (default
	// peer.WatchExit, a pidfd); IssueToken withdraws exec tokens with it.
	WatchExit func(pid int, gone func()) (stop func(), err error)
	// Identify finds the caller of an endpoint request from its context.
	// Default: the peer package's connection context (peer.FromContext).
	Identify func(ctx context.Context, c imds.Caller) (Caller, error)
	// Rules are passed to rules.Compile (user and group lookups).
	Rules []func(*rules.Options)
	// Session tunes the session cache (tests use a fake clock).
	Session []func(*session.Options)
	// Observer, if set, is told of upstream fetches and cache misses too.
	Observer session.Observer
	// Getenv reads the CI providers' variables. Default os.Getenv.
	Getenv func(string) string
	// HTTPClient fetches CI tokens. Default: a client with a 10s timeout.
	HTTPClient *http.Client
	// Hostname is {host} in templates. Default os.Hostname().
	Hostname string
	// MFADuration is the life of MFA sessions (GetSessionToken). Default 12h.
	MFADuration time.Duration
	// WarmTimeout bounds Warm. Default 20s.
	WarmTimeout time.Duration
	// Now is the clock of audit and status. Default time.Now.
	Now func() time.Time
}

// Broker maps callers to roles and hands out their cached sessions. It is
// an imds.Source for both endpoints and the backend of the control socket.
// Safe for concurrent use; Reload swaps the configuration atomically.
type Broker struct {
	o       Options
	log     hclog.Logger
	cache   *session.Cache
	metrics *metrics
	auditor *auditor
	started time.Time

	state atomic.Pointer[state]
	// bindings are the sessions in use, copied on write.
	bindings atomic.Pointer[map[session.Key]*binding]
	mu       sync.Mutex // serialises Reload and binding creation
	upGen    int        // bumped when the upstream changes
	keysGen  int        // bumped when the keystore changes

	mfaMu sync.Mutex
	mfa   map[mfaKey]mfaSession

	execs execWatches // exec tokens' exit watches

	samlMu sync.Mutex
	saml   map[string]samlSession // by role name
}

// state is one configuration, compiled.
type state struct {
	cfg   *config.Config
	rules *rules.Set
	roles map[string]*roleState
	names []string // role names, sorted
	up    *Upstream
	keys  KeyStore
}

// roleState is one configured role.
type roleState struct {
	cfg       *config.Role
	src       *config.Source
	srcRole   *roleState // the source role of a chained role
	perCaller bool
	info      imds.RoleInfo
	accountID string
	fp        string // fingerprint: sessions survive a reload only if unchanged
	stats     *roleStats
}

// binding is one session in use: a role for one caller binding.
type binding struct {
	key         session.Key
	sess        *session.Session
	role        *roleState
	sessionName string
	// last is the current credentials in the endpoints' form, so that a
	// cache hit converts nothing and LastUpdated stays put.
	last atomic.Pointer[imds.Credentials]
}

// New returns a Broker serving cfg (already validated, as config.Load
// returns it).
func New(cfg *config.Config, optFns ...func(*Options)) (*Broker, error) {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Upstream == nil {
		return nil, errors.New("broker: no upstream")
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.AuditLogger == nil {
		o.AuditLogger = o.Logger.Named("audit")
	}
	if o.Tokens == nil {
		o.Tokens = imds.NewTokenSet()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
		if o.Hostname == "" {
			o.Hostname = "localhost"
		}
	}
	if o.MFADuration <= 0 {
		o.MFADuration = 12 * time.Hour
	}
	if o.WarmTimeout <= 0 {
		o.WarmTimeout = 20 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Identify == nil {
		o.Identify = identifyPeer
	}
	if o.WatchExit == nil {
		o.WatchExit = peer.WatchExit
	}
	b := &Broker{o: o, log: o.Logger, started: o.Now(), mfa: map[mfaKey]mfaSession{}, saml: map[string]samlSession{}}
	b.metrics = newMetrics(b)
	sessOpts := append([]func(*session.Options){func(so *session.Options) {
		so.Logger = o.Logger.Named("session")
		so.Observer = b.metrics
		if o.Observer != nil {
			so.Observer = observers{b.metrics, o.Observer}
		}
		// Endpoint callers must not wait on STS: a first fetch that is not
		// back within this answers "not ready" (IMDS gives us 300ms).
		so.MissWait = 250 * time.Millisecond
	}}, o.Session...)
	b.cache = session.New(sessOpts...)
	b.auditor = newAuditor(o.AuditLogger, o.AuditSummaryEvery, o.Now)
	b.bindings.Store(&map[session.Key]*binding{})
	st, err := b.compile(cfg, o.Upstream, o.Keys)
	if err != nil {
		b.cache.Close()
		b.auditor.close()
		return nil, err
	}
	b.state.Store(st)
	return b, nil
}

// Reload switches to cfg. Sessions of roles whose settings (and source,
// and the upstream and keystore they use) are unchanged are kept; the
// others are dropped and fetched anew when asked. up and keys may be the
// ones in use (unchanged) or new ones. On error nothing changes.
func (b *Broker) Reload(cfg *config.Config, up *Upstream, keys KeyStore) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.state.Load()
	if up == nil {
		up = old.up
	}
	if up != old.up {
		b.upGen++
	}
	if keys != old.keys {
		b.keysGen++
	}
	st, err := b.compileLocked(cfg, up, keys)
	if err != nil {
		return err
	}
	b.state.Store(st)
	keep := func(k session.Key) bool {
		n, o := st.roles[k.Role], old.roles[k.Role]
		return n != nil && o != nil && n.fp == o.fp
	}
	b.cache.Retain(keep)
	cur := *b.bindings.Load()
	m := make(map[session.Key]*binding, len(cur))
	for k, bd := range cur {
		if keep(k) {
			m[k] = bd
		}
	}
	b.bindings.Store(&m)
	b.log.Info("configuration reloaded", "file", cfg.Filename, "roles", len(st.roles), "sessions_kept", len(m), "sessions_dropped", len(cur)-len(m))
	return nil
}

func (b *Broker) compile(cfg *config.Config, up *Upstream, keys KeyStore) (*state, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.compileLocked(cfg, up, keys)
}

func (b *Broker) compileLocked(cfg *config.Config, up *Upstream, keys KeyStore) (*state, error) {
	rs, err := rules.Compile(cfg.Clients, cfg.DefaultRole, b.o.Rules...)
	if err != nil {
		return nil, err
	}
	st := &state{cfg: cfg, rules: rs, roles: map[string]*roleState{}, up: up, keys: keys}
	for i := range cfg.Roles {
		r := &cfg.Roles[i]
		src := cfg.Source(r.Source)
		if src == nil {
			return nil, fmt.Errorf("broker: role %q: source %q is not defined", r.Name, r.Source)
		}
		account := accountOf(r.ARN)
		st.roles[r.Name] = &roleState{
			cfg: r, src: src, perCaller: r.PerCaller(), accountID: account,
			info:  roleInfo(up, r, account),
			stats: b.metrics.role(r.Name),
		}
		st.names = append(st.names, r.Name)
	}
	sort.Strings(st.names)
	for _, r := range st.roles {
		if r.src.Kind == config.SourceRole {
			r.srcRole = st.roles[r.src.Role]
			if r.srcRole == nil {
				return nil, fmt.Errorf("broker: source %q: role %q is not defined", r.src.Name, r.src.Role)
			}
		}
	}
	for _, name := range st.names {
		st.roles[name].fp = b.fingerprint(st.roles[name], 0)
	}
	return st, nil
}

// fingerprint is everything a role's session depends on: the role's and its
// source's configuration (every field, config.Fingerprint), the upstream's and
// the keyring's generations, and the fingerprint of a source role.
func (b *Broker) fingerprint(r *roleState, depth int) string {
	fp := fmt.Sprintf("up=%d|role=%s|src=%s|", b.upGen, config.Fingerprint(*r.cfg), config.Fingerprint(*r.src))
	switch {
	case r.src.Kind == config.SourceKeyring:
		fp += fmt.Sprintf("keys=%d", b.keysGen)
	case r.srcRole != nil && depth < 16:
		fp += "chain=" + b.fingerprint(r.srcRole, depth+1)
	}
	return fp
}

// accountOf is the account id of an IAM ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// roleInfo is what IMDS iam/info says of role r: the instance profile the
// upstream knows holds it (the embedded core), else one named after it.
func roleInfo(up *Upstream, r *config.Role, account string) imds.RoleInfo {
	if up != nil && up.Profiles != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		arn, id, found, err := up.Profiles.InstanceProfileForRole(ctx, r.ARN)
		cancel()
		if err == nil && found {
			return imds.RoleInfo{Name: r.Name, InstanceProfileARN: arn, InstanceProfileID: id}
		}
	}
	return imds.RoleInfo{Name: r.Name, InstanceProfileARN: "arn:aws:iam::" + account + ":instance-profile/" + r.Name, InstanceProfileID: instanceProfileID(r.ARN)}
}

// instanceProfileID makes a stable IAM-style id for the instance profile
// IMDS reports for a role the upstream knows no instance profile of.
func instanceProfileID(roleARN string) string {
	sum := sha256.Sum256([]byte("instance-profile:" + roleARN))
	return "AIPA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// Roles returns the configured role names, sorted.
func (b *Broker) Roles() []string { return slices.Clone(b.state.Load().names) }

// Config returns the configuration in use.
func (b *Broker) Config() *config.Config { return b.state.Load().cfg }

// Upstream returns the upstream in use.
func (b *Broker) Upstream() *Upstream { return b.state.Load().up }

// Tokens returns the container endpoint's token set.
func (b *Broker) Tokens() *imds.TokenSet { return b.o.Tokens }

// vars are a caller's template values.
func (b *Broker) vars(c Caller) config.Vars {
	uid := strconv.FormatUint(uint64(c.UID()), 10)
	user, err := c.UserName()
	if err != nil || user == "" {
		user = uid
	}
	return config.Vars{User: user, UID: uid, Host: b.o.Hostname}
}

// binding returns the session of role r for a caller, creating it.
func (b *Broker) binding(st *state, r *roleState, c Caller) *binding {
	if !r.perCaller {
		return b.bindingFor(st, r, config.Vars{Host: b.o.Hostname})
	}
	return b.bindingFor(st, r, b.vars(c))
}

// bindingFor returns the session of role r for template values v.
func (b *Broker) bindingFor(st *state, r *roleState, v config.Vars) *binding {
	key := session.Key{Role: r.cfg.Name}
	if r.perCaller { // r.cfg.Binding is "" otherwise, but walks the templates to find out
		key.Binding = r.cfg.Binding(v)
	}
	if bd := (*b.bindings.Load())[key]; bd != nil {
		return bd
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if bd := (*b.bindings.Load())[key]; bd != nil {
		return bd
	}
	// Reload may have swapped the state: build from the current one.
	if cur := b.state.Load(); cur != st {
		if nr := cur.roles[r.cfg.Name]; nr != nil {
			st, r = cur, nr
		}
	}
	bd := &binding{key: key, role: r, sessionName: r.cfg.RenderedSessionName(v)}
	bd.sess = b.cache.Session(key, describeSource(r.src), b.fetcher(st, r, v, bd.sessionName))
	old := *b.bindings.Load()
	m := make(map[session.Key]*binding, len(old)+1)
	for k, x := range old {
		m[k] = x
	}
	m[key] = bd
	b.bindings.Store(&m)
	return bd
}

func describeSource(s *config.Source) string {
	switch s.Kind {
	case config.SourceKeyring:
		return "keyring " + s.Name + " (key " + s.Key + ")"
	case config.SourceWebIdentity:
		return "web_identity " + s.Name + " (" + s.Provider + ")"
	case config.SourceRole:
		return "role " + s.Role
	}
	return string(s.Kind) + " " + s.Name
}

// Warm fetches the sessions of every role whose session all callers share,
// in parallel, and waits for them (bounded by WarmTimeout): for start-up,
// before the daemon says it is ready. A role that needs a person (MFA, a
// locked keyring) fails fast and is reported in the result and in Status
// instead of holding the others up.
func (b *Broker) Warm(ctx context.Context) []WarmResult {
	ctx, cancel := context.WithTimeout(ctx, b.o.WarmTimeout)
	defer cancel()
	st := b.state.Load()
	var todo []*roleState
	for _, n := range st.names {
		if r := st.roles[n]; !r.perCaller {
			todo = append(todo, r)
		}
	}
	out := make([]WarmResult, len(todo))
	var wg sync.WaitGroup
	for i, r := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bd := b.binding(st, r, nil)
			err := bd.sess.Warm(ctx)
			out[i] = WarmResult{Role: r.cfg.Name, Err: err, NeedsHuman: needsHuman(err)}
		}()
	}
	wg.Wait()
	return out
}

// WarmResult is how warming one role went.
type WarmResult struct {
	Role       string
	Err        error
	NeedsHuman bool
}

func needsHuman(err error) bool {
	var se *session.Error
	return errors.As(err, &se) && (se.Code == CodeMFARequired || se.Code == CodeKeyringLocked || se.Code == CodeSAMLLogin)
}

// Close stops refreshes, aborts fetches under way and flushes the audit log.
func (b *Broker) Close() {
	b.execs.stopAll()
	b.cache.Close()
	b.auditor.close()
}

// Registry returns the broker's Prometheus registry (its metrics, and the
// Go runtime's and the process's).
func (b *Broker) Registry() *prometheus.Registry { return b.metrics.reg }
