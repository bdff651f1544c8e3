package iamapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeTemp writes content to a file of the test's and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	check(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestCLIUserCredentials: SSH public keys and signing certificates through the real
// AWS CLI, with keys made by OpenSSH.
func TestCLIUserCredentials(t *testing.T) {
	f := newFixtureClock(t, true)
	c := newCLI(t, f.srv.URL)
	c.profile("root", f.root.AccessKeyID, f.root.SecretAccessKey)
	key, weak := sshKeygen(t, "rsa", 3072), sshKeygen(t, "rsa", 1024)
	now := time.Now()
	cert := makeCert(t, "cli", now.Add(-time.Hour), now.Add(time.Hour), nil, false)

	c.run(nil, "root", "iam", "create-user", "--user-name", "git")
	var up struct {
		SSHPublicKey struct{ SSHPublicKeyId, Fingerprint, Status, SSHPublicKeyBody string }
	}
	c.run(&up, "root", "iam", "upload-ssh-public-key", "--user-name", "git", "--ssh-public-key-body", "file://"+writeTemp(t, "id.pub", key.line))
	k := up.SSHPublicKey
	if k.Fingerprint != key.md5 || k.Status != "Active" || !strings.HasPrefix(k.SSHPublicKeyId, "APKA") {
		t.Errorf("upload-ssh-public-key = %+v, want fingerprint %s", k, key.md5)
	}
	var got struct {
		SSHPublicKey struct{ SSHPublicKeyBody string }
	}
	c.run(&got, "root", "iam", "get-ssh-public-key", "--user-name", "git", "--ssh-public-key-id", k.SSHPublicKeyId, "--encoding", "PEM")
	// OpenSSH reads the PEM back as the same key.
	out, err := exec.Command("ssh-keygen", "-i", "-m", "PKCS8", "-f", writeTemp(t, "k.pem", got.SSHPublicKey.SSHPublicKeyBody)).Output()
	check(t, err)
	if strings.TrimSpace(string(out)) != strings.Join(strings.Fields(key.line)[:2], " ") {
		t.Errorf("ssh-keygen -i of the PEM = %q", out)
	}
	c.run(nil, "root", "iam", "update-ssh-public-key", "--user-name", "git", "--ssh-public-key-id", k.SSHPublicKeyId, "--status", "Inactive")
	var list struct {
		SSHPublicKeys []struct{ SSHPublicKeyId, Status string }
	}
	c.run(&list, "root", "iam", "list-ssh-public-keys", "--user-name", "git")
	if len(list.SSHPublicKeys) != 1 || list.SSHPublicKeys[0].Status != "Inactive" {
		t.Errorf("list-ssh-public-keys = %+v", list)
	}
	c.fails("InvalidPublicKey", "at least 2048 bits", "root", "iam", "upload-ssh-public-key", "--user-name", "git", "--ssh-public-key-body", weak.line)
	c.fails("DeleteConflict", "SSH public keys", "root", "iam", "delete-user", "--user-name", "git")
	c.run(nil, "root", "iam", "delete-ssh-public-key", "--user-name", "git", "--ssh-public-key-id", k.SSHPublicKeyId)

	var sc struct {
		Certificate struct{ CertificateId, CertificateBody, Status string }
	}
	c.run(&sc, "root", "iam", "upload-signing-certificate", "--user-name", "git", "--certificate-body", "file://"+writeTemp(t, "cert.pem", cert.pem))
	if sc.Certificate.CertificateBody != cert.pem || sc.Certificate.Status != "Active" || len(sc.Certificate.CertificateId) != 32 {
		t.Errorf("upload-signing-certificate = %+v", sc)
	}
	c.fails("DuplicateCertificate", "", "root", "iam", "upload-signing-certificate", "--user-name", "git", "--certificate-body", "file://"+writeTemp(t, "again.pem", cert.pem))
	c.run(nil, "root", "iam", "update-signing-certificate", "--user-name", "git", "--certificate-id", sc.Certificate.CertificateId, "--status", "Inactive")
	var certs struct {
		Certificates []struct{ CertificateId, Status string }
	}
	c.run(&certs, "root", "iam", "list-signing-certificates", "--user-name", "git")
	if len(certs.Certificates) != 1 || certs.Certificates[0].Status != "Inactive" {
		t.Errorf("list-signing-certificates = %+v", certs)
	}
	c.run(nil, "root", "iam", "delete-signing-certificate", "--user-name", "git", "--certificate-id", sc.Certificate.CertificateId)
	c.run(nil, "root", "iam", "delete-user", "--user-name", "git")
}

// runBoto3 runs a script of testdata with python3 and boto3 against the fixture's
// core as root (with extra environment variables), and decodes the JSON it prints.
func runBoto3(t *testing.T, f *fixture, script string, env ...string) map[string]any {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Python: not in -short mode")
	}
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import boto3").Run() != nil {
		t.Skip("python3 with boto3 is not installed: apt-get install python3-boto3")
	}
	path, err := filepath.Abs(filepath.Join("testdata", script))
	check(t, err)
	env = append([]string{"AWS_ACCESS_KEY_ID=" + f.root.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + f.root.SecretAccessKey}, env...)
	return newCLI(t, f.srv.URL).python(py, env, path)
}

// TestBoto3UserCredentials: the same through boto3, with its modelled exceptions.
func TestBoto3UserCredentials(t *testing.T) {
	f := newFixtureClock(t, true)
	key := sshKeygen(t, "ed25519", 0)
	now := time.Now()
	cert := makeCert(t, "boto", now.Add(-time.Hour), now.Add(time.Hour), nil, false)
	got := runBoto3(t, f, "boto3_usercreds.py", "SSH_KEY="+writeTemp(t, "id.pub", key.line), "CERT="+writeTemp(t, "cert.pem", cert.pem))
	want := map[string]any{
		"fingerprint": key.md5, "status": "Active", "upload_date_is_datetime": true, "pem_header": "-----BEGIN PUBLIC KEY-----",
		"listed": []any{[]any{true, "Inactive"}}, "duplicate": "DuplicateSSHPublicKey",
		"cert_body_same": true, "cert_id_len": 32.0, "certs": []any{"Inactive"},
		"malformed": []any{"MalformedCertificate", 400.0}, "deleted": true,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("boto3 (-got +want):\n%s", diff)
	}
}
