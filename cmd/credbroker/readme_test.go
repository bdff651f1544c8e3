package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeBlock returns the first ```sh block after the line heading in
// README.md.
func readmeBlock(t *testing.T, readme, heading string) []string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	rest := readme[i:]
	start := strings.Index(rest, "```sh\n")
	if start < 0 {
		t.Fatalf("no sh block after %q", heading)
	}
	rest = rest[start+len("```sh\n"):]
	end := strings.Index(rest, "```")
	return strings.Split(strings.TrimRight(rest[:end], "\n"), "\n")
}

// TestREADMEFirstHour runs README.md's "Try it" block and the IAM
// walkthrough as written, in one shell, from a directory laid out as the
// repository's root (issue 12 §5): credbroker put on PATH by the README's
// own line, `env` in the second shell, the walkthrough's file:// paths
// from the root, and the MFA codes computed on a headless machine. Only
// the `serve --dev` line is run by the test itself, in the background, on
// ports the kernel picks (the defaults may be taken on a shared machine).
func TestREADMEFirstHour(t *testing.T) {
	needTools(t, "aws=awscli", "python3", "oathtool", "make")
	e := newE2E(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	try := readmeBlock(t, readme, "## Try it")
	walk := readmeBlock(t, readme, "### The IAM guides' walkthrough, against the core")

	// The repository's root, as far as the blocks use it: sts/ for the
	// documents, and `make build` (a shim that installs the binary this
	// test built, as make build would: bin/credbroker).
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	root := filepath.Join(e.root, "repo")
	shims := filepath.Join(e.root, "shims")
	for _, d := range []string{root, shims} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(repo, "sts"), filepath.Join(root, "sts")); err != nil {
		t.Fatal(err)
	}
	shim := fmt.Sprintf("#!/bin/sh\nset -e\n[ \"$1\" = build ] || { echo \"make shim: only build\" >&2; exit 2; }\nmkdir -p bin && cp %q bin/credbroker\n", e.bin)
	if err := os.WriteFile(filepath.Join(shims, "make"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}

	var script strings.Builder
	script.WriteString("set -e\ntrap 'kill $serve 2>/dev/null' EXIT\n")
	served := false
	for _, line := range append(try, walk...) {
		if strings.HasPrefix(line, "credbroker serve --dev") {
			served = true
			fmt.Fprintf(&script, "credbroker serve --dev --runtime-dir %q --imds-addr 127.0.0.1:0 --container-addr 127.0.0.1:0 --core-addr 127.0.0.1:0 > serve.log 2>&1 & serve=$!\n", e.runtimeDir)
			script.WriteString("for i in $(seq 150); do credbroker status >/dev/null 2>&1 && break; sleep 0.2; done\n")
			continue
		}
		script.WriteString(line + "\n")
	}
	if !served {
		t.Fatal("the Try it block has no `credbroker serve --dev` line")
	}
	if strings.Contains(script.String(), "go run") {
		t.Error("the README still runs `go run` where credbroker should be on PATH")
	}
	env := []string{"PATH=" + shims + ":" + os.Getenv("PATH")}
	for _, kv := range e.env {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "AWS_ENDPOINT_URL_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command("sh", "-c", script.String())
	cmd.Dir, cmd.Env = root, env
	out, err := cmd.CombinedOutput()
	log, _ := os.ReadFile(filepath.Join(root, "serve.log"))
	if err != nil {
		t.Fatalf("README's blocks failed: %v\n--- script\n%s--- output\n%s--- serve\n%s", err, script.String(), out, log)
	}
	for _, want := range []string{"assumed-role/dev-admin/", "user,arn,user_creation_time"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README's blocks printed no %q:\n%s", want, out)
		}
	}
}
