package keystore

import (
	"errors"
	"fmt"
	"time"

	"github.com/99designs/keyring"
)

// keyctlOpenTries and keyctlOpenWait bound how long opening the kernel
// keyring retries. The kernel's search for the named keyring answers
// EKEYREVOKED, not ENOKEY, while a key another process invalidated is still
// linked in the keyring searched (until the kernel's garbage collector unlinks
// it, which it does within moments for an invalidated key), and
// 99designs/keyring turns every such error into "backend not available".
const (
	keyctlOpenTries = 20
	keyctlOpenWait  = 100 * time.Millisecond
)

// openKernelKeyring opens the kernel keyring of cfg, retrying over the window in
// which a neighbour's removed key is still in the way. The last failure says
// what the kernel answered, which the library's own error does not.
func openKernelKeyring(cfg keyring.Config, sleep func(time.Duration)) (keyring.Keyring, error) {
	var err error
	for i := 0; i < keyctlOpenTries; i++ {
		var kr keyring.Keyring
		if kr, err = keyring.Open(cfg); err == nil {
			return kr, nil
		}
		if !errors.Is(err, keyring.ErrNoAvailImpl) {
			return nil, err
		}
		sleep(keyctlOpenWait)
	}
	if why := keyctlDiagnose(cfg.KeyCtlScope, cfg.ServiceName); why != nil {
		return nil, fmt.Errorf("%w (the kernel answered: %v)", err, why)
	}
	return nil, err
}
