package pemcert_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/internal/pemcert"
	"github.com/credbroker/credbroker/internal/x509test"
)

// selfSigned is a CA certificate named cn, in PEM.
func selfSigned(t *testing.T, cn string) []byte {
	return x509test.NewCA(t, cn, x509test.ECDSA).PEM()
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

// TestPrivateKey: each unencrypted form parses to a signer; anything else is refused
// with an error that names the form and never carries the block's bytes.
func TestPrivateKey(t *testing.T) {
	ec, rsaKey := x509test.NewKey(t, x509test.ECDSA).(*ecdsa.PrivateKey), x509test.NewKey(t, x509test.RSA).(*rsa.PrivateKey)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef-not-a-key")
	for name, c := range map[string]struct {
		blk     pem.Block
		wantErr string // "" for a signer
	}{
		"pkcs8 ecdsa":      {pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(ec)}, ""},
		"pkcs8 ed25519":    {pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(edKey)}, ""},
		"pkcs1 rsa":        {pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}, ""},
		"sec1 ec":          {pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}, ""},
		"pkcs8 x25519":     {pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(xKey)}, "cannot sign"},
		"a certificate":    {pem.Block{Type: "CERTIFICATE", Bytes: secret}, `type "CERTIFICATE" is no unencrypted private key`},
		"garbage pkcs8":    {pem.Block{Type: "PRIVATE KEY", Bytes: secret}, "does not parse"},
		"garbage pkcs1":    {pem.Block{Type: "RSA PRIVATE KEY", Bytes: secret}, "does not parse"},
		"legacy encrypted": {pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: secret}, "encrypted"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := pemcert.PrivateKey(&c.blk)
			if c.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("PrivateKey = %v, %v; want a signer", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("PrivateKey error %v, want one containing %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), fmt.Sprintf("%x", secret[:8])) {
				t.Errorf("the error carries the block's bytes: %v", err)
			}
		})
	}
}
