package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/internal/testtool"
)

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as systemd reads it.
func monotonicUsec(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

// imdsToken asks addr's IMDS for a token over a fresh connection.
func imdsToken(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	fmt.Fprintf(c, "PUT /latest/api/token HTTP/1.1\r\nHost: %s\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// TestE2ESystemdNotify: Type=notify as systemd sees it, on a NOTIFY_SOCKET
// of the test's: STATUS lines while starting, READY=1 once serving,
// WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 (with MONOTONIC_USEC)
// and READY=1 around a SIGHUP (a bad config refused, with the file, line
// and column; a good one applied), STOPPING=1 and exit 0 on SIGTERM.
func TestE2ESystemdNotify(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	const watchdog = 400 * time.Millisecond
	d := e.serve([]string{"WATCHDOG_USEC=" + strconv.Itoa(int(watchdog/time.Microsecond))})
	msgs := d.notify.all()
	var statuses []string
	ready := -1
	for i, m := range msgs {
		if s, ok := m.fields["STATUS"]; ok {
			statuses = append(statuses, s)
		}
		if m.fields["READY"] == "1" && ready < 0 {
			ready = i
		}
	}
	if ready < 1 || !strings.Contains(strings.Join(statuses, "|"), "fetching the sessions of 3 roles") ||
		!strings.HasPrefix(msgs[ready].fields["STATUS"], "serving 3 roles (2 sessions ready)") {
		t.Errorf("start-up messages: %q", statuses)
	}

	// Watchdog pings at half the interval, from the health check loop.
	var pings []time.Time
	for len(pings) < 6 {
		pings = append(pings, d.notify.wait(t, "WATCHDOG", "1", 2*watchdog).at)
	}
	for i := 1; i < len(pings); i++ {
		if gap := pings[i].Sub(pings[i-1]); gap < watchdog/4 || gap > watchdog {
			t.Errorf("watchdog pings %v apart, want about %v", gap, watchdog/2)
		}
	}

	// A bad config: refused, the old one keeps serving.
	good, _ := os.ReadFile(e.cfgPath)
	bad := strings.Replace(string(good), `arn:aws:iam::123456789012:role/readonly`, `arn:aws:iam::123456789012:rol/readonly`, 1)
	os.WriteFile(e.cfgPath, []byte(bad), 0o644)
	before := monotonicUsec(t)
	d.cmd.Process.Signal(syscall.SIGHUP)
	m := d.notify.wait(t, "RELOADING", "1", 10*time.Second)
	usec, err := strconv.ParseInt(m.fields["MONOTONIC_USEC"], 10, 64)
	if err != nil || usec < before || usec > monotonicUsec(t) {
		t.Errorf("RELOADING=1 with MONOTONIC_USEC=%q, want between %d and now", m.fields["MONOTONIC_USEC"], before)
	}
	m = d.notify.wait(t, "READY", "1", 10*time.Second)
	if !strings.Contains(m.fields["STATUS"], "reload failed, still serving the previous configuration") || !strings.Contains(m.fields["STATUS"], "credbroker.hcl:") {
		t.Errorf("STATUS after a bad reload: %q", m.fields["STATUS"])
	}
	// The log says what is wrong and where (the pipe may lag the notify socket).
	d.stderr.WaitFor(t, "credbroker.hcl:21:12: Invalid role ARN", 10*time.Second)
	if err := imdsToken(d.eps.IMDS, 5*time.Second); err != nil {
		t.Errorf("not serving after a refused reload: %v", err)
	}

	// A good new config: applied.
	os.WriteFile(e.cfgPath, []byte(string(good)+`
role "extra" {
  arn    = "arn:aws:iam::123456789012:role/extra"
  source = "alice"
}
`), 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.notify.wait(t, "RELOADING", "1", 10*time.Second)
	m = d.notify.wait(t, "READY", "1", 10*time.Second)
	if !strings.HasPrefix(m.fields["STATUS"], "serving 4 roles") {
		t.Errorf("STATUS after a good reload: %q", m.fields["STATUS"])
	}
	if k := e.status().sessionKey("extra"); k == "" {
		t.Error("the new role has no session after the reload")
	}

	// SIGTERM: STOPPING=1, exit 0.
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.notify.wait(t, "STOPPING", "1", 10*time.Second)
	if err := <-d.exited; err != nil {
		t.Errorf("exit: %v\n%s", err, d.stderr.String())
	}
	d.exited <- nil
}

// TestE2ESocketActivation runs credbroker under systemd-socket-activate
// with the IMDS and container sockets named imds and container, fetches
// credentials through them, and restarts it while clients connect: the
// sockets stay with the holder (a shell standing in for systemd), so no
// connection queued during the restart is lost.
func TestE2ESocketActivation(t *testing.T) {
	activate := testtool.Path(t, "systemd-socket-activate=systemd")
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	n := newNotifySocket(t, e.root)
	imdsPort, containerPort := freePort(t), freePort(t)
	imdsAddr := fmt.Sprintf("127.0.0.1:%d", imdsPort)
	args := []string{"-l", imdsAddr, "-l", fmt.Sprintf("127.0.0.1:%d", containerPort), "--fdname=imds:container"}
	for _, kv := range append(e.env, "NOTIFY_SOCKET="+n.path) {
		args = append(args, "-E", kv)
	}
	// The shell keeps the sockets across the two runs, as systemd does;
	// each run gets LISTEN_PID of its own.
	wrapper := `for i in 1 2; do sh -c 'LISTEN_PID=$$ exec "$0" "$@"' "$@"; echo "run $i exited $?" >&2; done`
	args = append(args, "sh", "-c", wrapper, "sh", e.bin, "--log-level", "debug", "serve", "--config", e.cfgPath, "--runtime-dir", e.runtimeDir)
	cmd := exec.Command(activate, args...)
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if eps, err := control.ReadEndpoints(e.runtimeDir); err == nil {
			syscall.Kill(eps.PID, syscall.SIGKILL)
		}
	})

	// systemd-socket-activate starts the command at the first connection;
	// that connection waits in the backlog and is answered.
	out.WaitFor(t, fmt.Sprintf("Listening on 127.0.0.1:%d as 4.", containerPort), 10*time.Second)
	first := make(chan error, 1)
	go func() { first <- imdsToken(imdsAddr, 60*time.Second) }()
	n.wait(t, "READY", "1", 60*time.Second)
	if err := <-first; err != nil {
		t.Fatalf("the connection that started the daemon: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `using a socket handed over by systemd: name=imds`) || !strings.Contains(out.String(), `name=container`) {
		t.Errorf("the daemon did not take the named sockets:\n%s", out.String())
	}
	eps, err := control.ReadEndpoints(e.runtimeDir)
	if err != nil {
		t.Fatal(err)
	}
	if eps.IMDS != imdsAddr || eps.Container != fmt.Sprintf("127.0.0.1:%d", containerPort) {
		t.Errorf("endpoints %+v", eps)
	}
	viaIMDS := e.boto3(t, []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + eps.IMDSURL(), "AWS_EC2_METADATA_V1_DISABLED=true", "AWS_DEFAULT_REGION=eu-west-1"})
	viaContainer := e.boto3(t, e.envLines(t))
	if !strings.Contains(viaIMDS.Arn, "assumed-role/deploy/") || viaContainer.Key != viaIMDS.Key || viaContainer.Method != "container-role" {
		t.Errorf("through the handed-over sockets: imds %+v container %+v", viaIMDS, viaContainer)
	}

	// Restart: stop run 1; connect while it stops and before run 2 is up.
	syscall.Kill(eps.PID, syscall.SIGTERM)
	n.wait(t, "STOPPING", "1", 10*time.Second)
	const clients = 48
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := imdsToken(imdsAddr, 60*time.Second)
			if err != nil {
				err = fmt.Errorf("started %s, failed %s: %w", start.UTC().Format("15:04:05.000000"), time.Now().UTC().Format("15:04:05.000000"), err)
			}
			errs <- err
		}()
	}
	n.wait(t, "READY", "1", 60*time.Second)
	wg.Wait()
	close(errs)
	lost := 0
	for err := range errs {
		if err != nil {
			lost++
			t.Errorf("a connection made during the restart: %v", err)
		}
	}
	t.Logf("%d connections made during the restart, %d lost", clients, lost)
	if lost > 0 {
		t.Logf("output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "run 1 exited 0") {
		t.Errorf("run 1 did not exit 0:\n%s", out.String())
	}
	eps2, err := control.ReadEndpoints(e.runtimeDir)
	if err != nil || eps2.PID == eps.PID {
		t.Fatalf("run 2: %+v %v", eps2, err)
	}
	if id := e.boto3(t, e.envLines(t)); !strings.Contains(id.Arn, "assumed-role/deploy/") {
		t.Errorf("after the restart: %+v", id)
	}
	syscall.Kill(eps2.PID, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the activator did not end\n%s", out.String())
	}
	if !strings.Contains(out.String(), "run 2 exited 0") {
		t.Errorf("run 2 did not exit 0:\n%s", out.String())
	}
}
