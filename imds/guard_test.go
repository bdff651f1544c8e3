package imds

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/internal/logtest"
)

// newTestGuard returns a guard whose next handler records that it ran.
func newTestGuard(t *testing.T, peers []netip.Prefix, next func(http.ResponseWriter, *http.Request, connInfo)) (*guard, *logtest.Buffer) {
	t.Helper()
	log, buf := testLogger(t)
	render := func(w http.ResponseWriter, e *apiError) { w.WriteHeader(e.status) }
	if next == nil {
		next = func(w http.ResponseWriter, r *http.Request, c connInfo) {
			w.Header().Set("X-Remote", c.remote.String())
			w.Header().Set("X-Local", c.local.String())
			w.WriteHeader(299)
		}
	}
	g, err := newGuard(log, imdsHosts, []string{"imds.internal", "[2001:db8::1]"}, peers, 16, render, next)
	if err != nil {
		t.Fatal(err)
	}
	return g, buf
}

func guardRequest(remote, local, host string) *http.Request {
	r := httptest.NewRequest("GET", "/x", nil)
	r.RemoteAddr = remote
	r.Host = host
	if local != "" {
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(local))))
	}
	return r
}

func TestGuard(t *testing.T) {
	lan := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	cases := map[string]struct {
		peers               []netip.Prefix
		remote, local, host string
		status              int
	}{
		"loopback, listener address":   {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "127.0.0.1:8911", status: 299},
		"loopback v6":                  {remote: "[::1]:5000", local: "[::1]:8911", host: "[::1]:8911", status: 299},
		"mapped loopback":              {remote: "[::ffff:127.0.0.1]:5000", local: "[::ffff:127.0.0.1]:8911", host: "127.0.0.1:8911", status: 299},
		"other port on listener ip":    {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "127.0.0.1:80", status: 299},
		"link-local name":              {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "169.254.169.254", status: 299},
		"localhost":                    {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "localhost:8911", status: 299},
		"configured name":              {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "IMDS.internal:8911", status: 299},
		"configured v6":                {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "[2001:db8::1]:80", status: 299},
		"rebinding name":               {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "attacker.example:8911", status: 403},
		"name that ends like ours":     {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "x.localhost:8911", status: 403},
		"other loopback ip":            {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "127.0.0.2:8911", status: 403},
		"empty host":                   {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "", status: 403},
		"bracket garbage":              {remote: "127.0.0.1:5000", local: "127.0.0.1:8911", host: "[::1]x", status: 403},
		"no local address":             {remote: "127.0.0.1:5000", host: "127.0.0.1:8911", status: 403},
		"remote peer refused":          {remote: "192.0.2.7:5000", local: "192.0.2.1:8911", host: "192.0.2.1:8911", status: 403},
		"remote peer allowed":          {peers: lan, remote: "192.0.2.7:5000", local: "192.0.2.1:8911", host: "192.0.2.1:8911", status: 299},
		"peer outside allowed":         {peers: lan, remote: "198.51.100.7:5000", local: "192.0.2.1:8911", host: "192.0.2.1:8911", status: 403},
		"unparsable remote":            {remote: "@", local: "127.0.0.1:8911", host: "127.0.0.1:8911", status: 403},
		"allowed peer, foreign host":   {peers: lan, remote: "192.0.2.7:5000", local: "192.0.2.1:8911", host: "evil.example", status: 403},
		"unbracketed v6 host (listen)": {remote: "[::1]:5000", local: "[::1]:8911", host: "::1", status: 299},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g, _ := newTestGuard(t, c.peers, nil)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, guardRequest(c.remote, c.local, c.host))
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			if c.status == 299 && (w.Header().Get("X-Remote") != netip.MustParseAddrPort(c.remote).String() || w.Header().Get("X-Local") != c.local) {
				t.Errorf("connInfo %s → %s", w.Header().Get("X-Remote"), w.Header().Get("X-Local"))
			}
		})
	}
}

func TestGuardBody(t *testing.T) {
	read := 0
	g, _ := newTestGuard(t, nil, func(w http.ResponseWriter, r *http.Request, c connInfo) {
		b := make([]byte, 64)
		n, err := r.Body.Read(b)
		read = n
		if err == nil {
			_, err = r.Body.Read(b)
		}
		if err != nil && strings.Contains(err.Error(), "too large") {
			w.WriteHeader(413)
			return
		}
		w.WriteHeader(299)
	})
	for _, c := range []struct {
		body    string
		chunked bool
		status  int
	}{{"small", false, 299}, {strings.Repeat("x", 17), false, 413}, {strings.Repeat("x", 40), true, 413}} {
		r := httptest.NewRequest("PUT", "/x", strings.NewReader(c.body))
		r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost"
		if c.chunked {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != c.status {
			t.Errorf("body of %d (chunked %v): %d, want %d (handler read %d)", len(c.body), c.chunked, w.Code, c.status, read)
		}
	}
}

func TestGuardPanic(t *testing.T) {
	g, log := newTestGuard(t, nil, func(w http.ResponseWriter, r *http.Request, c connInfo) { panic("boom") })
	w := httptest.NewRecorder()
	g.ServeHTTP(w, guardRequest("127.0.0.1:1", "127.0.0.1:2", "localhost"))
	if w.Code != 500 || !strings.Contains(log.String(), "boom") || !strings.Contains(log.String(), "guard_test.go") {
		t.Fatalf("status %d, log %s", w.Code, log.String())
	}
	abort, _ := newTestGuard(t, nil, func(w http.ResponseWriter, r *http.Request, c connInfo) { panic(http.ErrAbortHandler) })
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("ErrAbortHandler not re-raised: %v", v)
		}
	}()
	abort.ServeHTTP(httptest.NewRecorder(), guardRequest("127.0.0.1:1", "127.0.0.1:2", "localhost"))
}

// TestGuardWrapsAnyHandler: Guard gives another handler (metrics) the
// endpoints' peer and Host checks.
func TestGuardWrapsAnyHandler(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	g, err := Guard(inner, func(o *GuardOptions) { o.AllowedHosts = []string{"metrics.internal"} })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		remote, host string
		status       int
	}{
		{"127.0.0.1:5000", "127.0.0.1:9100", 299},
		{"127.0.0.1:5000", "localhost:9100", 299},
		{"127.0.0.1:5000", "metrics.internal", 299},
		{"127.0.0.1:5000", "attacker.example:9100", 403},
		{"127.0.0.1:5000", "169.254.169.254", 403}, // IMDS's names are not the metrics'
		{"192.0.2.7:5000", "127.0.0.1:9100", 403},
	} {
		w := httptest.NewRecorder()
		g.ServeHTTP(w, guardRequest(c.remote, "127.0.0.1:9100", c.host))
		if w.Code != c.status {
			t.Errorf("%s with Host %q: %d, want %d", c.remote, c.host, w.Code, c.status)
		}
	}
	if _, err := Guard(inner, func(o *GuardOptions) { o.AllowedHosts = []string{"http://x/"} }); err == nil {
		t.Error("a URL was taken as a host name")
	}
}
