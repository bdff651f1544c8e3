package x509cred

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// TPM names a signing key persisted in a TPM 2.0 (made in the TPM and never out of
// it, e.g. with tpm2_createprimary and tpm2_evictcontrol) and the certificate that
// goes with it.
type TPM struct {
	// Device is the TPM: its resource manager (/dev/tpmrm0), or the Unix socket of
	// a TPM emulator (swtpm socket --server type=unixio).
	Device string
	// Handle is the key's persistent handle (0x81000000 to 0x81FFFFFF). The key's
	// authorization value must be empty.
	Handle uint32
	// CertFile is the PEM certificate of the key; ChainFile optional intermediates.
	CertFile, ChainFile string
}

// TPMIdentity is an identity whose key stays in the TPM: every signature is made by
// the TPM. Close releases the TPM.
type TPMIdentity struct {
	Identity
	tpm transport.TPMCloser
}

// Close releases the TPM.
func (t *TPMIdentity) Close() error { return t.tpm.Close() }

// OpenTPM opens the TPM (github.com/google/go-tpm, pure Go) and reads the public
// part of the key at t.Handle, which must be the certificate's.
func OpenTPM(t TPM) (*TPMIdentity, error) {
	if t.Device == "" || t.CertFile == "" || t.Handle>>24 != 0x81 {
		return nil, errors.New("tpm: a device, a persistent key handle (0x81xxxxxx) and a certificate are all required")
	}
	cert, chain, err := readCertAndChain(t.CertFile, t.ChainFile)
	if err != nil {
		return nil, err
	}
	dev, err := openTPMDevice(t.Device)
	if err != nil {
		return nil, fmt.Errorf("tpm: opening %s: %w", t.Device, err)
	}
	s, err := newTPMSigner(dev, tpm2.TPMHandle(t.Handle))
	if err == nil {
		var id Identity
		if id, err = NewIdentity(cert, chain, s); err == nil {
			return &TPMIdentity{Identity: id, tpm: dev}, nil
		}
	}
	dev.Close()
	return nil, fmt.Errorf("tpm: key 0x%08x in %s: %w", t.Handle, t.Device, err)
}

// openTPMDevice opens a TPM character device or an emulator's Unix socket.
func openTPMDevice(path string) (transport.TPMCloser, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSocket != 0 {
		return linuxudstpm.Open(path)
	}
	return linuxtpm.Open(path)
}

// tpmSigner signs with a key in the TPM.
type tpmSigner struct {
	tpm    transport.TPM
	key    tpm2.NamedHandle
	pub    crypto.PublicKey
	scheme tpm2.TPMAlgID
}

func newTPMSigner(tpm transport.TPM, h tpm2.TPMHandle) (*tpmSigner, error) {
	rp, err := tpm2.ReadPublic{ObjectHandle: h}.Execute(tpm)
	if err != nil {
		return nil, err
	}
	area, err := rp.OutPublic.Contents()
	if err != nil {
		return nil, err
	}
	pub, err := tpm2.Pub(*area)
	if err != nil {
		return nil, err
	}
	s := &tpmSigner{tpm: tpm, key: tpm2.NamedHandle{Handle: h, Name: rp.Name}, pub: pub}
	switch pub.(type) {
	case *ecdsa.PublicKey:
		s.scheme = tpm2.TPMAlgECDSA
	case *rsa.PublicKey:
		s.scheme = tpm2.TPMAlgRSASSA
	default:
		return nil, errors.New("the key is neither ECDSA nor RSA")
	}
	return s, nil
}

func (s *tpmSigner) Public() crypto.PublicKey { return s.pub }

// Sign has the TPM sign a SHA-256 digest: ECDSA (answered in ASN.1) or RSASSA
// PKCS #1 v1.5.
func (s *tpmSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("tpm: only SHA-256 digests are signed")
	}
	rsp, err := tpm2.Sign{
		KeyHandle: s.key,
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{Scheme: s.scheme,
			Details: tpm2.NewTPMUSigScheme(s.scheme, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256})},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck},
	}.Execute(s.tpm)
	if err != nil {
		return nil, fmt.Errorf("tpm: signing: %w", err)
	}
	if s.scheme == tpm2.TPMAlgRSASSA {
		sig, err := rsp.Signature.Signature.RSASSA()
		if err != nil {
			return nil, err
		}
		return sig.Sig.Buffer, nil
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig.SignatureR.Buffer), new(big.Int).SetBytes(sig.SignatureS.Buffer)})
}
