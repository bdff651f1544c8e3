package keystore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// TestOpenKernelKeyringRetries opens a kernel keyring the library can never
// open (the "group" scope, which the kernel does not implement): every try
// fails as "backend not available", so opening waits between its tries (not after the last) and,
// at the end, says what the kernel side answered, which the library's error
// does not.
func TestOpenKernelKeyringRetries(t *testing.T) {
	needKeyctl(t)
	cfg := keyring.Config{ServiceName: uniqueName(t), KeyCtlScope: "group", AllowedBackends: []keyring.BackendType{keyring.KeyCtlBackend}}
	var waited time.Duration
	_, err := openKernelKeyring(cfg, func(d time.Duration) { waited += d })
	if !errors.Is(err, keyring.ErrNoAvailImpl) || !strings.Contains(err.Error(), "the kernel answered: unknown scope group") {
		t.Fatalf("open: %v, want the library's error and what was found", err)
	}
	if want := (keyctlOpenTries - 1) * keyctlOpenWait; waited != want {
		t.Errorf("waited %v between tries, want %v", waited, want)
	}
}
