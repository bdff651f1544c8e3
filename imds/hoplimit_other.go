//go:build !linux

package imds

import "net"

// SetHopLimit returns ErrHopLimitUnsupported: only the Linux build sets the
// hop limit.
func SetHopLimit(c net.Conn, hops int) error { return ErrHopLimitUnsupported }
