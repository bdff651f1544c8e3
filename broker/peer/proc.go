package peer

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// procNetEntry is one socket of /proc/net/tcp or tcp6.
type procNetEntry struct {
	local, remote netip.AddrPort
	uid           uint32
	inode         uint64
}

// parseProcNetAddr parses "0100007F:1F90" (IPv4) or 32 hex digits ":PORT"
// (IPv6): the address as the kernel's 32-bit words printed in host order.
func parseProcNetAddr(s string) (netip.AddrPort, error) {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return netip.AddrPort{}, errors.New("no port")
	}
	raw, err := hex.DecodeString(s[:colon])
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, errors.New("bad address")
	}
	port, err := strconv.ParseUint(s[colon+1:], 16, 16)
	if err != nil {
		return netip.AddrPort{}, errors.New("bad port")
	}
	// Each 4-byte word was printed as a host-order u32: put it back in
	// memory order.
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// parseProcNetLine parses one line of /proc/net/tcp{,6}; ok is false for
// the header and malformed lines.
func parseProcNetLine(line string) (e procNetEntry, ok bool) {
	f := strings.Fields(line)
	// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return e, false
	}
	var err error
	if e.local, err = parseProcNetAddr(f[1]); err != nil {
		return e, false
	}
	if e.remote, err = parseProcNetAddr(f[2]); err != nil {
		return e, false
	}
	uid, err := strconv.ParseUint(f[7], 10, 32)
	if err != nil {
		return e, false
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return e, false
	}
	e.uid, e.inode = uint32(uid), inode
	return e, true
}

// findInProcNet finds the socket whose local and remote addresses are the
// given ones in the content of /proc/net/tcp{,6}.
func findInProcNet(content []byte, local, remote netip.AddrPort) (procNetEntry, bool) {
	for len(content) > 0 {
		var line []byte
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			line, content = content, nil
		}
		e, ok := parseProcNetLine(string(line))
		if ok && e.local == local && e.remote == remote {
			return e, true
		}
	}
	return procNetEntry{}, false
}

// parseCgroupUnit returns the systemd unit of a /proc/PID/cgroup content:
// the last path component ending in .service or .scope of the unified
// hierarchy ("0::/…"), else of the name=systemd one (cgroup v1).
func parseCgroupUnit(content []byte) string {
	var v2, v1 string
	for _, line := range strings.Split(string(content), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case parts[1] == "name=systemd":
			v1 = parts[2]
		}
	}
	p := v2
	if p == "" || p == "/" {
		p = v1
	}
	comps := strings.Split(p, "/")
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		if strings.HasSuffix(c, ".service") || strings.HasSuffix(c, ".scope") {
			return c
		}
	}
	return ""
}

// parseStatusIDs reads the effective gid and the supplementary groups of a
// /proc/PID/status content.
func parseStatusIDs(content []byte) (gid uint32, groups []uint32, err error) {
	var sawGid bool
	for _, line := range strings.Split(string(content), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch name {
		case "Gid":
			f := strings.Fields(val)
			if len(f) < 2 {
				return 0, nil, errors.New("malformed Gid line")
			}
			g, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				return 0, nil, errors.New("malformed Gid line")
			}
			gid, sawGid = uint32(g), true
		case "Groups":
			for _, f := range strings.Fields(val) {
				g, err := strconv.ParseUint(f, 10, 32)
				if err != nil {
					return 0, nil, errors.New("malformed Groups line")
				}
				groups = append(groups, uint32(g))
			}
		}
	}
	if !sawGid {
		return 0, nil, errors.New("no Gid line")
	}
	return gid, groups, nil
}
