package imds

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// uidByPort identifies test clients by their source port, which the
// client registers after its dial: the lookup waits for it. unknownUID
// stands for a peer the identifier cannot tell.
type uidByPort struct {
	mu   sync.Mutex
	cond *sync.Cond
	m    map[int]uint32
}

const unknownUID = ^uint32(0)

func newUIDByPort() *uidByPort {
	u := &uidByPort{m: map[int]uint32{}}
	u.cond = sync.NewCond(&u.mu)
	return u
}

func (u *uidByPort) store(port int, uid uint32) {
	u.mu.Lock()
	u.m[port] = uid
	u.mu.Unlock()
	u.cond.Broadcast()
}

func (u *uidByPort) IdentifyConn(c net.Conn) (uint32, any, error) {
	port := c.RemoteAddr().(*net.TCPAddr).Port
	u.mu.Lock()
	defer u.mu.Unlock()
	for {
		if uid, ok := u.m[port]; ok {
			if uid == unknownUID {
				return 0, nil, errors.New("unknown client")
			}
			return uid, fmt.Sprintf("uid %d", uid), nil
		}
		u.cond.Wait()
	}
}

type connKey struct{}

// limitServer serves "/" (200 with the connection's PeerInfo) and "/busy"
// (blocks until release is closed) behind a limiter.
type limitServer struct {
	t       *testing.T
	addr    string
	ids     *uidByPort
	lim     *ConnLimiter
	entered chan struct{}
	release chan struct{}
	idle    chan struct{} // a connection went idle (after the limiter knew)
}

func newLimitServer(t *testing.T, perPeer, total int) *limitServer {
	s := &limitServer{t: t, ids: newUIDByPort(), entered: make(chan struct{}, 16), release: make(chan struct{}),
		idle: make(chan struct{}, 64)}
	s.lim = NewConnLimiter(s.ids, func(o *ConnLimits) { o.PerPeer, o.Total = perPeer, total })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{
		ConnState: func(c net.Conn, st http.ConnState) {
			s.lim.ConnState(c, st)
			if st == http.StateIdle {
				s.idle <- struct{}{}
			}
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/busy" {
				s.entered <- struct{}{}
				<-s.release
			}
			c := r.Context().Value(connKey{}).(interface{ PeerInfo() any })
			fmt.Fprint(w, c.PeerInfo())
		}),
	}
	go srv.Serve(s.lim.Listener(ln))
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		srv.Close()
	})
	return s
}

type limitClient struct {
	c  net.Conn
	br *bufio.Reader
}

func (s *limitServer) dial(uid uint32) *limitClient {
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ids.store(c.LocalAddr().(*net.TCPAddr).Port, uid)
	s.t.Cleanup(func() { c.Close() })
	return &limitClient{c: c, br: bufio.NewReader(c)}
}

func (c *limitClient) send(path string) error {
	_, err := fmt.Fprintf(c.c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	return err
}

// get sends a request and reads the answer: status and body, or an error
// when the connection was closed without one.
func (c *limitClient) get(path string) (int, string, error) {
	if err := c.send(path); err != nil {
		return 0, "", err
	}
	return c.read()
}

func (c *limitClient) read() (int, string, error) {
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// closed reports whether the server closed the connection.
func (c *limitClient) closed() bool {
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.br.ReadByte()
	return err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// want sends a request and checks the answer; with 200, it waits until
// the server has put the connection back to idle.
func (s *limitServer) want(c *limitClient, path string, status int, body string) {
	s.t.Helper()
	got, b, err := c.get(path)
	if err != nil || got != status || (body != "" && b != body) {
		s.t.Fatalf("GET %s: %d %q %v, want %d %q", path, got, b, err, status, body)
	}
	if status == 200 {
		select {
		case <-s.idle:
		case <-time.After(5 * time.Second):
			s.t.Fatal("the connection did not go idle")
		}
	}
}

func (s *limitServer) waitBusy(n int) {
	for range n {
		select {
		case <-s.entered:
		case <-time.After(5 * time.Second):
			s.t.Fatal("the busy request did not arrive")
		}
	}
}

// TestConnLimiterPerPeer: a uid at its limit makes room by closing its
// own longest-idle connection; with all of them mid-request, its new
// connection is answered 503; another uid is served all along.
func TestConnLimiterPerPeer(t *testing.T) {
	s := newLimitServer(t, 2, 10)
	a1, a2 := s.dial(1), s.dial(1)
	s.want(a1, "/", 200, "uid 1")
	s.want(a2, "/", 200, "uid 1")
	a3 := s.dial(1)
	s.want(a3, "/", 200, "uid 1")
	if !a1.closed() {
		t.Error("the longest-idle connection of uid 1 was not closed for the third")
	}
	if st := s.lim.Stats(); st.Evicted != 1 || st.Open != 2 {
		t.Errorf("stats %+v, want 1 evicted, 2 open", st)
	}
	a2.send("/busy")
	a3.send("/busy")
	s.waitBusy(2)
	a4 := s.dial(1)
	if code, body, err := a4.get("/"); code != 503 || err != nil {
		t.Errorf("uid 1 over its limit with none idle: %d %q %v, want 503", code, body, err)
	}
	if !a4.closed() {
		t.Error("the refused connection stays open")
	}
	s.want(s.dial(2), "/", 200, "uid 2")
	close(s.release)
	for _, c := range []*limitClient{a2, a3} {
		if code, _, err := c.read(); code != 200 || err != nil {
			t.Errorf("busy request: %d %v", code, err)
		}
	}
	if st := s.lim.Stats(); st.Refused != 1 || st.Accepted != 5 {
		t.Errorf("stats %+v, want 1 refused of 5 accepted", st)
	}
}

// TestConnLimiterTotal: at the total limit a new connection closes the
// longest-idle one of the peer holding the most; with none idle, it is
// closed at once.
func TestConnLimiterTotal(t *testing.T) {
	s := newLimitServer(t, 5, 3)
	a1, a2, b1 := s.dial(1), s.dial(1), s.dial(2)
	for _, c := range []*limitClient{a1, a2, b1} {
		s.want(c, "/", 200, "")
	}
	c1 := s.dial(3)
	s.want(c1, "/", 200, "uid 3")
	if !a1.closed() {
		t.Error("uid 1 (the most connections) did not lose its longest-idle one")
	}
	for _, c := range []*limitClient{a2, b1, c1} {
		c.send("/busy")
	}
	s.waitBusy(3)
	d1 := s.dial(4)
	if !d1.closed() {
		t.Error("a connection over the total with none idle was not closed")
	}
	if st := s.lim.Stats(); st.Refused != 1 || st.Evicted != 1 || st.Open != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestConnLimiterUnknownPeer: a peer that cannot be identified is limited
// by its address.
func TestConnLimiterUnknownPeer(t *testing.T) {
	s := newLimitServer(t, 1, 10)
	u1 := s.dial(unknownUID)
	s.want(u1, "/", 200, "<nil>")
	s.want(s.dial(unknownUID), "/", 200, "<nil>")
	if !u1.closed() {
		t.Error("an unknown peer's second connection did not replace its first (limit 1)")
	}
	s.want(s.dial(7), "/", 200, "uid 7")
}
