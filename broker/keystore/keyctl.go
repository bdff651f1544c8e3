package keystore

import (
	"errors"
	"fmt"
	"time"

	"github.com/99designs/keyring"
)

// keyctlOpenTries and keyctlOpenWait bound how long opening the kernel
// keyring retries. Opening has been seen to fail once, transiently, while
// other processes of the same user created and removed keyrings (CI, with
// 99designs/keyring reporting only "backend not available"); the kernel's
// answer was not recorded, so the cause is unknown. Retrying for 2 s rides
// out such a moment; a lasting failure is reported with the kernel's answer.
const (
	keyctlOpenTries = 20
	keyctlOpenWait  = 100 * time.Millisecond
)

// openKernelKeyring opens the kernel keyring of cfg, trying again while the
// library says "backend not available". The last failure says what the kernel
// answered, which the library's own error does not.
func openKernelKeyring(cfg keyring.Config, sleep func(time.Duration)) (keyring.Keyring, error) {
	kr, err := keyring.Open(cfg)
	for i := 1; i < keyctlOpenTries && errors.Is(err, keyring.ErrNoAvailImpl); i++ {
		sleep(keyctlOpenWait)
		kr, err = keyring.Open(cfg)
	}
	if err == nil {
		return kr, nil
	}
	if !errors.Is(err, keyring.ErrNoAvailImpl) {
		return nil, err
	}
	if why := keyctlDiagnose(cfg.KeyCtlScope, cfg.ServiceName); why != nil {
		return nil, fmt.Errorf("%w (the kernel answered: %v)", err, why)
	}
	return nil, err
}
