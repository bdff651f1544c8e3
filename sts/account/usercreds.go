package account

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/credbroker/credbroker/internal/pemcert"
)

// CredentialKind is the kind of a user's credential that is neither an access key nor
// a password.
type CredentialKind byte

// Credential kinds (the letter is also the store's index prefix).
const (
	CredSSHPublicKey       CredentialKind = 's'
	CredSigningCertificate CredentialKind = 'c'
	CredServiceSpecific    CredentialKind = 'p'
)

// ID prefixes of the credentials and certificates, as AWS forms their ids.
const (
	PrefixSSHPublicKey      = "APKA" // SSH public key id (20 characters)
	PrefixServiceCredential = "ACCA" // service-specific credential id (21)
	PrefixServerCertificate = "ASCA" // server certificate id (21)
)

// RuleServerCertificateName is the constraint on server certificate names: the
// instance profile name's (1–128 [\w+=,.@-]+).
const RuleServerCertificateName = RuleInstanceProfileName

// IAM's quotas on users' credentials and server certificates.
const (
	MaxSSHPublicKeysPerUser         = 5
	MaxSigningCertificatesPerUser   = 2
	MaxServiceCredentialsPerService = 2 // per user and service
	MaxServerCertificatesPerAccount = 20
	MinSSHRSABits                   = 2048
	signingCertificateIDRandomBytes = 20 // 32 base32 characters
)

// UserCredential is an SSH public key, an X.509 signing certificate or a
// service-specific credential of a user. Secret (a service-specific password) is set
// only when the credential is created or reset; the store keeps it encrypted.
type UserCredential struct {
	Kind     CredentialKind `json:"kind"`
	ID       string         `json:"id"`
	UserID   string         `json:"user_id"` // the owner's unique id (the account id for root)
	UserName string         `json:"-"`       // resolved by the store
	Status   KeyStatus      `json:"status"`
	Created  time.Time      `json:"created"` // UploadDate, CreateDate
	// Body is the SSH key in SSH encoding or the certificate in PEM.
	Body string `json:"body,omitempty"`
	// Digest identifies the key or certificate: the SSH key's MD5 fingerprint (as
	// AWS reports it), the certificate's SHA-256 (for DuplicateCertificate).
	Digest string `json:"digest,omitempty"`
	// ServiceName, ServiceUserName and Alias are a service-specific credential's.
	ServiceName     string    `json:"service,omitempty"`
	ServiceUserName string    `json:"service_user,omitempty"`
	Alias           string    `json:"alias,omitempty"`
	Expires         time.Time `json:"expires,omitzero"`
	Secret          string    `json:"-"`
}

// SSHPublicKey is a parsed SSH public key as IAM accepts it.
type SSHPublicKey struct {
	Key ssh.PublicKey
}

// ParseSSHPublicKey parses an UploadSSHPublicKey body: an OpenSSH public key line
// (ssh-rsa or ssh-ed25519, comment allowed) or a PEM public key (PKIX "PUBLIC KEY" or
// PKCS #1 "RSA PUBLIC KEY"). RSA keys have at least 2048 bits, as IAM requires.
func ParseSSHPublicKey(body string) (SSHPublicKey, error) {
	body = strings.TrimSpace(body)
	var k ssh.PublicKey
	if strings.HasPrefix(body, "-----BEGIN") {
		pub, err := parsePEMPublicKey(body)
		if err != nil {
			return SSHPublicKey{}, err
		}
		if k, err = ssh.NewPublicKey(pub); err != nil {
			return SSHPublicKey{}, Errorf(InvalidPublicKey, "The public key type is not supported: use ssh-rsa or ssh-ed25519.")
		}
	} else {
		var rest []byte
		var err error
		k, _, _, rest, err = ssh.ParseAuthorizedKey([]byte(body))
		if err != nil || len(strings.TrimSpace(string(rest))) != 0 {
			return SSHPublicKey{}, Errorf(UnrecognizedPublicKeyEncoding, "The public key encoding format is unsupported or unrecognized.")
		}
	}
	switch k.Type() {
	case ssh.KeyAlgoRSA:
		ck, _ := k.(ssh.CryptoPublicKey)
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < MinSSHRSABits {
			return SSHPublicKey{}, Errorf(InvalidPublicKey, "The public key must be at least %d bits long.", MinSSHRSABits)
		}
	case ssh.KeyAlgoED25519:
	default:
		return SSHPublicKey{}, Errorf(InvalidPublicKey, "The public key type %s is not supported: use ssh-rsa or ssh-ed25519.", quoteForMessage(k.Type(), 64))
	}
	return SSHPublicKey{Key: k}, nil
}

