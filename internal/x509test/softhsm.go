//go:build cgo

package x509test

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// SoftHSMModule is where Debian's softhsm2 puts its PKCS #11 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM makes a SoftHSM token labelled label (user PIN pin) in a directory of the
// test, points SOFTHSM2_CONF at it (for this process and the children given
// SoftHSMEnv) and returns the module's path. It skips the test, loudly, without
// softhsm2.
func SoftHSM(t *testing.T, label, pin string) string {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if _, serr := os.Stat(SoftHSMModule); err != nil || serr != nil {
		t.Skip("SoftHSM is not installed: apt-get install -y softhsm2")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "so-"+pin).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return SoftHSMModule
}

// SoftHSMEnv is the SOFTHSM2_CONF=… line that SoftHSM set, for child processes.
func SoftHSMEnv() string { return "SOFTHSM2_CONF=" + os.Getenv("SOFTHSM2_CONF") }

// TokenKey generates an ECDSA P-256 key pair labelled keyLabel inside the token
// (crypto11 marks the private key sensitive and not extractable), checks that the
// token will not give the private key out, and returns the public key.
func TokenKey(t *testing.T, module, label, pin, keyLabel string) crypto.PublicKey {
	t.Helper()
	ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: label, Pin: pin})
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	key, err := ctx.GenerateECDSAKeyPairWithLabel(id, []byte(keyLabel), elliptic.P256())
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ctx.GetAttribute(key, crypto11.CkaExtractable)
	if err != nil || !slices.Equal(ext.Value, []byte{0}) {
		t.Fatalf("CKA_EXTRACTABLE = %v (%v), want false", ext, err)
	}
	if _, err := ctx.GetAttribute(key, pkcs11.CKA_VALUE); err == nil {
		t.Fatal("the token gave out the private key's value")
	}
	return key.Public()
}
