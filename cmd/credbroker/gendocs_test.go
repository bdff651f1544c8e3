package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestGenDocsCoversEveryCommand generates the man pages and completions and
// checks them against the command tree: a page for every visible command
// (the hidden gen-docs has none), and every subcommand offered by the
// completion the scripts ask the binary for.
func TestGenDocsCoversEveryCommand(t *testing.T) {
	dir := t.TempDir()
	manDir, compDir := filepath.Join(dir, "man"), filepath.Join(dir, "completions")
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	root := newRootCmd()
	root.SetArgs([]string{"gen-docs", "--man", manDir, "--completions", compDir})
	if err := root.Execute(); err != nil {
		t.Fatalf("gen-docs: %v", err)
	}

	// Every visible command, from the tree Execute completed (help and
	// completion commands included).
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				walk(sub)
			}
		}
	}
	walk(root)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands in the tree", len(cmds))
	}

	pages, err := filepath.Glob(filepath.Join(manDir, "*.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range cmds {
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		want[name+".1"] = true
		page, err := os.ReadFile(filepath.Join(manDir, name+".1"))
		if err != nil {
			t.Errorf("no man page for %q: %v", c.CommandPath(), err)
			continue
		}
		for _, s := range []string{".SH NAME\n" + name + " - ", c.Short, "Nov 2023", "\"credbroker manual\""} {
			if !bytes.Contains(page, []byte(s)) {
				t.Errorf("%s.1 lacks %q", name, s)
			}
		}
		if bytes.Contains(page, []byte("Auto generated")) {
			t.Errorf("%s.1 carries cobra's dated footer", name)
		}
	}
	for _, p := range pages {
		if !want[filepath.Base(p)] {
			t.Errorf("man page %s for no visible command", filepath.Base(p))
		}
	}

	for file, marks := range map[string][]string{
		bashCompletionFile: {"complete -o default -F __start_credbroker credbroker", "__complete"},
		zshCompletionFile:  {"#compdef credbroker", "__complete"},
		fishCompletionFile: {"complete -c credbroker", "__complete"},
	} {
		script, err := os.ReadFile(filepath.Join(compDir, file))
		if err != nil {
			t.Errorf("completion %s: %v", file, err)
			continue
		}
		for _, m := range marks {
			if !bytes.Contains(script, []byte(m)) {
				t.Errorf("completion %s lacks %q", file, m)
			}
		}
	}

	// The scripts delegate to `credbroker __complete WORDS... ''`: every
	// parent command must offer each of its visible subcommands, and never
	// the hidden generator.
	for _, c := range cmds {
		if !c.HasAvailableSubCommands() {
			continue
		}
		args := append([]string{"__complete"}, strings.Fields(c.CommandPath())[1:]...)
		offered := complete(t, append(args, ""))
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !offered[sub.Name()] {
				t.Errorf("completing %q does not offer %q (offered %v)", c.CommandPath(), sub.Name(), offered)
			}
		}
		if offered["gen-docs"] {
			t.Errorf("completing %q offers the hidden gen-docs", c.CommandPath())
		}
	}
}

// complete runs the hidden __complete command and returns the candidates.
func complete(t *testing.T, args []string) map[string]bool {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	got := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		name, _, _ := strings.Cut(line, "\t")
		got[name] = true
	}
	return got
}

func TestGenDocsNeedsADirectory(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"gen-docs"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--man DIR") {
		t.Fatalf("gen-docs with no directory: %v", err)
	}
}
