//go:build !linux

package peer

import (
	"net"
	"net/netip"
)

// Lookup fails: caller identification needs Linux.
func (r *Resolver) Lookup(local, remote netip.AddrPort) (*Caller, error) {
	return nil, ErrUnsupported
}

// LookupConn fails: caller identification needs Linux.
func (r *Resolver) LookupConn(c net.Conn) (*Caller, error) {
	return nil, ErrUnsupported
}

func (r *Resolver) process(c *Caller) (Process, error) {
	return Process{}, ErrUnsupported
}

// Close does nothing.
func (r *Resolver) Close() error { return nil }
