package imds

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Default connection limits (ConnLimits). A process of an SDK keeps one or
// two keep-alive connections; a busy uid's idle ones are closed to make room
// (see ConnLimiter), so the per-peer limit only refuses a uid whose
// connections are all mid-request at once.
const (
	DefaultConnsPerPeer = 128
	DefaultConnsTotal   = 4096
)

// PeerIdentifier tells who holds the other end of an accepted connection.
// The consumer of ConnLimiter provides it (the broker's peer resolver: the
// uid from the kernel's socket tables or SO_PEERCRED).
type PeerIdentifier interface {
	// IdentifyConn returns the uid owning the client socket of c, and
	// whatever else it learned, which the wrapped connection hands back
	// from PeerInfo (so the lookup is not made twice). An error means the
	// peer is unknown; it is then limited by its address.
	IdentifyConn(c net.Conn) (uid uint32, info any, err error)
}

// ConnLimits configure a ConnLimiter.
type ConnLimits struct {
	// PerPeer bounds the connections of one uid (an unidentified peer:
	// of one remote address). Default DefaultConnsPerPeer.
	PerPeer int
	// Total bounds all connections of the limiter's listeners. Default
	// DefaultConnsTotal; keep it under the process's file descriptor
	// limit.
	Total int
	// Logger is told when a peer or the total reaches its limit (once per
	// episode, never per connection).
	Logger hclog.Logger
}

// ConnLimiter bounds the connections of the listeners it wraps, per peer
// (uid) and in total, so one local user cannot take the file descriptors
// and memory every other user's requests need.
//
// A connection is identified on its first read, in the goroutine that
// serves it (never in the accept loop). A peer at its limit gets room by
// closing its own longest-idle keep-alive connection; when none of its
// connections is idle, the new one is answered 503 and closed. At the
// total limit, a new connection closes the longest-idle connection of the
// peer holding the most; when none is idle, it is closed at once. Idle
// means between requests, as http.Server reports it: set ConnState as the
// server's ConnState (or call it from there).
type ConnLimiter struct {
	id      PeerIdentifier
	o       ConnLimits
	now     func() time.Time
	mu      sync.Mutex
	total   int
	peers   map[peerKey]*peerConns
	atTotal bool // the total limit was reached (logged once)

	accepted, refused, evicted atomic.Uint64
}

// peerKey is a uid, or the address of a peer that could not be identified.
type peerKey struct {
	uid   uint32
	known bool
	addr  netip.Addr
}

func (k peerKey) logArgs() []any {
	if k.known {
		return []any{"uid", k.uid}
	}
	return []any{"peer", k.addr.String(), "uid", "unknown"}
}

type peerConns struct {
	conns map[*limitedConn]struct{}
	// atLimit: the limit was reached (logged once until it drains to half).
	atLimit bool
}

// NewConnLimiter returns a limiter that identifies peers with id.
func NewConnLimiter(id PeerIdentifier, optFns ...func(*ConnLimits)) *ConnLimiter {
	o := ConnLimits{PerPeer: DefaultConnsPerPeer, Total: DefaultConnsTotal}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.PerPeer <= 0 {
		o.PerPeer = DefaultConnsPerPeer
	}
	if o.Total <= 0 {
		o.Total = DefaultConnsTotal
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	return &ConnLimiter{id: id, o: o, now: time.Now, peers: map[peerKey]*peerConns{}}
}

// Stats are a limiter's counters.
type Stats struct {
	// Open is the number of connections open now.
	Open int
	// Accepted counts connections accepted; Refused, those closed on
	// arrival; Evicted, idle connections closed to make room.
	Accepted, Refused, Evicted uint64
}

// Stats returns the limiter's counters.
func (l *ConnLimiter) Stats() Stats {
	l.mu.Lock()
	open := l.total
	l.mu.Unlock()
	return Stats{Open: open, Accepted: l.accepted.Load(), Refused: l.refused.Load(), Evicted: l.evicted.Load()}
}

// Listener wraps ln: its connections count against the limits.
func (l *ConnLimiter) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, l: l}
}

// ConnState is for http.Server.ConnState: it tells the limiter which
// connections are idle between requests.
func (l *ConnLimiter) ConnState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok || lc.l != l {
		return
	}
	switch st {
	case http.StateIdle:
		lc.since.Store(l.now().UnixNano())
		lc.idle.Store(true)
	case http.StateActive:
		lc.idle.Store(false)
	}
}

type limitListener struct {
	net.Listener
	l *ConnLimiter
}

// Accept returns the next connection within the total limit. A
// connection over it is closed here, and Accept waits for the next one.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ln.l.accepted.Add(1)
		if lc := ln.l.admit(c); lc != nil {
			return lc, nil
		}
		c.Close()
	}
}

