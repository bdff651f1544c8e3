// Package peer finds who is on the other end of a local connection: the
// uid that owns the client's socket (from the kernel: NETLINK_SOCK_DIAG,
// else /proc/net/tcp{,6}; SO_PEERCRED for Unix sockets), and, only when
// asked, its process: pid, executable, systemd unit, groups, user name.
//
// A Caller is resolved once per connection: Resolver.ConnContext puts a
// lazy resolution into an http.Server's connection context and FromContext
// resolves it on first use, in the handler's goroutine, never in the
// accept loop. The uid costs one netlink round trip; the process lookup
// scans /proc and is done only when a rule or the audit log needs it.
//
// Linux only; elsewhere every lookup fails with ErrUnsupported.
package peer

import (
	"context"
	"errors"
	"net"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"
)

var (
	// ErrUnsupported: caller identification needs Linux.
	ErrUnsupported = errors.New("peer: identifying the caller of a connection is supported on Linux only")
	// ErrNotFound: no local socket matches the connection (the client has
	// gone, or it is not on this host / network namespace).
	ErrNotFound = errors.New("peer: no local socket owns this connection")
	// ErrNoProcess: the socket's owning process could not be found (it
	// exited, or /proc/PID/fd of another user is not readable without
	// root or CAP_SYS_PTRACE).
	ErrNoProcess = errors.New("peer: the process holding the client socket was not found")
)

// Process is what the broker knows of the process holding a client socket.
type Process struct {
	PID int
	// Exe is /proc/PID/exe: the executable, symlinks resolved.
	Exe string
	// Unit is the systemd unit (service or scope) of the process's cgroup,
	// "" outside any unit.
	Unit string
	// GID is the effective gid; Groups are the supplementary groups.
	GID    uint32
	Groups []uint32
}

// Caller is the other end of one connection. Its methods are safe for
// concurrent use; what is looked up lazily is looked up once.
type Caller struct {
	uid   uint32
	inode uint64 // the client socket's inode; 0 when pid is known
	pid   int    // known up front for Unix sockets (SO_PEERCRED)
	r     *Resolver

	procOnce sync.Once
	proc     Process
	procErr  error

	userOnce sync.Once
	user     string
	userErr  error
}

// NewCaller makes a Caller from known facts (tests, or a caller identified
// another way). pid 0 means unknown; its Process lookups then fail.
func NewCaller(uid uint32, pid int) *Caller {
	return &Caller{uid: uid, pid: pid, r: &Resolver{procRoot: "/proc"}}
}

// UID is the uid owning the client socket.
func (c *Caller) UID() uint32 { return c.uid }

// Inode is the client socket's inode (0 for a Unix socket).
func (c *Caller) Inode() uint64 { return c.inode }

// Process looks up the process holding the client socket, once.
func (c *Caller) Process() (Process, error) {
	c.procOnce.Do(func() {
		c.proc, c.procErr = c.r.process(c)
	})
	return c.proc, c.procErr
}

// PID is the process's id.
func (c *Caller) PID() (int, error) {
	p, err := c.Process()
	return p.PID, err
}

// Exe is the process's executable.
func (c *Caller) Exe() (string, error) {
	p, err := c.Process()
	return p.Exe, err
}

// Unit is the process's systemd unit ("" outside any).
func (c *Caller) Unit() (string, error) {
	p, err := c.Process()
	return p.Unit, err
}

// GIDs are the process's effective gid followed by its supplementary
// groups.
func (c *Caller) GIDs() ([]uint32, error) {
	p, err := c.Process()
	if err != nil {
		return nil, err
	}
	out := make([]uint32, 0, 1+len(p.Groups))
	out = append(out, p.GID)
	for _, g := range p.Groups {
		if g != p.GID {
			out = append(out, g)
		}
	}
	return out, nil
}

// UserName is the name of the caller's uid (from the passwd database).
func (c *Caller) UserName() (string, error) {
	c.userOnce.Do(func() {
		u, err := user.LookupId(strconv.FormatUint(uint64(c.uid), 10))
		if err != nil {
			c.userErr = err
			return
		}
		c.user = u.Username
	})
	return c.user, c.userErr
}

type ctxKey struct{}

type lazy struct {
	r    *Resolver
	conn net.Conn
	once sync.Once
	c    *Caller
	err  error
}

// ConnContext is for http.Server.ConnContext: it records the connection
// so FromContext can resolve its caller, once, when a handler first asks.
func (r *Resolver) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, ctxKey{}, &lazy{r: r, conn: c})
}

// FromContext returns the caller of the connection a request came on
// (through ConnContext). The first call resolves; later calls on the same
// connection return the same Caller or error.
func FromContext(ctx context.Context) (*Caller, error) {
	l, ok := ctx.Value(ctxKey{}).(*lazy)
	if !ok {
		return nil, errors.New("peer: no connection in context (is Resolver.ConnContext set on the http.Server?)")
	}
	l.once.Do(func() {
		if known, ok := l.conn.(interface{ PeerInfo() any }); ok {
			// A connection limiter identified it already (IdentifyConn).
			if c, ok := known.PeerInfo().(*Caller); ok && c != nil {
				l.c, l.conn = c, nil
				return
			}
		}
		l.c, l.err = l.r.LookupConn(l.conn)
		l.conn = nil
	})
	return l.c, l.err
}

// IdentifyConn is LookupConn for a connection limiter (imds.ConnLimiter):
// the uid, and the Caller as the info the limiter keeps on the connection,
// where FromContext finds it instead of looking up again.
func (r *Resolver) IdentifyConn(c net.Conn) (uint32, any, error) {
	caller, err := r.LookupConn(c)
	if err != nil {
		return 0, nil, err
	}
	return caller.UID(), caller, nil
}

// Options configure a Resolver.
type Options struct {
	// ProcRoot is where procfs is mounted. Default "/proc".
	ProcRoot string
	// DisableNetlink makes the uid lookup read /proc/net/tcp{,6} instead of
	// asking the kernel through NETLINK_SOCK_DIAG (the fallback, for tests
	// and benchmarks; it is used anyway when netlink is unavailable).
	DisableNetlink bool
	// IdleSockets is how many netlink sockets are kept open for reuse.
	// Default 4.
	IdleSockets int
}

// Resolver identifies the callers of connections. It is safe for
// concurrent use; Close releases its netlink sockets.
type Resolver struct {
	procRoot string
	netlink  bool
	pool     chan int // idle netlink sockets
	seq      atomic.Uint32
}

// New returns a Resolver.
func New(optFns ...func(*Options)) *Resolver {
	o := Options{ProcRoot: "/proc", IdleSockets: 4}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.IdleSockets < 1 {
		o.IdleSockets = 1
	}
	return &Resolver{procRoot: o.ProcRoot, netlink: !o.DisableNetlink, pool: make(chan int, o.IdleSockets)}
}
