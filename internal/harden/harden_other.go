//go:build !linux

package harden

// NoCoreDumps returns ErrUnsupported outside Linux.
func NoCoreDumps() error { return ErrUnsupported }

// Dumpable returns ErrUnsupported outside Linux.
func Dumpable() (bool, error) { return true, ErrUnsupported }
