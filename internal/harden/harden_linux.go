//go:build linux

package harden

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// NoCoreDumps makes the process non-dumpable (prctl PR_SET_DUMPABLE 0: no
// core dump whatever core_pattern says, no ptrace attach or /proc/PID/mem
// read by the same uid without CAP_SYS_PTRACE, /proc/PID files owned by
// root) and sets RLIMIT_CORE to 0, soft and hard, so that a child or a
// later change cannot turn dumps back on. Call it before any secret is
// read. Both steps are tried; the error names what failed.
func NoCoreDumps() error {
	var errs []error
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", err))
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		errs = append(errs, fmt.Errorf("setrlimit(RLIMIT_CORE, 0): %w", err))
	}
	return errors.Join(errs...)
}

// Dumpable reports the process's dumpable flag (prctl PR_GET_DUMPABLE).
func Dumpable() (bool, error) {
	v, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return false, fmt.Errorf("prctl(PR_GET_DUMPABLE): %w", err)
	}
	return v != 0, nil
}
