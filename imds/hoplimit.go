package imds

import (
	"errors"
	"net"
)

// DefaultHopLimit is EC2's default IMDS PUT response hop limit: responses do
// not survive a single router hop, so a token cannot be minted for a remote
// host through a misconfigured forwarder.
const DefaultHopLimit = 1

// ErrHopLimitUnsupported is returned where the OS offers no way to set the
// hop limit of a connection.
var ErrHopLimitUnsupported = errors.New("setting the IP hop limit is not supported on this OS")

// HopLimitListener wraps l so that every accepted TCP connection sends with
// IP TTL / IPv6 unicast hop limit hops (DefaultHopLimit when hops <= 0). EC2
// applies the limit to token PUT responses; applying it to the whole IMDS
// connection is stricter and covers those. It works on listeners handed
// over by systemd too. Where the OS does not support it (see SetHopLimit),
// connections pass through unchanged; onErr, when not nil, is told of each
// failure (for a log line) and the connection is kept.
func HopLimitListener(l net.Listener, hops int, onErr func(error)) net.Listener {
	if hops <= 0 {
		hops = DefaultHopLimit
	}
	return &hopLimitListener{Listener: l, hops: hops, onErr: onErr}
}

type hopLimitListener struct {
	net.Listener
	hops  int
	onErr func(error)
}

func (l *hopLimitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	if err := SetHopLimit(c, l.hops); err != nil && l.onErr != nil && !errors.Is(err, ErrHopLimitUnsupported) {
		l.onErr(err)
	}
	return c, nil
}
