package peer

import (
	"context"
	"net"
	"testing"
)

// knownConn is a connection a limiter has identified already.
type knownConn struct {
	net.Conn
	info any
}

func (c knownConn) PeerInfo() any { return c.info }

// TestFromContextReusesLimiterLookup: a Caller the connection limiter
// found (IdentifyConn's info) is the one FromContext returns, with no
// second lookup; without it, FromContext looks up itself.
func TestFromContextReusesLimiterLookup(t *testing.T) {
	r := New()
	defer r.Close()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	want := NewCaller(4321, 99)
	ctx := r.ConnContext(context.Background(), knownConn{Conn: a, info: want})
	got, err := FromContext(ctx)
	if err != nil || got != want {
		t.Fatalf("FromContext = %v, %v; want the limiter's caller", got, err)
	}
	// No info (the limiter's lookup failed): FromContext tries itself, and
	// a pipe is no socket it can identify.
	ctx = r.ConnContext(context.Background(), knownConn{Conn: b})
	if c, err := FromContext(ctx); err == nil {
		t.Errorf("a pipe was identified as %v", c)
	}
}