func parsePEMPublicKey(body string) (crypto.PublicKey, error) {
	block, rest := pem.Decode([]byte(body))
	if block == nil || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, Errorf(UnrecognizedPublicKeyEncoding, "The public key encoding format is unsupported or unrecognized.")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, Errorf(InvalidPublicKey, "The public key is not a valid PKIX public key.")
		}
		return pub, nil
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, Errorf(InvalidPublicKey, "The public key is not a valid PKCS #1 RSA public key.")
		}
		return pub, nil
	}
	return nil, Errorf(UnrecognizedPublicKeyEncoding, "The public key encoding format is unsupported or unrecognized.")
}

// SSH returns the key in SSH encoding ("ssh-rsa AAAA…", no comment), as
// GetSSHPublicKey answers with Encoding SSH.
func (k SSHPublicKey) SSH() string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Key))) }

// PEM returns the key as a PKIX PEM block, as GetSSHPublicKey answers with Encoding PEM.
func (k SSHPublicKey) PEM() (string, error) {
	ck, ok := k.Key.(ssh.CryptoPublicKey)
	if !ok {
		return "", fmt.Errorf("ssh key %s has no crypto key", k.Key.Type())
	}
	der, err := x509.MarshalPKIXPublicKey(ck.CryptoPublicKey())
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Fingerprint is the MD5 fingerprint of the key (colon-separated hex), as IAM reports
// it and `ssh-keygen -l -E md5` prints it.
func (k SSHPublicKey) Fingerprint() string {
	return strings.TrimPrefix(ssh.FingerprintLegacyMD5(k.Key), "MD5:")
}

// ParseCertificatePEM parses one PEM "CERTIFICATE" block holding an X.509
// certificate; anything else is MalformedCertificate.
func ParseCertificatePEM(body string) (*x509.Certificate, error) {
	certs, err := parseCertificates(body)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, Errorf(MalformedCertificate, "Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	return certs[0], nil
}

// parseCertificates parses a sequence of PEM "CERTIFICATE" blocks (at least one).
func parseCertificates(body string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(body))
	var out []*x509.Certificate
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, Errorf(MalformedCertificate, "Unable to parse certificate. Please ensure the certificate is in PEM format.")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, Errorf(MalformedCertificate, "Unable to parse certificate. Please ensure the certificate is in PEM format.")
		}
		out = append(out, c)
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(out) == 0 {
		return nil, Errorf(MalformedCertificate, "Unable to parse certificate. Please ensure the certificate is in PEM format.")
	}
	return out, nil
}

