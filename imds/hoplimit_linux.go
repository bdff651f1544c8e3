//go:build linux

package imds

import (
	"fmt"
	"net"
	"syscall"
)

// SetHopLimit sets the IP TTL (IPv4) or unicast hop limit (IPv6) of a TCP
// connection's outgoing packets to hops. On a dual-stack IPv6 socket both are
// set, since IPv4-mapped peers are sent IPv4 packets.
func SetHopLimit(c net.Conn, hops int) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("set hop limit on %T: %w", c, ErrHopLimitUnsupported)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("set hop limit: %w", err)
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		family, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_DOMAIN)
		if err != nil {
			serr = fmt.Errorf("socket family: %w", err)
			return
		}
		switch family {
		case syscall.AF_INET:
			serr = setInt(fd, syscall.IPPROTO_IP, syscall.IP_TTL, "IP_TTL", hops)
		case syscall.AF_INET6:
			serr = setInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", hops)
			if serr == nil {
				serr = setInt(fd, syscall.IPPROTO_IP, syscall.IP_TTL, "IP_TTL", hops)
			}
		default:
			serr = fmt.Errorf("socket family %d: %w", family, ErrHopLimitUnsupported)
		}
	})
	if err != nil {
		return fmt.Errorf("set hop limit: %w", err)
	}
	return serr
}

func setInt(fd uintptr, level, opt int, name string, v int) error {
	if err := syscall.SetsockoptInt(int(fd), level, opt, v); err != nil {
		return fmt.Errorf("setsockopt %s=%d: %w", name, v, err)
	}
	return nil
}
