package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/credbroker/credbroker/internal/buildinfo"
)

// genDocsFlags say where `credbroker gen-docs` writes.
type genDocsFlags struct {
	manDir         string
	completionsDir string
}

// Completion script file names, as the packages install them (bash:
// bash-completion's completions/NAME, zsh: a function named _NAME on fpath,
// fish: vendor_completions.d/NAME.fish).
const (
	bashCompletionFile = "credbroker.bash"
	zshCompletionFile  = "_credbroker"
	fishCompletionFile = "credbroker.fish"
)

// newGenDocsCmd is the hidden generator behind `make man` and
// `make completions`: man pages and shell completions come from the same
// command tree as --help, so they cannot drift from it. It lives in the
// binary (not a separate tool) because the tree is built by newRootCmd in
// this package main, which nothing else can import.
func newGenDocsCmd() *cobra.Command {
	var f genDocsFlags
	cmd := &cobra.Command{
		Use:    "gen-docs --man DIR --completions DIR",
		Short:  "Write man pages and bash, zsh and fish completions (for packaging)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.manDir == "" && f.completionsDir == "" {
				return errors.New("gen-docs: give --man DIR, --completions DIR or both")
			}
			root := cmd.Root()
			if f.manDir != "" {
				if err := genMan(root, f.manDir); err != nil {
					return err
				}
			}
			if f.completionsDir != "" {
				if err := genCompletions(root, f.completionsDir); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.manDir, "man", "", "directory for the section 1 man pages (credbroker.1, credbroker-serve.1, ...)")
	cmd.Flags().StringVar(&f.completionsDir, "completions", "", "directory for "+bashCompletionFile+", "+zshCompletionFile+" and "+fishCompletionFile)
	return cmd
}

// genMan writes one page per visible command. The date is
// $SOURCE_DATE_EPOCH's when set (reproducible packages), else today's.
func genMan(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen-docs: man page directory: %w", err)
	}
	disableAutoGenTag(root)
	version := buildinfo.Version
	if version == "" {
		version = "devel"
	}
	header := &doc.GenManHeader{
		Title:   "CREDBROKER",
		Section: "1",
		Source:  "credbroker " + version,
		Manual:  "credbroker manual",
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("gen-docs: man pages in %s: %w", dir, err)
	}
	return nil
}

// disableAutoGenTag drops cobra's "Auto generated" footer, which carries a
// date of its own.
func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}

// genCompletions writes cobra's completion scripts. They ask the installed
// binary (`credbroker __complete ...`) for candidates, so they follow the
// commands and flags of the version installed.
func genCompletions(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("gen-docs: completions directory: %w", err)
	}
	gens := []struct {
		file string
		gen  func(path string) error
	}{
		{bashCompletionFile, func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
		{zshCompletionFile, root.GenZshCompletionFile},
		{fishCompletionFile, func(p string) error { return root.GenFishCompletionFile(p, true) }},
	}
	for _, g := range gens {
		p := filepath.Join(dir, g.file)
		if err := g.gen(p); err != nil {
			return fmt.Errorf("gen-docs: completion %s: %w", p, err)
		}
	}
	return nil
}
