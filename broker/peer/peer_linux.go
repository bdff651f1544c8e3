//go:build linux

package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sizes of the inet_diag structures (linux/inet_diag.h).
const (
	sizeofInetDiagReqV2 = 56 // family, protocol, ext, pad, states, sockid(48)
	sizeofInetDiagMsg   = 72 // family, state, timer, retrans, sockid(48), expires, rqueue, wqueue, uid, inode
	diagRequestLen      = unix.SizeofNlMsghdr + sizeofInetDiagReqV2
)

// Lookup identifies the caller of a TCP connection accepted by this
// process: local and remote are the server side's addresses
// (conn.LocalAddr(), conn.RemoteAddr()).
func (r *Resolver) Lookup(local, remote netip.AddrPort) (*Caller, error) {
	uid, inode, err := r.lookupUID(local, remote)
	if err != nil {
		return nil, err
	}
	return &Caller{uid: uid, inode: inode, r: r}, nil
}

// LookupConn identifies the caller of an accepted connection: TCP through
// the kernel's socket tables, Unix through SO_PEERCRED.
func (r *Resolver) LookupConn(c net.Conn) (*Caller, error) {
	for {
		nc, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			break
		}
		c = nc.NetConn()
	}
	switch c := c.(type) {
	case *net.UnixConn:
		return peerCred(c)
	default:
		la, lok := c.LocalAddr().(*net.TCPAddr)
		ra, rok := c.RemoteAddr().(*net.TCPAddr)
		if !lok || !rok {
			return nil, fmt.Errorf("peer: cannot identify the caller of a %T connection", c)
		}
		return r.Lookup(la.AddrPort(), ra.AddrPort())
	}
}

func peerCred(c *net.UnixConn) (*Caller, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peer: unix socket: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, fmt.Errorf("peer: unix socket: %w", err)
	}
	if credErr != nil {
		return nil, fmt.Errorf("peer: SO_PEERCRED: %w", credErr)
	}
	return &Caller{uid: cred.Uid, pid: int(cred.Pid), r: &Resolver{procRoot: "/proc"}}, nil
}

// lookupUID finds the owner of the client socket whose source is remote
// and destination local.
func (r *Resolver) lookupUID(local, remote netip.AddrPort) (uint32, uint64, error) {
	if r.netlink {
		uid, inode, err := r.diag(local, remote)
		if err == nil || errors.Is(err, ErrNotFound) {
			return uid, inode, err
		}
		// Netlink refused (seccomp, no AF_NETLINK): fall back to /proc.
	}
	return r.procNet(local, remote)
}

// cand is one form the client socket may have.
type cand struct {
	family        uint8
	local, remote netip.AddrPort // the server side's view
}

// candidates lists the forms the client socket may have: v4-mapped
// addresses are an AF_INET socket, or else a dual-stack AF_INET6 one.
func candidates(local, remote netip.AddrPort) []cand {
	switch {
	case local.Addr().Is4In6() && remote.Addr().Is4In6():
		return []cand{
			{unix.AF_INET, netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())},
			{unix.AF_INET6, local, remote},
		}
	case local.Addr().Is4() && remote.Addr().Is4():
		return []cand{{unix.AF_INET, local, remote}}
	case local.Addr().Is6() && remote.Addr().Is6():
		return []cand{{unix.AF_INET6, local, remote}}
	}
	return nil
}

func (r *Resolver) diag(local, remote netip.AddrPort) (uint32, uint64, error) {
	for _, c := range candidates(local, remote) {
		uid, inode, err := r.diagOnce(c.family, c.local, c.remote)
		if !errors.Is(err, ErrNotFound) {
			return uid, inode, err
		}
	}
	return 0, 0, ErrNotFound
}

func (r *Resolver) getSock() (int, error) {
	select {
	case fd := <-r.pool:
		return fd, nil
	default:
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, err
	}
	// A lost answer must not hang the caller.
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (r *Resolver) putSock(fd int) {
	select {
	case r.pool <- fd:
	default:
		unix.Close(fd)
	}
}

// diagOnce asks the kernel for the one TCP socket with source remote and
// destination local (the client's side of the connection).
func (r *Resolver) diagOnce(family uint8, local, remote netip.AddrPort) (uint32, uint64, error) {
	fd, err := r.getSock()
	if err != nil {
		return 0, 0, fmt.Errorf("peer: netlink socket: %w", err)
	}
	seq := r.seq.Add(1)
	var req [diagRequestLen]byte
	encodeDiagRequest(req[:], seq, family, remote, local)
	if err := unix.Sendto(fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return 0, 0, fmt.Errorf("peer: sock_diag request: %w", err)
	}
	var buf [1024]byte
	for {
		n, _, err := unix.Recvfrom(fd, buf[:], 0)
		if err != nil {
			unix.Close(fd)
			return 0, 0, fmt.Errorf("peer: sock_diag answer: %w", err)
		}
		uid, inode, gotSeq, err := decodeDiagAnswer(buf[:n])
		if gotSeq != seq {
			continue // a late answer to an earlier, abandoned request
		}
		r.putSock(fd)
		return uid, inode, err
	}
}

// encodeDiagRequest writes a SOCK_DIAG_BY_FAMILY request for the TCP
// socket src→dst into b (diagRequestLen bytes).
func encodeDiagRequest(b []byte, seq uint32, family uint8, src, dst netip.AddrPort) {
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], diagRequestLen)
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST)
	ne.PutUint32(b[8:], seq)
	ne.PutUint32(b[12:], 0)
	q := b[unix.SizeofNlMsghdr:]
	q[0] = family
	q[1] = unix.IPPROTO_TCP
	q[2], q[3] = 0, 0
	ne.PutUint32(q[4:], 0xffffffff) // all states
	id := q[8:]
	binary.BigEndian.PutUint16(id[0:], src.Port())
	binary.BigEndian.PutUint16(id[2:], dst.Port())
	putDiagAddr(id[4:20], src.Addr())
	putDiagAddr(id[20:36], dst.Addr())
	ne.PutUint32(id[36:], 0)          // interface
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
}

