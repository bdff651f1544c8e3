// Package x509test makes certificate authorities, certificates and CRLs for tests of
// X.509 identities (Roles Anywhere), and builds AWS's own Roles Anywhere signing
// helper from the module proxy so that tests can run the real client.
package x509test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
)

// HelperModule is the version of github.com/aws/rolesanywhere-credential-helper the
// tests build and run.
const HelperModule = "github.com/aws/rolesanywhere-credential-helper@v1.4.0"

// KeyType selects a key algorithm.
type KeyType int

// The key types tests use.
const (
	RSA KeyType = iota
	ECDSA
)

// NewKey returns a new private key of kind k (RSA 2048, ECDSA P-256).
func NewKey(t testing.TB, k KeyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	if k == ECDSA {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Cert is a certificate and, when the test made it, its key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Template describes a certificate to issue.
type Template struct {
	CommonName string
	// Org is the subject's O; OU its OU.
	Org, OU string
	// DNSNames, URIs and IPs are subject alternative names.
	DNSNames []string
	URIs     []string
	IPs      []net.IP
	// Server makes a TLS server's certificate (ExtKeyUsageServerAuth) instead of
	// a client's.
	Server bool
	// NotBefore and NotAfter default to an hour ago and a day on.
	NotBefore, NotAfter time.Time
	// CA makes a CA certificate.
	CA bool
	// Key is the certificate's key: one is made (of KeyType) when nil, and
	// PublicKey overrides it when set (a key that lives in a token).
	KeyType   KeyType
	PublicKey crypto.PublicKey
}

var serials struct {
	mu   sync.Mutex
	next int64
}

func serial() *big.Int {
	serials.mu.Lock()
	defer serials.mu.Unlock()
	serials.next++
	// Large and positive, as CAs make them, but unique within a test binary.
	n := new(big.Int).Lsh(big.NewInt(time.Now().UnixNano()), 16)
	return n.Add(n, big.NewInt(serials.next))
}

// NewCA returns a self-signed root CA.
func NewCA(t testing.TB, cn string, k KeyType) *Cert {
	t.Helper()
	return issue(t, nil, Template{CommonName: cn, CA: true, KeyType: k})
}

// Issue returns a certificate of tpl signed by ca.
func (ca *Cert) Issue(t testing.TB, tpl Template) *Cert {
	t.Helper()
	return issue(t, ca, tpl)
}

func issue(t testing.TB, ca *Cert, tpl Template) *Cert {
	t.Helper()
	now := time.Now()
	if tpl.NotBefore.IsZero() {
		tpl.NotBefore = now.Add(-time.Hour)
	}
	if tpl.NotAfter.IsZero() {
		tpl.NotAfter = now.Add(24 * time.Hour)
	}
	var key crypto.Signer
	pub := tpl.PublicKey
	if pub == nil {
		key = NewKey(t, tpl.KeyType)
		pub = key.Public()
	}
	c := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: tpl.CommonName},
		NotBefore:             tpl.NotBefore,
		NotAfter:              tpl.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  tpl.CA,
		DNSNames:              tpl.DNSNames,
		IPAddresses:           tpl.IPs,
	}
	if tpl.Org != "" {
		c.Subject.Organization = []string{tpl.Org}
	}
	if tpl.OU != "" {
		c.Subject.OrganizationalUnit = []string{tpl.OU}
	}
	for _, u := range tpl.URIs {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		c.URIs = append(c.URIs, pu)
	}
	if tpl.CA {
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	} else {
		c.KeyUsage = x509.KeyUsageDigitalSignature
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if tpl.Server {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
	}
	parent, signer := c, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, c, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{Cert: out, Key: key}
}

// CRL returns a CRL of ca (DER) revoking the serials of certs.
func (ca *Cert) CRL(t testing.TB, certs ...*Cert) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, c := range certs {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.Cert.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: serial(), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// PEM returns the certificate in PEM.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM returns the private key in PKCS #8 PEM.
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WriteFiles writes the certificate and its key (mode 0600) to dir and returns their
// paths.
func (c *Cert) WriteFiles(t testing.TB, dir, name string) (certPath, keyPath string) {
	t.Helper()
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, c.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if c.Key != nil {
		if err := os.WriteFile(keyPath, c.KeyPEM(t), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certPath, keyPath
}

// Bundle returns the PEM of certs, concatenated.
func Bundle(certs ...*Cert) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, c.PEM()...)
	}
	return out
}

var helper struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Helper returns the path of AWS's signing helper (aws_signing_helper), built with
// `go install` from the module proxy into the user's cache directory once and reused.
// It skips the test, loudly, when Go cannot build it.
func Helper(t testing.TB) string {
	t.Helper()
	helper.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "credbroker-test", "rolesanywhere-credential-helper-v1.4.0")
		helper.path = filepath.Join(dir, "rolesanywhere-credential-helper")
		if _, err := os.Stat(helper.path); err == nil {
			return
		}
		cmd := exec.Command("go", "install", HelperModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		helper.out, helper.err = cmd.CombinedOutput()
	})
	if helper.err != nil {
		t.Skipf("building AWS's signing helper (go install %s) failed; it needs Go, a C compiler and the module proxy: %v\n%s",
			HelperModule, helper.err, helper.out)
	}
	return helper.path
}

// OpenSSL returns the path of the openssl command, skipping the test when it is
// missing (apt-get install openssl).
func OpenSSL(t testing.TB) string {
	t.Helper()
	return testtool.Path(t, "openssl")
}
