package testtool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// skipRecorder is a testing.TB whose Skipf is recorded instead of ending the test.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Helper() {}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}

func TestPathAndNeed(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "credbroker-test-tool")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)

	r := &skipRecorder{TB: t}
	if got := Path(r, "credbroker-test-tool=some-package"); got != prog || r.skipped != "" {
		t.Errorf("Path = %q (skip %q), want %q", got, r.skipped, prog)
	}
	for program, want := range map[string]string{
		"nope-xyz":            "SKIP: nope-xyz is not installed (apt-get install nope-xyz; .ci/run does)",
		"aws=awscli":          "SKIP: aws is not installed (apt-get install awscli; .ci/run does)",
		"samba=samba smbtool": "SKIP: samba is not installed (apt-get install samba smbtool; .ci/run does)",
	} {
		r := &skipRecorder{TB: t}
		Need(r, "credbroker-test-tool", program)
		if r.skipped != want {
			t.Errorf("Need(%q) skipped with %q, want %q", program, r.skipped, want)
		}
	}
}
