// Package harden makes the daemon's process harder to read secrets out of.
//
// The daemon holds every secret the host has (the core's master key, the
// keyring passphrase, users' keys, sessions): a core dump would write them
// to disk, readable by whoever reads the dump directory, and a dumpable
// process lets a process of the same uid attach to it and read its memory.
// NoCoreDumps closes both.
package harden

import "errors"

// ErrUnsupported is returned where the platform has no way to do it.
var ErrUnsupported = errors.New("harden: making the process non-dumpable is supported on Linux only")
