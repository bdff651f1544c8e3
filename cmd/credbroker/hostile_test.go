package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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
