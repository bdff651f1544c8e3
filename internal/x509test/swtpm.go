package x509test

import (
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"

	"github.com/credbroker/credbroker/internal/testtool"
)

// SwTPM starts a software TPM 2.0 (swtpm, the TPM emulator QEMU uses) on a Unix
// socket of the test, stopped at the end of it, and returns the socket's path. It
// skips the test, loudly, without swtpm.
func SwTPM(t *testing.T) string {
	t.Helper()
	bin := testtool.Path(t, "swtpm=swtpm swtpm-tools")
	dir := t.TempDir()
	sock := filepath.Join(dir, "tpm.sock")
	cmd := exec.Command(bin, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--flags", "not-need-init,startup-clear")
	logPath := filepath.Join(dir, "swtpm.log") // "Data client disconnected" after every command
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("swtpm: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return sock
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("swtpm made no socket in 10 s: %s", out)
		}
	}
}

// TPMKey has the TPM at sock make an ECDSA P-256 signing key (its private part made
// in the TPM and bound to it: fixedTPM, sensitiveDataOrigin), persists it at handle
// and returns its public key.
func TPMKey(t *testing.T, sock string, handle uint32) crypto.PublicKey {
	t.Helper()
	tpm, err := linuxudstpm.Open(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	created, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic: tpm2.New2B(tpm2.TPMTPublic{
			Type: tpm2.TPMAlgECC, NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{SignEncrypt: true, FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true},
			Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
				CurveID: tpm2.TPMECCNistP256,
				Scheme: tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDSA,
					Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})},
			}),
		}),
	}.Execute(tpm)
	if err != nil {
		t.Fatalf("TPM2_CreatePrimary: %v", err)
	}
	defer tpm2.FlushContext{FlushHandle: created.ObjectHandle}.Execute(tpm)
	if _, err := (tpm2.EvictControl{Auth: tpm2.TPMRHOwner, ObjectHandle: &tpm2.NamedHandle{Handle: created.ObjectHandle, Name: created.Name},
		PersistentHandle: tpm2.TPMHandle(handle)}).Execute(tpm); err != nil {
		t.Fatalf("TPM2_EvictControl: %v", err)
	}
	area, err := created.OutPublic.Contents()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := tpm2.Pub(*area)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
