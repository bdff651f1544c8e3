//go:build cgo

package x509cred

import (
	"errors"
	"fmt"

	"github.com/ThalesGroup/crypto11"
)

// PKCS11 names a key in a PKCS #11 token (a smart card, an HSM, SoftHSM) and the
// certificate that goes with it.
type PKCS11 struct {
	// Module is the token's PKCS #11 library (/usr/lib/softhsm/libsofthsm2.so).
	Module string
	// TokenLabel selects the token.
	TokenLabel string
	// KeyLabel is the CKA_LABEL of the key pair.
	KeyLabel string
	// PIN is the user PIN. It is used to log in and is not kept by this package.
	PIN string
	// CertFile is the PEM certificate of the key; ChainFile optional intermediates.
	CertFile, ChainFile string
}

// PKCS11Identity is an identity whose key stays in the token: every signature is
// made by the token. Close ends the session with the token.
type PKCS11Identity struct {
	Identity
	ctx *crypto11.Context
}

// Close logs out of the token.
func (p *PKCS11Identity) Close() error { return p.ctx.Close() }

// OpenPKCS11 opens the token through its module (github.com/ThalesGroup/crypto11,
// over the module's C API) and finds the key pair labelled p.KeyLabel.
func OpenPKCS11(p PKCS11) (*PKCS11Identity, error) {
	if p.Module == "" || p.TokenLabel == "" || p.KeyLabel == "" || p.CertFile == "" {
		return nil, errors.New("pkcs11: module, token label, key label and certificate are all required")
	}
	cert, chain, err := readCertAndChain(p.CertFile, p.ChainFile)
	if err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: p.Module, TokenLabel: p.TokenLabel, Pin: p.PIN})
	if err != nil {
		// crypto11's errors name the module and the PKCS #11 return code, never the PIN.
		return nil, fmt.Errorf("pkcs11: opening token %q with %s: %w", p.TokenLabel, p.Module, err)
	}
	key, err := ctx.FindKeyPair(nil, []byte(p.KeyLabel))
	if err == nil && key == nil {
		err = errors.New("no such key pair")
	}
	if err != nil {
		ctx.Close()
		return nil, fmt.Errorf("pkcs11: key %q in token %q: %w", p.KeyLabel, p.TokenLabel, err)
	}
	id, err := NewIdentity(cert, chain, key)
	if err != nil {
		ctx.Close()
		return nil, err
	}
	return &PKCS11Identity{Identity: id, ctx: ctx}, nil
}