// CheckValidity refuses a certificate that is not valid at now (code: InvalidCertificate
// for signing certificates, MalformedCertificate for server certificates).
func CheckValidity(c *x509.Certificate, now time.Time, code Code) error {
	switch {
	case now.Before(c.NotBefore):
		return Errorf(code, "The certificate is not valid before %s.", c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return Errorf(code, "The certificate expired on %s.", c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// CertificateDigest is the certificate's SHA-256, hex: what makes two uploads "the same
// certificate".
func CertificateDigest(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// NormalizedPEM is the certificate re-encoded as one PEM block (as IAM returns bodies).
func NormalizedPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// ServerCertificateBundle is an UploadServerCertificate request checked: the
// certificate, its chain (immediate issuer first) and the private key that matches it
// (PKCS #8 DER, for the store to seal).
type ServerCertificateBundle struct {
	Cert       *x509.Certificate
	Chain      []*x509.Certificate
	PrivateKey []byte
}

// ParseServerCertificate checks an UploadServerCertificate request as IAM does: the
// certificate and chain are PEM X.509, the certificate is valid now, each certificate
// of the chain signed the one before it, and the private key (PKCS #1, SEC 1 or PKCS #8
// PEM, not encrypted) is the certificate's.
func ParseServerCertificate(body, chain, privateKey string, now time.Time) (ServerCertificateBundle, error) {
	var b ServerCertificateBundle
	cert, err := ParseCertificatePEM(body)
	if err != nil {
		return b, err
	}
	if err := CheckValidity(cert, now, MalformedCertificate); err != nil {
		return b, err
	}
	b.Cert = cert
	if strings.TrimSpace(chain) != "" {
		if b.Chain, err = parseCertificates(chain); err != nil {
			return b, err
		}
		prev := cert
		for _, c := range b.Chain {
			if err := prev.CheckSignatureFrom(c); err != nil {
				return b, Errorf(MalformedCertificate, "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: %d", indexOf(b.Chain, c))
			}
			prev = c
		}
	}
	key, err := parsePrivateKey(privateKey)
	if err != nil {
		return b, err
	}
	type publicKeyer interface{ Public() crypto.PublicKey }
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pk, ok := key.(publicKeyer)
	if !ok {
		return b, Errorf(MalformedCertificate, "Unable to parse private key.")
	}
	if eq, ok := pk.Public().(equaler); !ok || !eq.Equal(cert.PublicKey) {
		return b, Errorf(KeyPairMismatch, "Unable to validate that the private key matches the certificate's public key.")
	}
	if b.PrivateKey, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
		return b, Errorf(MalformedCertificate, "Unable to parse private key.")
	}
	return b, nil
}

func indexOf(cs []*x509.Certificate, c *x509.Certificate) int {
	for i, x := range cs {
		if x == c {
			return i
		}
	}
	return -1
}

// parsePrivateKey reads one unencrypted PEM private key. Its errors never quote the key.
func parsePrivateKey(s string) (any, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	bad := Errorf(MalformedCertificate, "Unable to parse private key. Please ensure it is an unencrypted PEM private key.")
	if block == nil || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, bad
	}
	key, err := pemcert.PrivateKey(block)
	if err != nil {
		return nil, bad
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return key, nil
	}
	return nil, bad
}

// NewSigningCertificateID returns a signing certificate id: 32 upper-case base32
// characters, the form IAM's ids take.
func NewSigningCertificateID(rand io.Reader) (string, error) {
	var b [signingCertificateIDRandomBytes]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness for a certificate id: %w", err)
	}
	return b32.EncodeToString(b[:]), nil
}

// ServerCertificate is an IAM server certificate. PrivateKey (PKCS #8 DER) is set only
// when uploading; the store keeps it encrypted and never returns it.
type ServerCertificate struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	ARN        string    `json:"-"`
	Body       string    `json:"body"`
	Chain      string    `json:"chain,omitempty"`
	Uploaded   time.Time `json:"uploaded"`
	Expiration time.Time `json:"expiration"`
	Tags       Tags      `json:"tags,omitempty"`
	PrivateKey []byte    `json:"-"`
}

// ServerCertificateARN is a server certificate's ARN.
func ServerCertificateARN(accountID, path, name string) string {
	return iamARN(accountID, "server-certificate", path, name)
}

// Validate checks the certificate's name, path and tags.
func (c ServerCertificate) Validate() error {
	var v Violations
	v.Check(RuleServerCertificateName, "serverCertificateName", c.Name)
	v.Check(RulePath, "path", c.Path)
	return validTags(&v, c.Tags)
}
