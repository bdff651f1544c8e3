package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
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
