package imds

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// apiError is what a handler step returns when it refuses a request. Each
// endpoint has one renderer that turns it into a response; msg is for the
// client, cause only ever reaches the log.
type apiError struct {
	status int
	code   string // machine-readable code (the container endpoint's JSON "code")
	msg    string // client-facing message, never a secret or an upstream error text
	allow  string // Allow header of a 405
	cause  error  // internal cause, for the log only
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.status, e.code, e.msg, e.cause)
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg)
}

// connInfo is what the guard learned about the connection a request came on.
type connInfo struct {
	remote, local netip.AddrPort
}

// guard is the request hardening in front of both endpoints: panic recovery,
// peer check, Host check (against DNS rebinding) and the body limit.
type guard struct {
	log     hclog.Logger
	hosts   map[string]struct{} // lower-case host names and IP literals, without port
	peers   []netip.Prefix      // non-loopback peers allowed in
	maxBody int64
	render  func(http.ResponseWriter, *apiError)
	next    func(http.ResponseWriter, *http.Request, connInfo)
}

func newGuard(log hclog.Logger, builtinHosts, extraHosts []string, peers []netip.Prefix, maxBody int64,
	render func(http.ResponseWriter, *apiError), next func(http.ResponseWriter, *http.Request, connInfo)) (*guard, error) {
	g := &guard{log: log, hosts: map[string]struct{}{}, maxBody: maxBody, render: render, next: next}
	for _, h := range append(append([]string{}, builtinHosts...), extraHosts...) {
		h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
		if h == "" || strings.ContainsAny(h, "/ \t") {
			return nil, fmt.Errorf("allowed host %q is not a host name or IP address (give it without scheme or port)", h)
		}
		if a, err := netip.ParseAddr(h); err == nil {
			h = a.Unmap().String()
		}
		g.hosts[h] = struct{}{}
	}
	for _, p := range peers {
		if !p.IsValid() {
			return nil, fmt.Errorf("allowed peer prefix %v is not valid", p)
		}
		g.peers = append(g.peers, p.Masked())
	}
	return g, nil
}

var (
	errPeerRefused = &apiError{status: http.StatusForbidden, code: "Forbidden",
		msg: "requests are accepted from this host only (the listener is not configured for remote peers)"}
	errHostRefused = &apiError{status: http.StatusForbidden, code: "Forbidden",
		msg: "the Host header does not name this endpoint"}
	errBodyTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge",
		msg: "request body too large"}
	errInternal = &apiError{status: http.StatusInternalServerError, code: "InternalError",
		msg: "internal error (see the broker log)"}
)

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			g.log.Error("request handler panicked", "method", r.Method, "path", clip(r.URL.Path),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			g.render(w, errInternal)
		}
	}()
	c := connInfo{local: localAddr(r)}
	var err error
	if c.remote, err = netip.ParseAddrPort(r.RemoteAddr); err != nil || !g.peerAllowed(c.remote.Addr()) {
		g.log.Debug("refused request from peer", "remote", r.RemoteAddr)
		g.render(w, errPeerRefused)
		return
	}
	if !g.hostAllowed(r.Host, c.local.Addr()) {
		g.log.Debug("refused request with foreign Host header", "remote", r.RemoteAddr, "host", clip(r.Host))
		g.render(w, errHostRefused)
		return
	}
	if r.ContentLength > g.maxBody {
		g.render(w, errBodyTooLarge)
		return
	}
	if r.ContentLength != 0 {
		r.Body = http.MaxBytesReader(w, r.Body, g.maxBody)
	}
	g.next(w, r, c)
}

func (g *guard) peerAllowed(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	for _, p := range g.peers {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hostAllowed accepts a Host header naming the address the connection arrived
// on, or one of the allowed names (well-known link-local addresses,
// "localhost", configured names). The port is not compared: a well-known
// address may be redirected here from port 80.
func (g *guard) hostAllowed(host string, local netip.Addr) bool {
	h := hostOnly(host)
	if h == "" {
		return false
	}
	if _, ok := g.hosts[strings.ToLower(h)]; ok {
		return true
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if local.IsValid() && a == local.Unmap() {
		return true
	}
	if s := a.String(); s != h { // another spelling of an allowed address
		_, ok := g.hosts[s]
		return ok
	}
	return false
}

// hostOnly strips the port and IPv6 brackets from a Host header value.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return ""
		}
		rest := h[end+1:]
		if rest != "" && (rest[0] != ':' || strings.ContainsRune(rest[1:], ':')) {
			return ""
		}
		return h[1:end]
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		if strings.IndexByte(h[i+1:], ':') >= 0 {
			return h // an unbracketed IPv6 literal; ParseAddr decides
		}
		return h[:i]
	}
	return h
}

func localAddr(r *http.Request) netip.AddrPort {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// clip bounds an attacker-controlled value before it goes to the log.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// GuardOptions configure Guard.
type GuardOptions struct {
	// AllowedHosts are Host header values accepted besides the address the
	// connection arrived on and "localhost" (host names or IP literals,
	// without port).
	AllowedHosts []string
	// AllowedPeers are non-loopback peer prefixes let in.
	AllowedPeers []netip.Prefix
	// MaxBodyBytes bounds request bodies. Default 1024.
	MaxBodyBytes int64
	// Logger receives refusals (debug) and panics (error).
	Logger hclog.Logger
}

// Guard puts the endpoints' request hardening in front of another handler
// on a TCP listener (metrics, for one): panic recovery, the peer check,
// the Host check against DNS rebinding, and the body limit. Refusals are
// answered in plain text.
func Guard(h http.Handler, optFns ...func(*GuardOptions)) (http.Handler, error) {
	o := GuardOptions{MaxBodyBytes: 1024}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1024
	}
	render := func(w http.ResponseWriter, e *apiError) { http.Error(w, e.msg, e.status) }
	next := func(w http.ResponseWriter, r *http.Request, _ connInfo) { h.ServeHTTP(w, r) }
	g, err := newGuard(o.Logger, []string{"localhost"}, o.AllowedHosts, o.AllowedPeers, o.MaxBodyBytes, render, next)
	if err != nil {
		return nil, fmt.Errorf("imds: %w", err)
	}
	return g, nil
}
