//go:build linux

package packaging

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/internal/testtool"
)

// maxExposure is the bound on `systemd-analyze security` for the
// system service ("OK" is anything up to 2.0 there).
const maxExposure = 2.0

// unitLine is one Key=Value line of a unit file.
type unitLine struct {
	section, key, value string
}

// readUnit parses a unit file or drop-in (the subset these files use: no
// line continuations).
func readUnit(t *testing.T, path string) []unitLine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []unitLine
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not Key=Value: %q", path, line)
			}
			out = append(out, unitLine{section, strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// values returns the values of key in section, in order.
func values(lines []unitLine, section, key string) []string {
	var out []string
	for _, l := range lines {
		if l.section == section && l.key == key {
			out = append(out, l.value)
		}
	}
	return out
}

// execPath is the program of an Exec*= value, without systemd's prefixes.
func execPath(v string) string {
	v = strings.TrimLeft(v, "-+!@:|")
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// stubBinary makes an executable stand-in for /usr/bin/credbroker, so that
// `systemd-analyze verify` (which checks every Exec*= program exists) can
// check the units before a package is installed. The package test checks the
// real path in an installed root.
func stubBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "credbroker")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// stageUnits copies unit files into a fresh directory with /usr/bin/credbroker
// replaced by bin, plus drop-ins given as unit name -> example files.
func stageUnits(t *testing.T, bin string, units []string, dropins map[string][]string) (dir string, staged []string) {
	t.Helper()
	dir = t.TempDir()
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/bin/credbroker"), []byte(bin))
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		staged = append(staged, p)
	}
	for unit, files := range dropins {
		d := filepath.Join(dir, unit+".d")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, filepath.Base(f)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, staged
}

func systemUnits(t *testing.T) []string {
	t.Helper()
	units, err := filepath.Glob("systemd/system/*")
	if err != nil || len(units) != 5 {
		t.Fatalf("system units: %v %v", units, err)
	}
	return units
}

// exampleDropins maps each unit to the example drop-ins written for it.
var exampleDropins = map[string][]string{
	"credbroker.service":            {"systemd/examples/caller-process.conf", "systemd/examples/keys.conf"},
	"credbroker-imds.socket":        {"systemd/examples/imds-link-local.conf"},
	"credbroker-container.socket":   {"systemd/examples/container-link-local.conf"},
	"credbroker-link-local.service": nil,
}

// TestVerifyUnits runs `systemd-analyze verify` on every unit, alone and
// with the example drop-ins, and on the user unit in user mode. verify
// exits 0 on unknown keys and bad values (it only warns), so any output at
// all fails the test. --man=no: the man pages named in Documentation= are
// generated at package time; the package test checks they are installed.
func TestVerifyUnits(t *testing.T) {
	testtool.Need(t, "systemd-analyze=systemd")
	bin := stubBinary(t)
	units := systemUnits(t)

	verify := func(t *testing.T, env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %v: %v\n%s", args, err, out)
		}
	}
	t.Run("system", func(t *testing.T) {
		_, staged := stageUnits(t, bin, units, nil)
		verify(t, nil, staged...)
	})
	t.Run("system with example drop-ins", func(t *testing.T) {
		_, staged := stageUnits(t, bin, units, exampleDropins)
		verify(t, nil, staged...)
	})
	t.Run("user", func(t *testing.T) {
		_, staged := stageUnits(t, bin, []string{"systemd/user/credbroker.service"}, nil)
		// A user manager needs a runtime directory to resolve %t.
		verify(t, []string{"XDG_RUNTIME_DIR=" + t.TempDir()}, append([]string{"--user"}, staged...)...)
	})
	t.Run("a broken unit fails", func(t *testing.T) {
		// The check above must be able to fail: a misspelt key only warns.
		dir := t.TempDir()
		p := filepath.Join(dir, "broken.service")
		if err := os.WriteFile(p, []byte("[Service]\nExecStart="+bin+"\nProtectSystm=strict\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("systemd-analyze", "verify", "--man=no", p).CombinedOutput()
		if !bytes.Contains(out, []byte("ProtectSystm")) {
			t.Errorf("verify said nothing of a misspelt key: %s", out)
		}
	})
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) (\S+)`)

// exposure runs `systemd-analyze security --offline=yes` on a unit (with
// the drop-ins beside it) and returns the overall exposure.
func exposure(t *testing.T, unit string) (float64, string) {
	t.Helper()
	out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security %s: %v\n%s", unit, err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure in:\n%s", out)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, string(m[2])
}

// TestSecurityExposure holds the system service to an exposure of at most
// 2.0 ("OK"), as shipped. The figures go to the test log (and README.md).
func TestSecurityExposure(t *testing.T) {
	testtool.Need(t, "systemd-analyze=systemd")
	bin := stubBinary(t)
	dir, _ := stageUnits(t, bin, systemUnits(t), nil)
	v, word := exposure(t, filepath.Join(dir, "credbroker.service"))
	t.Logf("credbroker.service: exposure %.1f %s", v, word)
	if v > maxExposure {
		t.Errorf("credbroker.service: exposure %.1f %s, want at most %.1f", v, word, maxExposure)
	}
	ll, word := exposure(t, filepath.Join(dir, "credbroker-link-local.service"))
	t.Logf("credbroker-link-local.service: exposure %.1f %s", ll, word)

	dir, _ = stageUnits(t, bin, systemUnits(t), map[string][]string{
		"credbroker.service": {"systemd/examples/caller-process.conf"},
	})
	withCaps, word := exposure(t, filepath.Join(dir, "credbroker.service"))
	t.Logf("credbroker.service + caller-process.conf: exposure %.1f %s", withCaps, word)
	if withCaps <= v {
		t.Errorf("granting CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH did not raise the exposure (%.1f -> %.1f): drop-in not applied?", v, withCaps)
	}

	// The figure the unit's comment and the README quote.
	quoted := strconv.FormatFloat(v, 'f', 1, 64) + " OK"
	for _, f := range []string{"systemd/system/credbroker.service", "README.md"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(quoted)) && !bytes.Contains(data, []byte("**"+quoted+"**")) {
			t.Errorf("%s does not quote the measured exposure %q", f, quoted)
		}
	}
}

// TestSocketUnits checks the socket units against the contract: one unit
// per file descriptor name, listening where the config's defaults say, for
// credbroker.service; and the link-local drop-ins on the well-known
// addresses, replacing (not adding to) the loopback ones.
func TestSocketUnits(t *testing.T) {
	defaults := config.Default(func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } }).Listen
	core := netip.MustParseAddrPort("127.0.0.1:8913") // off by default in the config; the contract's address
	want := map[string]netip.AddrPort{"imds": defaults.IMDS, "container": defaults.Container, "core": core}
	if !defaults.IMDS.IsValid() || !defaults.Container.IsValid() {
		t.Fatalf("config defaults: %+v", defaults)
	}
	for name, addr := range want {
		unit := readUnit(t, "systemd/system/credbroker-"+name+".socket")
		if got := values(unit, "Socket", "FileDescriptorName"); !slices.Equal(got, []string{name}) {
			t.Errorf("%s.socket: FileDescriptorName=%v, want %s", name, got, name)
		}
		if got := values(unit, "Socket", "ListenStream"); !slices.Equal(got, []string{addr.String()}) {
			t.Errorf("%s.socket: ListenStream=%v, want %s (the config default)", name, got, addr)
		}
		if got := values(unit, "Socket", "Service"); !slices.Equal(got, []string{"credbroker.service"}) {
			t.Errorf("%s.socket: Service=%v", name, got)
		}
		if got := values(unit, "Socket", "Accept"); len(got) > 0 {
			t.Errorf("%s.socket: Accept=%v: the daemon takes listening sockets", name, got)
		}
	}
	for file, addr := range map[string]string{
		"systemd/examples/imds-link-local.conf":      "169.254.169.254:80",
		"systemd/examples/container-link-local.conf": "169.254.170.2:80",
	} {
		d := readUnit(t, file)
		if got := values(d, "Socket", "ListenStream"); !slices.Equal(got, []string{"", addr}) {
			t.Errorf("%s: ListenStream=%q, want a reset then %s", file, got, addr)
		}
		for _, key := range []string{"Requires", "After"} {
			if got := values(d, "Unit", key); !slices.Equal(got, []string{"credbroker-link-local.service"}) {
				t.Errorf("%s: %s=%v", file, key, got)
			}
		}
	}
	// The service must not pull the sockets in itself (Sockets= implies
	// Wants=): a listener with no socket unit running comes from the config.
	if got := values(readUnit(t, "systemd/system/credbroker.service"), "Service", "Sockets"); len(got) > 0 {
		t.Errorf("credbroker.service: Sockets=%v", got)
	}
}

// TestLinkLocalCommands runs the link-local unit's ExecStart= and ExecStop=
// lines, as written, in a private network namespace: both addresses land on
// lo as local /32s, a second start does not fail, and stop removes them.
func TestLinkLocalCommands(t *testing.T) {
	testtool.Need(t, "unshare=util-linux", "ip=iproute2")
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace (unshare -n)")
	}
	unit := readUnit(t, "systemd/system/credbroker-link-local.service")
	starts, stops := values(unit, "Service", "ExecStart"), values(unit, "Service", "ExecStop")
	if len(starts) != 2 || len(stops) != 2 {
		t.Fatalf("ExecStart=%q ExecStop=%q", starts, stops)
	}
	shell := func(lines []string) string {
		var b strings.Builder
		for _, l := range lines {
			ignore := strings.HasPrefix(l, "-")
			b.WriteString(strings.TrimLeft(l, "-"))
			if ignore {
				b.WriteString(" || true")
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	script := "set -e\nip link set lo up\n" +
		shell(starts) + shell(starts) + // idempotent
		"ip -4 -o address show dev lo\n" +
		"ip -4 route get 169.254.169.254\nip -4 route get 169.254.170.2\n" +
		"echo ---\n" +
		shell(stops) + shell(stops) + // a second stop is ignored
		"ip -4 -o address show dev lo\n"
	out, err := exec.Command("unshare", "-n", "sh", "-c", script).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("unshare failed")) || bytes.Contains(out, []byte("Operation not permitted")) {
			t.Skipf("no network namespace here: %s", out)
		}
		t.Fatalf("link-local commands: %v\n%s", err, out)
	}
	up, down, _ := strings.Cut(string(out), "---")
	for _, a := range []string{"169.254.169.254/32 scope host", "169.254.170.2/32 scope host",
		"local 169.254.169.254 dev lo", "local 169.254.170.2 dev lo"} {
		if !strings.Contains(up, a) {
			t.Errorf("after start, no %q in:\n%s", a, up)
		}
	}
	if strings.Contains(down, "169.254.") {
		t.Errorf("after stop, addresses remain:\n%s", down)
	}
}

// TestShippedConfigs parses every config the package ships with the config
// package, in the environment it is meant for, and checks that the system
// config and the system unit agree on the master key's credential.
func TestShippedConfigs(t *testing.T) {
	systemd := map[string]string{
		"STATE_DIRECTORY":         "/var/lib/credbroker",
		"CONFIGURATION_DIRECTORY": "/etc/credbroker",
		"RUNTIME_DIRECTORY":       "/run/credbroker",
		"CREDENTIALS_DIRECTORY":   "/run/credentials/credbroker.service",
		"HOME":                    "/var/lib/credbroker",
	}
	user := map[string]string{"HOME": "/home/alice", "XDG_RUNTIME_DIR": "/run/user/1000", "USER": "alice"}
	load := func(t *testing.T, file string, env map[string]string, uid int, edit func([]byte) []byte) *config.Config {
		t.Helper()
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			src = edit(src)
		}
		cfg, err := config.Parse(src, file, func(o *config.LoadOptions) {
			o.Getenv = func(k string) string { return env[k] }
			o.UID = uid
			o.ReadFile = func(p string) ([]byte, error) { return nil, os.ErrNotExist }
		})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return cfg
	}

	sys := load(t, "credbroker.hcl", systemd, 999, nil)
	if sys.Upstream.Kind != config.UpstreamCore || sys.Upstream.StateDir != "/var/lib/credbroker" {
		t.Errorf("credbroker.hcl: upstream %s in %q, want the core in the unit's StateDirectory", sys.Upstream.Kind, sys.Upstream.StateDir)
	}
	// It must start on a fresh host: no roles (so no upstream is opened),
	// no rule naming a user, group or unit that may not exist.
	if len(sys.Roles) != 0 || len(sys.Clients) != 0 || len(sys.Sources) != 0 || sys.DefaultRole != "" {
		t.Errorf("credbroker.hcl: %d roles, %d client rules, %d sources, default role %q: as shipped it must name none (they name users and keys of a host)",
			len(sys.Roles), len(sys.Clients), len(sys.Sources), sys.DefaultRole)
	}
	mk := sys.Upstream.MasterKey
	creds := values(readUnit(t, "systemd/system/credbroker.service"), "Service", "LoadCredentialEncrypted")
	if mk.Source != config.MasterKeyCredential || !slices.Contains(creds, mk.Name) {
		t.Errorf("credbroker.hcl's master key (%s %q) is not among the unit's LoadCredentialEncrypted=%v", mk.Source, mk.Name, creds)
	}

	// The user example is safe as shipped (its client rule names nobody) and
	// valid once personalised as README.md says.
	shipped := load(t, "examples/credbroker-user.hcl", user, 1000, nil)
	personal := load(t, "examples/credbroker-user.hcl", user, 1000, func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte("YOUR_LOGIN"), []byte("alice"))
	})
	for _, c := range []*config.Config{shipped, personal} {
		if c.Upstream.Kind != config.UpstreamSTS || c.DefaultRole != "" {
			t.Errorf("credbroker-user.hcl: upstream %s, default role %q: want STS and no default role", c.Upstream.Kind, c.DefaultRole)
		}
	}
	if !strings.Contains(string(mustRead(t, "examples/credbroker-user.hcl")), `users = ["YOUR_LOGIN"]`) {
		t.Error(`credbroker-user.hcl: the client rule is not users = ["YOUR_LOGIN"], which README.md's sed edits`)
	}

	for _, f := range []string{"examples/ci-github.hcl", "examples/ci-gitlab.hcl"} {
		c := load(t, f, user, 1001, nil)
		if c.Upstream.Kind != config.UpstreamSTS || c.DefaultRole != "ci" {
			t.Errorf("%s: upstream %s, default role %q", f, c.Upstream.Kind, c.DefaultRole)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestUnitHardening: what issue 12 found missing under a real systemd, each
// in every unit it applies to (make test-systemd checks them at runtime).
func TestUnitHardening(t *testing.T) {
	type want struct{ section, key, value string }
	daemon := []want{
		{"Service", "ExecReload", "/usr/bin/credbroker reload"}, // a refused config fails the reload
		{"Service", "RestartPreventExitStatus", "78"},           // serve's EX_CONFIG is not retried
		{"Unit", "StartLimitIntervalSec", "120s"},               // nothing loops forever
		{"Unit", "StartLimitBurst", "5"},
		{"Service", "LimitCORE", "0"}, // no core dump holds a secret
	}
	tests := map[string][]want{
		"systemd/system/credbroker.service":            append(daemon, want{"Service", "InaccessiblePaths", "/dev/shm"}),
		"systemd/user/credbroker.service":              daemon,
		"systemd/system/credbroker-link-local.service": {{"Service", "LimitCORE", "0"}},
	}
	for file, wants := range tests {
		lines := readUnit(t, file)
		for _, w := range wants {
			if got := values(lines, w.section, w.key); !slices.Contains(got, w.value) {
				t.Errorf("%s: [%s] %s=%v, want %s", file, w.section, w.key, got, w.value)
			}
		}
	}
}
