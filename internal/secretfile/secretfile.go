// Package secretfile is the one rule for reading a file that holds a secret (the
// core's master key, a certificate's private key, a token's PIN):
//
//   - a file the operator made must be a regular file that neither its group nor
//     other users may access (mode 0600 or 0400);
//   - a systemd credential lives in a directory systemd makes private to the
//     service, and may carry group bits (systemd grants the service user access
//     with an ACL, whose mask shows as the group bits), so only other users'
//     access is refused.
//
// Errors name the file and its mode, never its content.
package secretfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Rule is what a secret file's mode may not allow.
type Rule struct {
	forbidden os.FileMode
	fix       string
}

// The rules: File for a file the operator made, Credential for a systemd
// credential.
var (
	File       = Rule{forbidden: 0o077, fix: "chmod 600 it"}
	Credential = Rule{forbidden: 0o007, fix: "chmod o-rwx it"}
)

// For returns the rule of path: Credential inside the service's credentials
// directory ($CREDENTIALS_DIRECTORY), File elsewhere.
func For(path string) Rule {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return File
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return File
	}
	return Credential
}

// Read reads the secret file path, which what names in errors ("master key
// file"), refusing anything but a regular file and a mode rule forbids. The
// caller clears the bytes when done.
func Read(path, what string, rule Rule) ([]byte, error) {
	// Checked before opening (a FIFO would block the open) and again on the file
	// opened, which is the one read: no swap in between.
	before, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := rule.check(path, what, before); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	opened, err := f.Stat()
	if err == nil && !os.SameFile(before, opened) {
		err = fmt.Errorf("%s %s changed while it was opened", what, path)
	}
	if err == nil {
		err = rule.check(path, what, opened)
	}
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// check refuses fi unless it is a regular file whose mode the rule allows.
func (r Rule) check(path, what string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if perm := fi.Mode().Perm(); perm&r.forbidden != 0 {
		who := "other users"
		if perm&r.forbidden&0o007 == 0 {
			who = "its group"
		}
		return fmt.Errorf("%s %s is accessible to %s (mode %04o): %s", what, path, who, perm, r.fix)
	}
	return nil
}