// admit counts c against the total, making room if it can.
func (l *ConnLimiter) admit(c net.Conn) *limitedConn {
	l.mu.Lock()
	var victim *limitedConn
	if l.total >= l.o.Total {
		if !l.atTotal {
			l.atTotal = true
			l.o.Logger.Warn("connection limit reached: closing the idle connections of the peer holding the most, refusing new ones while none is idle", "limit", l.o.Total)
		}
		if victim = l.idlestOfBiggest(); victim == nil {
			l.mu.Unlock()
			l.refused.Add(1)
			return nil
		}
		l.forget(victim)
	} else if l.atTotal && l.total < l.o.Total/2 {
		l.atTotal = false
	}
	l.total++
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		victim.Conn.Close()
	}
	return &limitedConn{Conn: c, l: l}
}

// idlestOfBiggest returns the longest-idle connection of the peer with
// the most connections, or nil. l.mu is held.
func (l *ConnLimiter) idlestOfBiggest() *limitedConn {
	var big *peerConns
	for _, p := range l.peers {
		if big == nil || len(p.conns) > len(big.conns) {
			big = p
		}
	}
	if big == nil {
		return nil
	}
	return big.idlest()
}

func (p *peerConns) idlest() *limitedConn {
	var v *limitedConn
	var vSince int64
	for c := range p.conns {
		if !c.idle.Load() {
			continue
		}
		if since := c.since.Load(); v == nil || since < vSince {
			v, vSince = c, since
		}
	}
	return v
}

// forget takes c out of the counts (it is being closed). l.mu is held.
func (l *ConnLimiter) forget(c *limitedConn) {
	if c.gone {
		return
	}
	c.gone = true
	l.total--
	if p := l.peers[c.key]; p != nil && c.counted {
		delete(p.conns, c)
		if len(p.conns) == 0 {
			delete(l.peers, c.key)
		} else if p.atLimit && len(p.conns) <= l.o.PerPeer/2 {
			p.atLimit = false
		}
	}
}

// errPeerLimit is what the first read of a refused connection returns.
var errPeerLimit = errors.New("imds: the peer is at its connection limit")

// tooMany is the answer to a refused connection.
var tooMany = func() []byte {
	const body = "too many connections from this user at once; close idle ones\n"
	return []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Retry-After: 1\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}()

// identify runs on the connection's first read: it finds the peer and
// counts the connection against the peer's limit, closing the peer's
// longest-idle connection for room, or refusing this one.
func (c *limitedConn) identify() {
	l := c.l
	uid, info, err := l.id.IdentifyConn(c.Conn)
	key := peerKey{uid: uid, known: err == nil}
	if err != nil {
		if a, ok := c.Conn.RemoteAddr().(*net.TCPAddr); ok {
			key.addr = a.AddrPort().Addr().Unmap()
		}
	}
	l.mu.Lock()
	if c.gone { // closed meanwhile (evicted before its first read)
		l.mu.Unlock()
		c.refused = net.ErrClosed
		return
	}
	c.key, c.info = key, info
	p := l.peers[key]
	if p == nil {
		p = &peerConns{conns: map[*limitedConn]struct{}{}}
		l.peers[key] = p
	}
	var victim *limitedConn
	if len(p.conns) >= l.o.PerPeer {
		if !p.atLimit {
			p.atLimit = true
			l.o.Logger.Warn("a peer reached its connection limit: closing its idle connections, refusing new ones while none is idle",
				append(key.logArgs(), "limit", l.o.PerPeer)...)
		}
		if victim = p.idlest(); victim == nil {
			l.forget(c)
			l.mu.Unlock()
			l.refused.Add(1)
			c.refused = errPeerLimit
			c.Conn.SetWriteDeadline(l.now().Add(100 * time.Millisecond))
			c.Conn.Write(tooMany)
			c.Conn.Close()
			return
		}
		l.forget(victim)
	}
	c.counted = true
	p.conns[c] = struct{}{}
	l.mu.Unlock()
	if victim != nil {
		l.evicted.Add(1)
		victim.Conn.Close()
	}
}

// limitedConn is a connection counted by a ConnLimiter.
type limitedConn struct {
	net.Conn
	l *ConnLimiter

	idOnce  sync.Once
	refused error // set by identify: the connection was not admitted
	info    any

	// Guarded by l.mu.
	key     peerKey
	counted bool // in l.peers[key]
	gone    bool // taken out of the counts

	// Set by ConnState, without the lock (every request changes them).
	idle  atomic.Bool  // between requests
	since atomic.Int64 // when it went idle, UnixNano

	closeOnce sync.Once
}

// Read identifies the peer on the first call.
func (c *limitedConn) Read(b []byte) (int, error) {
	c.idOnce.Do(c.identify)
	if c.refused != nil {
		return 0, c.refused
	}
	return c.Conn.Read(b)
}

// Close takes the connection out of the counts and closes it.
func (c *limitedConn) Close() error {
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		c.l.forget(c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// NetConn returns the underlying connection (as tls.Conn does), for code
// that needs the socket itself.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

// PeerInfo returns what the PeerIdentifier learned of the peer on the
// first read (nil before it, or when it failed).
func (c *limitedConn) PeerInfo() any {
	c.idOnce.Do(c.identify)
	return c.info
}
