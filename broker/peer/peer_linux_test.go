//go:build linux

package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/credbroker/credbroker/internal/testtool"
)

// pair returns both ends of a loopback TCP connection made through a
// listener on addr.
func pair(t testing.TB, network, addr, dialAddr string) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	client, err = net.Dial("tcp", net.JoinHostPort(dialAddr, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func addrs(c net.Conn) (local, remote netip.AddrPort) {
	return c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
}

func selfExe(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestLookupSelf(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  func(*Options)
	}{
		{"netlink", func(*Options) {}},
		{"procfs", func(o *Options) { o.DisableNetlink = true }},
	} {
		for _, nw := range []struct{ name, network, listen, dial string }{
			{"ipv4", "tcp4", "127.0.0.1:0", "127.0.0.1"},
			{"ipv6", "tcp6", "[::1]:0", "::1"},
			{"dual-stack", "tcp", "[::]:0", "127.0.0.1"},
		} {
			t.Run(mode.name+"/"+nw.name, func(t *testing.T) {
				r := New(mode.opt)
				defer r.Close()
				server, _ := pair(t, nw.network, nw.listen, nw.dial)
				local, remote := addrs(server)
				c, err := r.Lookup(local, remote)
				if err != nil {
					t.Fatalf("Lookup(%v, %v): %v", local, remote, err)
				}
				if c.UID() != uint32(os.Getuid()) || c.Inode() == 0 {
					t.Errorf("uid %d inode %d, want uid %d", c.UID(), c.Inode(), os.Getuid())
				}
				p, err := c.Process()
				if err != nil {
					t.Fatal(err)
				}
				if p.PID != os.Getpid() || p.Exe != selfExe(t) {
					t.Errorf("process %+v, want pid %d exe %s", p, os.Getpid(), selfExe(t))
				}
				gids, err := c.GIDs()
				if err != nil || gids[0] != uint32(os.Getegid()) {
					t.Errorf("gids %v (%v), want effective gid %d first", gids, err, os.Getegid())
				}
				// The server's own socket is not a client: the reverse
				// direction is a different socket, with our own uid too, but
				// a made-up peer is not found.
				bogus := netip.AddrPortFrom(remote.Addr(), 1)
				if _, err := r.Lookup(local, bogus); !errors.Is(err, ErrNotFound) {
					t.Errorf("lookup of a missing socket: %v, want ErrNotFound", err)
				}
			})
		}
	}
}

func TestLookupOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a client as another uid needs root")
	}
	bash, _ := filepath.EvalSymlinks(testtool.Path(t, "bash")) // its /dev/tcp is the client
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const nobody = 65534
	// bash opens the connection, then waits for a line from us.
	cmd := exec.Command(bash, "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d; read -r line <&3", ln.Addr().(*net.TCPAddr).Port))
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{nobody, 4242}}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		fmt.Fprintln(conn, "bye")
		conn.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("client: %v", err)
		}
	}()

	for _, disable := range []bool{false, true} {
		r := New(func(o *Options) { o.DisableNetlink = disable })
		c, err := r.LookupConn(conn)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c.UID() != nobody {
			t.Fatalf("netlink=%v: uid %d, want %d", !disable, c.UID(), nobody)
		}
		p, err := c.Process()
		if err != nil {
			t.Fatal(err)
		}
		if p.PID != cmd.Process.Pid || p.Exe != bash || p.GID != nobody || !slices.Contains(p.Groups, 4242) {
			t.Errorf("process %+v, want pid %d exe %s gid %d groups with 4242", p, cmd.Process.Pid, bash, nobody)
		}
	}
}

func TestUnixPeerCred(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	c, err := New().LookupConn(server)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := c.Exe()
	if c.UID() != uint32(os.Getuid()) || err != nil || exe != selfExe(t) {
		t.Errorf("uid %d exe %q (%v)", c.UID(), exe, err)
	}
	if pid, _ := c.PID(); pid != os.Getpid() {
		t.Errorf("pid %d, want %d", pid, os.Getpid())
	}
}

func TestConnContextResolvesOncePerConnection(t *testing.T) {
	r := New()
	defer r.Close()
	seen := make(chan *Caller, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a, err := FromContext(req.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		b, _ := FromContext(req.Context())
		if a != b {
			http.Error(w, "two callers for one connection", 500)
			return
		}
		seen <- a
		fmt.Fprint(w, a.UID())
	}))
	srv.Config.ConnContext = r.ConnContext
	srv.Start()
	defer srv.Close()

	client := srv.Client() // keep-alive: both requests on one connection
	for range 2 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		if resp.StatusCode != 200 || line != fmt.Sprint(os.Getuid()) {
			t.Fatalf("status %d body %q", resp.StatusCode, line)
		}
	}
	if a, b := <-seen, <-seen; a != b {
		t.Error("the second request on the same connection resolved again")
	}
	if _, err := FromContext(context.Background()); err == nil {
		t.Error("FromContext without ConnContext succeeded")
	}
}

func TestDiagRequestEncoding(t *testing.T) {
	var b [diagRequestLen]byte
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	dst := netip.MustParseAddrPort("127.0.0.2:8911")
	encodeDiagRequest(b[:], 7, 2, src, dst)
	id := b[16+8:]
	if got := [2]byte{id[0], id[1]}; got != [2]byte{0x9c, 0x40} {
		t.Errorf("sport bytes %x, want big-endian 40000", got)
	}
	if got := [4]byte(id[20:24]); got != [4]byte{127, 0, 0, 2} {
		t.Errorf("dst %v", got)
	}
	if b[16] != 2 || b[17] != syscall.IPPROTO_TCP {
		t.Errorf("family/protocol %d/%d", b[16], b[17])
	}
}

func FuzzDecodeDiagAnswer(f *testing.F) {
	var ok [16 + sizeofInetDiagMsg]byte
	ok[0] = byte(len(ok))
	ok[4] = 20 // SOCK_DIAG_BY_FAMILY
	f.Add(ok[:])
	f.Add([]byte{20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = decodeDiagAnswer(b) // must not panic
	})
}

// BenchmarkLookupUID compares the netlink lookup with the /proc/net/tcp
// scan (the baseline; its cost grows with the number of sockets).
func BenchmarkLookupUID(b *testing.B) {
	server, _ := pair(b, "tcp4", "127.0.0.1:0", "127.0.0.1")
	local, remote := addrs(server)
	for _, mode := range []struct {
		name    string
		disable bool
	}{{"procfs-baseline", true}, {"netlink", false}} {
		b.Run(mode.name, func(b *testing.B) {
			r := New(func(o *Options) { o.DisableNetlink = mode.disable })
			defer r.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Lookup(local, remote); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProcess is the lazy process lookup (the /proc/*/fd scan).
func BenchmarkProcess(b *testing.B) {
	server, _ := pair(b, "tcp4", "127.0.0.1:0", "127.0.0.1")
	local, remote := addrs(server)
	r := New()
	defer r.Close()
	c, err := r.Lookup(local, remote)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.process(c); err != nil {
			b.Fatal(err)
		}
	}
}
