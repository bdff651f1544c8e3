package imds

import (
	"net"
	"net/http"
	"syscall"
	"testing"
)

func sockoptInt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

func TestHopLimitListener(t *testing.T) {
	for _, c := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(c.network, func(t *testing.T) {
			inner, err := net.Listen(c.network, c.addr)
			if err != nil {
				t.Skipf("no %s loopback: %v", c.network, err)
			}
			var failures []error
			l := HopLimitListener(inner, 0, func(err error) { failures = append(failures, err) })
			defer l.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				s, err := l.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- s
			}()
			client, err := net.Dial(c.network, l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			s, ok := <-accepted
			if !ok {
				t.Fatal("accept failed")
			}
			defer s.Close()
			if len(failures) != 0 {
				t.Fatal(failures)
			}
			if c.network == "tcp4" {
				if got := sockoptInt(t, s, syscall.IPPROTO_IP, syscall.IP_TTL); got != DefaultHopLimit {
					t.Errorf("IP_TTL %d, want %d", got, DefaultHopLimit)
				}
			} else {
				if got := sockoptInt(t, s, syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS); got != DefaultHopLimit {
					t.Errorf("IPV6_UNICAST_HOPS %d, want %d", got, DefaultHopLimit)
				}
				// For IPv4-mapped peers of a dual-stack socket.
				if got := sockoptInt(t, s, syscall.IPPROTO_IP, syscall.IP_TTL); got != DefaultHopLimit {
					t.Errorf("IP_TTL on the IPv6 socket %d, want %d", got, DefaultHopLimit)
				}
			}
			// The client's own socket keeps the system default.
			if c.network == "tcp4" && sockoptInt(t, client, syscall.IPPROTO_IP, syscall.IP_TTL) == DefaultHopLimit {
				t.Error("client socket changed too")
			}
		})
	}
}

// TestHopLimitServes checks that the IMDS endpoint still answers local
// callers through a hop-limited listener (loopback is zero hops away).
func TestHopLimitServes(t *testing.T) {
	e := newEnv(t, nil, nil)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(e.ec2, nil)
	go srv.Serve(HopLimitListener(inner, 1, nil))
	defer srv.Close()
	st, h, body := do(t, http.MethodPut, "http://"+inner.Addr().String()+TokenPath, map[string]string{TokenTTLHeader: "60"})
	if st != 200 || h.Get(TokenTTLHeader) != "60" || body == "" {
		t.Fatalf("token PUT through hop-limited listener: %d %q", st, body)
	}
}

func TestSetHopLimitNotSocket(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := SetHopLimit(a, 1); err == nil {
		t.Error("no error for a pipe")
	}
}
