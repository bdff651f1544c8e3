package peer

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// hostWord prints a 4-byte address word the way the kernel does in
// /proc/net/tcp: as a host-order u32.
func hostWords(a netip.Addr) string {
	raw := a.AsSlice()
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		b.WriteString(strings.ToUpper(hexU32(binary.NativeEndian.Uint32(raw[i:]))))
	}
	return b.String()
}

func hexU32(v uint32) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		out[i] = digits[v&0xf]
		v >>= 4
	}
	return string(out)
}

func TestParseProcNetAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1:8911", "10.1.2.3:1", "[::1]:443", "[::ffff:127.0.0.1]:80", "[fd00:ec2::254]:80"} {
		want := netip.MustParseAddrPort(s)
		text := hostWords(want.Addr()) + ":" + strings.ToUpper(hexU32(uint32(want.Port()))[4:])
		got, err := parseProcNetAddr(text)
		if err != nil || got != want {
			t.Errorf("%s → %q → %v (%v)", s, text, got, err)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:", "01007F:0050", "zz00007F:0050", "0100007F:10000"} {
		if _, err := parseProcNetAddr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestFindInProcNet(t *testing.T) {
	l := netip.MustParseAddrPort("127.0.0.1:8911")
	r := netip.MustParseAddrPort("127.0.0.1:40000")
	row := func(local, remote netip.AddrPort, uid, inode string) string {
		a := func(ap netip.AddrPort) string {
			return hostWords(ap.Addr()) + ":" + strings.ToUpper(hexU32(uint32(ap.Port()))[4:])
		}
		return "   1: " + a(local) + " " + a(remote) + " 01 00000000:00000000 00:00000000 00000000  " + uid + "        0 " + inode + " 1 0000000000000000 20 4 30 10 -1"
	}
	content := strings.Join([]string{
		"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
		row(l, r, "0", "111"),    // the server's side
		row(r, l, "1000", "222"), // the client's side
		"garbage",
	}, "\n")
	e, ok := findInProcNet([]byte(content), r, l)
	if !ok || e.uid != 1000 || e.inode != 222 {
		t.Errorf("client socket: %+v %v", e, ok)
	}
	if _, ok := findInProcNet([]byte(content), r, netip.MustParseAddrPort("127.0.0.1:1")); ok {
		t.Error("found a socket that is not there")
	}
}

func TestParseCgroupUnit(t *testing.T) {
	for in, want := range map[string]string{
		"0::/system.slice/credbroker.service\n":                                    "credbroker.service",
		"0::/user.slice/user-1000.slice/user@1000.service/app.slice/dev.service\n": "dev.service",
		"0::/user.slice/user-1000.slice/session-3.scope\n":                         "session-3.scope",
		"0::/system.slice/docker-abc.scope/init\n":                                 "docker-abc.scope",
		"0::/\n": "",
		"":       "",
		"12:pids:/\n1:name=systemd:/system.slice/cron.service\n0::/\n": "cron.service",
	} {
		if got := parseCgroupUnit([]byte(in)); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestParseStatusIDs(t *testing.T) {
	status := "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t101\t100\t100\nGroups:\t4 24 27 \n"
	gid, groups, err := parseStatusIDs([]byte(status))
	if err != nil || gid != 101 || !reflect.DeepEqual(groups, []uint32{4, 24, 27}) {
		t.Errorf("gid %d groups %v err %v", gid, groups, err)
	}
	for _, bad := range []string{"", "Gid:\tx\ty\n", "Gid:\t1\t2\nGroups:\tz\n"} {
		if _, _, err := parseStatusIDs([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestNewCaller(t *testing.T) {
	c := NewCaller(1234, 0)
	if c.UID() != 1234 {
		t.Fatal(c.UID())
	}
	if _, err := c.Exe(); err == nil {
		t.Error("a caller without pid or inode found a process")
	}
}

func FuzzProcNetLine(f *testing.F) {
	f.Add("   1: 0100007F:22CF 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 222 1")
	f.Add("   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 5 1")
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = parseProcNetLine(line)
	})
}

func FuzzCgroupAndStatus(f *testing.F) {
	f.Add([]byte("0::/system.slice/x.service\n"))
	f.Add([]byte("Gid:\t1\t2\t3\t4\nGroups:\t1 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u := parseCgroupUnit(b)
		if u != "" && !strings.HasSuffix(u, ".service") && !strings.HasSuffix(u, ".scope") {
			t.Fatalf("unit %q", u)
		}
		_, _, _ = parseStatusIDs(b)
	})
}
