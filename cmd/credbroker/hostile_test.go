package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/internal/testtool"
)

// daemonPerUIDConns is the daemon's default connection limit per uid.
const daemonPerUIDConns = 128

// TestE2EServeBusyPort: a second daemon on a port another one holds exits
// 1 with the "address in use" message and its hint, not a panic.
func TestE2EServeBusyPort(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	d := e.serve(nil, "--log-level", "warn")
	_, errOut, err := e.run("", "serve", "--config", e.cfgPath, "--runtime-dir", t.TempDir(),
		"--imds-addr", d.eps.IMDS, "--container-addr", "127.0.0.1:0")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second serve: %v, want exit status 1\n%s", err, errOut)
	}
	if strings.Contains(errOut, "panic") || !strings.Contains(errOut, "address already in use") ||
		!strings.Contains(errOut, "another process (another credbroker?)") {
		t.Errorf("second serve's message:\n%s", errOut)
	}
}

// TestE2ENoCoreDump: a running daemon's core limit is 0, and a SIGABRT
// with GOTRACEBACK=crash (the Go runtime then aborts for a core) leaves no
// core, where a plain process in the same directory, with the same
// inherited limit and the kernel's core_pattern, leaves one.
func TestE2ENoCoreDump(t *testing.T) {
	pattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil || strings.TrimSpace(string(pattern)) != "core" {
		t.Skipf("core_pattern is %q (%v): the test reads cores from the working directory; run it where core_pattern is \"core\"", pattern, err)
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: old.Max, Max: old.Max}); err != nil || old.Max == 0 {
		t.Skipf("cannot raise RLIMIT_CORE (hard limit %d): %v", old.Max, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_CORE, &old) })
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	cores := func() []string {
		m, _ := filepath.Glob(filepath.Join(e.home, "core*"))
		return m
	}
	// The yardstick: a process that did nothing about dumps.
	sleep := e.command(nil, "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	sleep.Process.Signal(syscall.SIGABRT)
	sleep.Wait()
	if len(cores()) == 0 {
		t.Skip("a plain process left no core here either: nothing to compare with")
	}
	for _, c := range cores() {
		os.Remove(c)
	}

	d := e.serve([]string{"GOTRACEBACK=crash"}, "--log-level", "warn")
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			if f := strings.Fields(line); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Errorf("the daemon's core limit: %q, want 0 0", line)
			}
		}
	}
	d.cmd.Process.Signal(syscall.SIGABRT)
	select {
	case err := <-d.exited:
		d.exited <- err
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not die of SIGABRT")
	}
	if c := cores(); len(c) != 0 {
		t.Errorf("the daemon left a core dump: %v", c)
		for _, f := range c {
			os.Remove(f)
		}
	}
}

// floodScript opens N connections to HOST:PORT, sends one IMDSv2 token PUT
// on each without waiting, then reports how many were answered and how
// many the server closed, and holds the rest open until stdin closes.
const floodScript = `
import socket, sys, time, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
req = b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n"
socks, failed = [], 0
for i in range(n):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((host, port))
        s.sendall(req)
        s.setblocking(False)
        socks.append(s)
    except OSError:
        failed += 1
        s.close()
time.sleep(1)
answered = closed = 0
for s in socks:
    try:
        d = s.recv(65536)
        if d.startswith(b"HTTP/1.1 200"):
            answered += 1
        elif not d:
            closed += 1
        if d and b"Connection: close" in d:
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(len(socks), answered, closed, failed, flush=True)
sys.stdin.read()
`

// tcpFDs counts a process's descriptors that are TCP sockets (listeners
// and connections): its other descriptors (netlink sockets the peer
// resolver keeps for reuse, files) come and go on their own.
func tcpFDs(t *testing.T, pid int) int {
	t.Helper()
	tcp := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 9 {
				tcp["socket:["+fs[9]+"]"] = true
			}
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && tcp[l] {
			n++
		}
	}
	return n
}

