package keystore

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// keyctlDiagnose repeats the library's search for the named keyring to learn
// the kernel's errno, which 99designs/keyring does not pass on.
func keyctlDiagnose(scope, name string) error {
	parent, ok := map[string]int{
		"user": unix.KEY_SPEC_USER_KEYRING, "usersession": unix.KEY_SPEC_USER_SESSION_KEYRING,
		"session": unix.KEY_SPEC_SESSION_KEYRING, "process": unix.KEY_SPEC_PROCESS_KEYRING,
		"thread": unix.KEY_SPEC_THREAD_KEYRING,
	}[scope]
	if !ok {
		return errors.New("unknown scope " + scope)
	}
	if _, err := unix.KeyctlSearch(parent, "keyring", name, 0); err != nil && !errors.Is(err, syscall.ENOKEY) {
		return err
	}
	return nil
}
