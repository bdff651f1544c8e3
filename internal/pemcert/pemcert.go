// Package pemcert reads the certificates of a PEM bundle, for the broker's X.509
// sources and the core's Roles Anywhere trust anchors alike.
package pemcert

import (
	"crypto/x509"
	"encoding/pem"
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