// TestE2EConnectionFlood: an unprivileged uid with no role opens far more
// keep-alive connections than the daemon has file descriptors (its limit
// is set to 1024 here; the issue saw 22,000 against a larger one), one
// PUT each, and holds them. The daemon keeps that uid to its share, so
// another uid still gets credentials at once and the control socket
// answers; its descriptors and memory stay bounded, and come back when the
// flood ends. Before the limits, the daemon ran out of descriptors and
// every other caller hung.
func TestE2EConnectionFlood(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the flood runs as uid 65534: needs root")
	}
	py := testtool.Path(t, "/usr/bin/python3=python3") // the flood is a python3 script run as uid 65534
	e := newE2E(t)
	e.writeConfig(fmt.Sprintf(`
source "keyring" "alice" {}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
client "me" {
  uids = [%d]
  role = "deploy"
}
`, os.Getuid()))
	e.addKey()
	e.launch = []string{"sh", "-c", `ulimit -n 1024 && exec "$0" "$@"`}
	d := e.serve(nil, "--log-level", "warn")
	pid := d.cmd.Process.Pid
	if lim, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); !strings.Contains(string(lim), "Max open files            1024") {
		t.Fatalf("the daemon's fd limit was not set:\n%s", lim)
	}
	// Another uid's whole IMDSv2 exchange, each step on a new connection.
	served := func() error {
		hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		base := "http://" + d.eps.IMDS
		req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
		req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		tok, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		req, _ = http.NewRequest(http.MethodGet, base+"/latest/meta-data/iam/security-credentials/deploy", nil)
		req.Header.Set("X-aws-ec2-metadata-token", string(tok))
		if resp, err = hc.Do(req); err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"AccessKeyId"`) {
			return fmt.Errorf("credentials: %d %.100s", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := control.NewClient(d.eps.ControlSocket).Health(ctx); err != nil {
			return fmt.Errorf("control socket: %w", err)
		}
		return nil
	}
	if err := served(); err != nil {
		t.Fatalf("before the flood: %v", err)
	}
	baseFDs, baseRSS := tcpFDs(t, pid), rssKiB(t, pid)

	host, port, _ := strings.Cut(d.eps.IMDS, ":")
	flood := exec.Command(py, "-c", floodScript, host, port, "3000")
	flood.Dir = "/"
	flood.Env = []string{"PATH=/usr/bin:/bin"}
	flood.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdin, _ := flood.StdinPipe()
	stdout, _ := flood.StdoutPipe()
	flood.Stderr = os.Stderr
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	defer flood.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the flood did not report: %v", err)
	}
	t.Logf("flood (opened answered closed-by-daemon failed): %s", strings.TrimSpace(line))
	if f := strings.Fields(line); len(f) != 4 || f[0] != "3000" {
		t.Fatalf("the flood could not open its 3000 connections (its descriptor limit?): %s", line)
	}

	start := time.Now()
	if err := served(); err != nil {
		t.Errorf("uid %d during the flood: %v", os.Getuid(), err)
	}
	t.Logf("another uid served in %v during the flood", time.Since(start))
	fds, rss := tcpFDs(t, pid), rssKiB(t, pid)
	t.Logf("daemon during the flood: %d TCP sockets (%d before), RSS %.1f MB (%.1f before)", fds, baseFDs, float64(rss)/1024, float64(baseRSS)/1024)
	if fds > baseFDs+daemonPerUIDConns+16 {
		t.Errorf("the flood holds %d of the daemon's descriptors, want ≤ %d (one uid's share)", fds-baseFDs, daemonPerUIDConns+16)
	}
	if rss > baseRSS+32*1024 { // a sanity bound: garbage of 3000 connections may wait for the GC
		t.Errorf("RSS grew from %d to %d KiB under the flood", baseRSS, rss)
	}

	stdin.Close()
	flood.Wait()
	// The connections go as the client closes them; the memory within the
	// daemon's release interval (5 s) after that.
	deadline := time.Now().Add(15 * time.Second)
	for (tcpFDs(t, pid) > baseFDs || rssKiB(t, pid) > baseRSS+8*1024) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // bounded by the deadline
	}
	fds, rss = tcpFDs(t, pid), rssKiB(t, pid)
	t.Logf("daemon after the flood: %d TCP sockets, RSS %.1f MB", fds, float64(rss)/1024)
	if fds > baseFDs {
		t.Errorf("%d TCP sockets after the flood ended, %d before", fds, baseFDs)
	}
	if rss > baseRSS+8*1024 {
		t.Errorf("RSS %d KiB after the flood, %d before", rss, baseRSS)
	}
	if err := served(); err != nil {
		t.Errorf("after the flood: %v", err)
	}
}
