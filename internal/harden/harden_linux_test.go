//go:build linux

package harden

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNoCoreDumps runs in a child (the test binary again), since the
// change cannot be undone: the child reports its flag and limit after the
// call, and the parent checks them and that the child started dumpable.
func TestNoCoreDumps(t *testing.T) {
	if os.Getenv("HARDEN_CHILD") == "1" {
		before, err := Dumpable()
		if err != nil || !before {
			t.Fatalf("the child starts non-dumpable (%v): the test proves nothing", err)
		}
		if err := NoCoreDumps(); err != nil {
			t.Fatal(err)
		}
		after, err := Dumpable()
		if err != nil || after {
			t.Fatalf("dumpable after NoCoreDumps: %v %v", after, err)
		}
		var rl unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil || rl.Cur != 0 || rl.Max != 0 {
			t.Fatalf("RLIMIT_CORE %+v %v, want 0/0", rl, err)
		}
		// Raising it again is refused (hard limit 0, and no one should).
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}); err == nil && os.Geteuid() != 0 {
			t.Fatal("RLIMIT_CORE could be raised again")
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestNoCoreDumps$", "-test.v")
	cmd.Env = append(os.Environ(), "HARDEN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNoCoreDumps") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
