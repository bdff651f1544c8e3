package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeTestShowsSkips runs `make test`'s own go test command (from
// `make -n test`) on a module whose one test skips, and checks that the
// skip and its reason come at the end of the output, where a reader of
// CI's log sees them (issue 12 §5: make test hid its skips).
func TestMakeTestShowsSkips(t *testing.T) {
	needTools(t, "make")
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("make", "-C", repo, "-s", "gotestsum").CombinedOutput(); err != nil {
		t.Fatalf("make gotestsum: %v\n%s", err, out)
	}
	out, err := exec.Command("make", "-C", repo, "-n", "test").Output()
	if err != nil {
		t.Fatalf("make -n test: %v", err)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "-race") && strings.HasSuffix(strings.TrimSpace(l), "./...") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatalf("no go test command in `make -n test`:\n%s", out)
	}
	mod := t.TempDir()
	files := map[string]string{
		"go.mod":       "module example.com/skipper\n\ngo 1.22\n",
		"skip_test.go": "package skipper\n\nimport \"testing\"\n\nfunc TestNeedsATool(t *testing.T) { t.Skip(\"SKIP: frobnicate is not installed (apt-get install frobnicate)\") }\n\nfunc TestFine(t *testing.T) {}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, got)
	}
	text := string(got)
	i := strings.LastIndex(text, "TestNeedsATool")
	if i < 0 || !strings.Contains(text[i:], "frobnicate is not installed") || !strings.Contains(text, "1 skipped") {
		t.Errorf("the skip is not summarised at the end of `make test`'s output:\n%s", text)
	}
}