func putDiagAddr(b []byte, a netip.Addr) {
	clear(b)
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

// decodeDiagAnswer reads the first message of a sock_diag answer: the uid
// and inode of the socket, or ErrNotFound, or the kernel's error.
func decodeDiagAnswer(b []byte) (uid uint32, inode uint64, seq uint32, err error) {
	ne := binary.NativeEndian
	if len(b) < unix.SizeofNlMsghdr {
		return 0, 0, 0, errors.New("peer: short sock_diag answer")
	}
	mlen := ne.Uint32(b[0:])
	typ := ne.Uint16(b[4:])
	seq = ne.Uint32(b[8:])
	if mlen < unix.SizeofNlMsghdr || int(mlen) > len(b) {
		return 0, 0, seq, errors.New("peer: malformed sock_diag answer")
	}
	body := b[unix.SizeofNlMsghdr:mlen]
	switch typ {
	case unix.NLMSG_ERROR:
		if len(body) < 4 {
			return 0, 0, seq, errors.New("peer: malformed sock_diag error")
		}
		errno := -int32(ne.Uint32(body))
		if errno == int32(unix.ENOENT) {
			return 0, 0, seq, ErrNotFound
		}
		return 0, 0, seq, fmt.Errorf("peer: sock_diag: %w", syscall.Errno(errno))
	case unix.SOCK_DIAG_BY_FAMILY:
		if len(body) < sizeofInetDiagMsg {
			return 0, 0, seq, errors.New("peer: short inet_diag_msg")
		}
		return ne.Uint32(body[64:]), uint64(ne.Uint32(body[68:])), seq, nil
	default:
		return 0, 0, seq, fmt.Errorf("peer: unexpected netlink message type %d", typ)
	}
}

// procNet finds the client socket in /proc/net/tcp or tcp6.
func (r *Resolver) procNet(local, remote netip.AddrPort) (uint32, uint64, error) {
	for _, c := range candidates(local, remote) {
		file := "tcp"
		if c.family == unix.AF_INET6 {
			file = "tcp6"
		}
		content, err := os.ReadFile(filepath.Join(r.procRoot, "net", file))
		if err != nil {
			return 0, 0, fmt.Errorf("peer: %w", err)
		}
		// The client's socket: its local address is our remote.
		if e, ok := findInProcNet(content, c.remote, c.local); ok {
			return e.uid, e.inode, nil
		}
	}
	return 0, 0, ErrNotFound
}

// process finds and describes the process holding c's socket.
func (r *Resolver) process(c *Caller) (Process, error) {
	pid := c.pid
	if pid == 0 {
		if c.inode == 0 {
			return Process{}, ErrNoProcess
		}
		var err error
		if pid, err = r.findPID(c.inode, c.uid); err != nil {
			return Process{}, err
		}
	}
	dir := filepath.Join(r.procRoot, strconv.Itoa(pid))
	p := Process{PID: pid}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil {
		return Process{}, fmt.Errorf("peer: executable of pid %d: %w", pid, err)
	}
	p.Exe = exe
	if cg, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		p.Unit = parseCgroupUnit(cg)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Process{}, fmt.Errorf("peer: status of pid %d: %w", pid, err)
	}
	if p.GID, p.Groups, err = parseStatusIDs(status); err != nil {
		return Process{}, fmt.Errorf("peer: status of pid %d: %w", pid, err)
	}
	return p, nil
}

// findPID scans /proc/*/fd for the socket's inode, first among the
// processes of the socket's uid.
func (r *Resolver) findPID(inode uint64, uid uint32) (int, error) {
	d, err := os.Open(r.procRoot)
	if err != nil {
		return 0, fmt.Errorf("peer: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, fmt.Errorf("peer: %w", err)
	}
	var others []int
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid <= 0 {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(r.procRoot, n), &st); err != nil {
			continue
		}
		if st.Uid != uid {
			others = append(others, pid)
			continue
		}
		if r.holds(pid, want) {
			return pid, nil
		}
	}
	// The socket may have been passed to, or kept by, a process of another
	// uid (after setuid): look there too.
	for _, pid := range others {
		if r.holds(pid, want) {
			return pid, nil
		}
	}
	return 0, ErrNoProcess
}

// holds reports whether process pid has an fd linking to want.
func (r *Resolver) holds(pid int, want string) bool {
	dir := filepath.Join(r.procRoot, strconv.Itoa(pid), "fd")
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	fds, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if t, err := os.Readlink(dir + "/" + fd); err == nil && t == want {
			return true
		}
	}
	return false
}

// Close releases the Resolver's idle netlink sockets.
func (r *Resolver) Close() error {
	for {
		select {
		case fd := <-r.pool:
			unix.Close(fd)
		default:
			return nil
		}
	}
}
