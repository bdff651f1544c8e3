package account

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func seedKeys(f *testing.F) (sshLine, pemKey, certPEM, keyPEM string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sk, err := ssh.NewPublicKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<34, 0)}
	cder, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		f.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(priv)
	return string(ssh.MarshalAuthorizedKey(sk)),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cder})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// FuzzParseSSHPublicKey: any UploadSSHPublicKey body either fails with an IAM error or
// yields a key whose SSH and PEM encodings parse back to the same fingerprint.
func FuzzParseSSHPublicKey(f *testing.F) {
	line, pemKey, _, _ := seedKeys(f)
	for _, s := range []string{line, pemKey, "ssh-rsa AAAA", "-----BEGIN RSA PUBLIC KEY-----\n-----END RSA PUBLIC KEY-----", "", "ssh-ed25519"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		k, err := ParseSSHPublicKey(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != InvalidPublicKey && e.Code != UnrecognizedPublicKeyEncoding) {
				t.Fatalf("error %v is not an IAM key error", err)
			}
			return
		}
		again, err := ParseSSHPublicKey(k.SSH())
		if err != nil || again.Fingerprint() != k.Fingerprint() {
			t.Fatalf("SSH encoding %q does not parse back: %v", k.SSH(), err)
		}
		p, err := k.PEM()
		if err != nil {
			t.Fatal(err)
		}
		fromPEM, err := ParseSSHPublicKey(p)
		if err != nil || fromPEM.Fingerprint() != k.Fingerprint() {
			t.Fatalf("PEM encoding does not parse back: %v", err)
		}
	})
}

// FuzzParseServerCertificate: certificate, chain and key parsing never panics, fails
// with IAM's certificate codes, and never puts the private key in a message.
func FuzzParseServerCertificate(f *testing.F) {
	_, _, cert, key := seedKeys(f)
	f.Add(cert, "", key)
	f.Add(cert, cert, key)
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "", "")
	f.Add(cert, "", "-----BEGIN EC PRIVATE KEY-----\nsecretsecret\n-----END EC PRIVATE KEY-----")
	now := time.Unix(1<<30, 0)
	f.Fuzz(func(t *testing.T, body, chain, key string) {
		b, err := ParseServerCertificate(body, chain, key, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != MalformedCertificate && e.Code != KeyPairMismatch) {
				t.Fatalf("error %v is not an IAM certificate error", err)
			}
			if strings.TrimSpace(key) != "" && len(key) > 16 && strings.Contains(e.Message, strings.TrimSpace(key)) {
				t.Fatalf("message quotes the private key")
			}
			return
		}
		if b.Cert == nil || len(b.PrivateKey) == 0 {
			t.Fatalf("accepted without certificate or key")
		}
		if _, err := x509.ParsePKCS8PrivateKey(b.PrivateKey); err != nil {
			t.Fatalf("kept key does not parse: %v", err)
		}
	})
}
