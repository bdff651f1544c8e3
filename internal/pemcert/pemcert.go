// Package pemcert reads the certificates of a PEM bundle and unencrypted PEM
// private keys, for the broker's X.509 sources, the core's Roles Anywhere trust
// anchors and IAM's signing certificates alike.
package pemcert

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"iter"
)

// Certificates yields the CERTIFICATE blocks of data in order, each parsed, or with
// the error x509.ParseCertificate gave for it; blocks of other types are skipped.
// Text around and between the blocks is ignored, as pem.Decode ignores it.
func Certificates(data []byte) iter.Seq2[*x509.Certificate, error] {
	return func(yield func(*x509.Certificate, error) bool) {
		for {
			var blk *pem.Block
			if blk, data = pem.Decode(data); blk == nil {
				return
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			if !yield(x509.ParseCertificate(blk.Bytes)) {
				return
			}
		}
	}
}

// PrivateKey parses an unencrypted private key block: PKCS #8 ("PRIVATE KEY"),
// PKCS #1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"), and returns it as a
// signer. Its errors name the block's type, never its bytes. A legacy encrypted
// block (a DEK-Info header) is refused as encrypted rather than left to fail as
// garbage.
func PrivateKey(blk *pem.Block) (crypto.Signer, error) {
	if blk.Headers["DEK-Info"] != "" {
		return nil, errors.New("the private key is encrypted (DEK-Info): decrypt it first, e.g. openssl pkey -in KEY -out PLAIN")
	}
	var (
		k   any
		err error
	)
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("a PEM block of type %q is no unencrypted private key", blk.Type)
	}
	if err != nil {
		// x509's errors can quote the bytes they stopped at: not one of them.
		return nil, errors.New("the private key does not parse")
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("the private key cannot sign")
	}
	return s, nil
}
