package x509cred_test

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/x509cred"
	"github.com/credbroker/credbroker/internal/x509test"
)

// TestLoadFiles: a certificate with its own key loads (PKCS #8, RSA and ECDSA); a key
// of another certificate, a missing file or a file that is no key is refused, and no
// error carries the key's content.
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	ca := x509test.NewCA(t, "CA", x509test.RSA)
	rsaLeaf := ca.Issue(t, x509test.Template{CommonName: "r", KeyType: x509test.RSA})
	ecLeaf := ca.Issue(t, x509test.Template{CommonName: "e", KeyType: x509test.ECDSA})
	rc, rk := rsaLeaf.WriteFiles(t, dir, "rsa")
	ec, ek := ecLeaf.WriteFiles(t, dir, "ec")
	chain := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chain, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cert, key string }{{rc, rk}, {ec, ek}} {
		id, err := x509cred.LoadFiles(tc.cert, tc.key, chain)
		if err != nil {
			t.Fatal(err)
		}
		if len(id.Chain()) != 1 || id.Certificate().Subject.CommonName == "" {
			t.Errorf("identity %v %v", id.Certificate().Subject, id.Chain())
		}
	}
	keyPEM, _ := os.ReadFile(ek)
	certAsKey := filepath.Join(dir, "cert-as-key.pem") // private, so its content is what is judged
	if err := os.WriteFile(certAsKey, rsaLeaf.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// A legacy encrypted key (openssl genrsa -aes128) is named as encrypted.
	encrypted := filepath.Join(dir, "encrypted.pem")
	if err := os.WriteFile(encrypted, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   keyPEM[40:80]}), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ cert, key, want string }{
		"encrypted":   {rc, encrypted, "the private key is encrypted"},
		"other key":   {rc, ek, "is not the key of the certificate"},
		"no key file": {rc, filepath.Join(dir, "nope"), "reading the private key"},
		"cert as key": {rc, certAsKey, "is no unencrypted private key"},
		"no cert":     {filepath.Join(dir, "nope"), rk, "reading the certificate"},
		"key as cert": {rk, rk, "holds no PEM certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := x509cred.LoadFiles(tc.cert, tc.key, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), string(keyPEM[40:80])) {
				t.Fatal("the error carries the key")
			}
		})
	}
}

// TestLoadFilesKeyMode: a private key file its group or other users may read is
// refused with the fix, as the master key's (internal/secretfile); inside the
// service's credentials directory only other users' access is.
func TestLoadFilesKeyMode(t *testing.T) {
	dir, creds := t.TempDir(), t.TempDir()
	leaf := x509test.NewCA(t, "CA", x509test.ECDSA).Issue(t, x509test.Template{CommonName: "e", KeyType: x509test.ECDSA})
	cert, key := leaf.WriteFiles(t, dir, "e")
	_, credKey := leaf.WriteFiles(t, creds, "e")
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	for _, tc := range []struct {
		key  string
		mode os.FileMode
		want string // "" accepted
	}{
		{key, 0o600, ""},
		{key, 0o400, ""},
		{key, 0o640, "is accessible to its group (mode 0640): chmod 600 it"},
		{key, 0o604, "is accessible to other users (mode 0604): chmod 600 it"},
		{credKey, 0o640, ""},
		{credKey, 0o644, "is accessible to other users (mode 0644): chmod o-rwx it"},
	} {
		if err := os.Chmod(tc.key, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := x509cred.LoadFiles(cert, tc.key, "")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s mode %04o: error %v, want %q", tc.key, tc.mode, err, tc.want)
		}
	}
}
