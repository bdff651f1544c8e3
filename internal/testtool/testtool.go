// Package testtool finds the programs that tests run (the aws CLI, openssl,
// xmlsec1, systemd's tools …) and, when one is missing, skips the test loudly,
// naming the Debian packages to install: the one form of that skip, so that every
// skip says what to install, as .ci/run installs it.
package testtool

import (
	"os/exec"
	"strings"
	"testing"
)

// Need skips t unless every program is on PATH. A program is "BIN", or
// "BIN=PACKAGES" where the Debian packages that install BIN are named otherwise
// ("aws=awscli", "samba=samba samba-ad-dc").
func Need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		Path(t, p)
	}
}

// Path returns where program ("BIN" or "BIN=PACKAGES", as for Need) is, and skips
// t when it is not on PATH.
func Path(t testing.TB, program string) string {
	t.Helper()
	bin, pkgs, ok := strings.Cut(program, "=")
	if !ok {
		pkgs = bin
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("SKIP: %s is not installed (apt-get install %s; .ci/run does)", bin, pkgs)
	}
	return path
}
