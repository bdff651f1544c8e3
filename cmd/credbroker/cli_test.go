package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the credbroker command line in-process with stdin and returns what it
// wrote to stdout and stderr. Logging is kept at warn so test output stays readable.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"--log-level", "warn"}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}
