//go:build !cgo

package x509cred

import "errors"

// PKCS11 names a key in a PKCS #11 token and its certificate (see the cgo build).
type PKCS11 struct {
	Module, TokenLabel, KeyLabel, PIN string
	CertFile, ChainFile               string
}

// PKCS11Identity is an identity whose key stays in a token (see the cgo build).
type PKCS11Identity struct{ Identity }

// Close does nothing in a build without cgo.
func (p *PKCS11Identity) Close() error { return nil }

// ErrNoPKCS11 is returned by OpenPKCS11 in a build without cgo: PKCS #11 modules are
// C libraries, which a static binary (CGO_ENABLED=0) cannot load. The packages'
// binary (`make build`) is built with cgo.
var ErrNoPKCS11 = errors.New("pkcs11: this credbroker was built without cgo (CGO_ENABLED=0) and cannot load a PKCS #11 module; use the packaged binary or `make build`, or a key file")

// OpenPKCS11 fails with ErrNoPKCS11 in a build without cgo.
func OpenPKCS11(PKCS11) (*PKCS11Identity, error) { return nil, ErrNoPKCS11 }
