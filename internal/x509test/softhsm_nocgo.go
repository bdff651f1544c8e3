//go:build !cgo

package x509test

import (
	"crypto"
	"testing"
)

// SoftHSMModule is where Debian's softhsm2 puts its PKCS #11 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM skips: PKCS #11 needs cgo.
func SoftHSM(t *testing.T, _, _ string) string {
	t.Skip("PKCS #11 tests need cgo (CGO_ENABLED=1 and a C compiler)")
	return ""
}

// SoftHSMEnv is empty without cgo.
func SoftHSMEnv() string { return "" }

// TokenKey skips: PKCS #11 needs cgo.
func TokenKey(t *testing.T, _, _, _, _ string) crypto.PublicKey {
	t.Skip("PKCS #11 tests need cgo (CGO_ENABLED=1 and a C compiler)")
	return nil
}
