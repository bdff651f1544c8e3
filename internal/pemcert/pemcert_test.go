package pemcert_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/pemcert"
)

func selfSigned(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestCertificates: certificates in order, other blocks skipped, a bad block's error
// yielded in its place, and an early break honoured.
func TestCertificates(t *testing.T) {
	var data []byte
	data = append(data, "leading text\n"...)
	data = append(data, selfSigned(t, "a")...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...)
	data = append(data, selfSigned(t, "b")...)
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}})...)
	data = append(data, selfSigned(t, "c")...)

	var got []string
	var errs int
	for c, err := range pemcert.Certificates(data) {
		if err != nil {
			errs++
			continue
		}
		got = append(got, c.Subject.CommonName)
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" || errs != 1 {
		t.Errorf("got %q and %d errors, want [a b c] and 1", got, errs)
	}
	n := 0
	for range pemcert.Certificates(data) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break: %d iterations", n)
	}
	for c, err := range pemcert.Certificates([]byte("no PEM here")) {
		t.Errorf("no PEM: yielded %v, %v", c, err)
	}
}
