package iamapi_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/credbroker/credbroker/internal/testtool"
	"github.com/credbroker/credbroker/sts/account"
)

// sshKey is a key made by ssh-keygen: its public line and the MD5 fingerprint
// ssh-keygen prints for it.
type sshKey struct {
	line, md5 string
}

// sshKeygen makes a key of typ ("rsa", "ed25519", "ecdsa") and bits (0: default) with
// OpenSSH's ssh-keygen.
func sshKeygen(t testing.TB, typ string, bits int) sshKey {
	t.Helper()
	testtool.Need(t, "ssh-keygen=openssh-client")
	path := filepath.Join(t.TempDir(), "id")
	args := []string{"-q", "-t", typ, "-N", "", "-C", "dana@laptop", "-f", path}
	if bits > 0 {
		args = append(args, "-b", strconv.Itoa(bits))
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	check(t, err)
	out, err := exec.Command("ssh-keygen", "-l", "-E", "md5", "-f", path+".pub").Output()
	check(t, err)
	// "2048 MD5:aa:bb:… dana@laptop (RSA)"
	fields := strings.Fields(string(out))
	return sshKey{line: strings.TrimSpace(string(pub)), md5: strings.TrimPrefix(fields[1], "MD5:")}
}

// sshToPEM converts the public key line to PKIX PEM with ssh-keygen.
func sshToPEM(t testing.TB, line string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.pub")
	check(t, os.WriteFile(path, []byte(line+"\n"), 0o600))
	out, err := exec.Command("ssh-keygen", "-e", "-m", "PKCS8", "-f", path).Output()
	check(t, err)
	return string(out)
}

func TestSSHPublicKeys(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	for _, n := range []string{"dana", "erin"} {
		check(t, ignore(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(n)})))
	}
	rsaKey, edKey := sshKeygen(t, "rsa", 2048), sshKeygen(t, "ed25519", 0)

	// Each encoding IAM accepts, with the fingerprint OpenSSH prints.
	cases := []struct {
		name, body, md5 string
	}{
		{"ssh-rsa line", rsaKey.line, rsaKey.md5},
		{"ssh-ed25519 line", edKey.line, edKey.md5},
	}
	var ids []string
	for _, tc := range cases {
		k := must[*iam.UploadSSHPublicKeyOutput](t)(c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyBody: aws.String(tc.body)})).SSHPublicKey
		if aws.ToString(k.Fingerprint) != tc.md5 || !strings.HasPrefix(aws.ToString(k.SSHPublicKeyId), "APKA") || len(aws.ToString(k.SSHPublicKeyId)) != 20 ||
			k.Status != types.StatusTypeActive || aws.ToString(k.UserName) != "dana" || k.UploadDate == nil {
			t.Errorf("%s: UploadSSHPublicKey = %+v, want fingerprint %s", tc.name, k, tc.md5)
		}
		want := strings.Join(strings.Fields(tc.body)[:2], " ")
		if aws.ToString(k.SSHPublicKeyBody) != want {
			t.Errorf("%s: body %q, want %q", tc.name, aws.ToString(k.SSHPublicKeyBody), want)
		}
		ids = append(ids, aws.ToString(k.SSHPublicKeyId))
	}
	// The same key in PEM is a duplicate for the same user, and fine for another.
	_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyBody: aws.String(sshToPEM(t, rsaKey.line))})
	wantErr(t, err, "DuplicateSSHPublicKey", http.StatusBadRequest, "already associated")
	erins := must[*iam.UploadSSHPublicKeyOutput](t)(c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("erin"), SSHPublicKeyBody: aws.String(sshToPEM(t, rsaKey.line))})).SSHPublicKey
	if aws.ToString(erins.Fingerprint) != rsaKey.md5 {
		t.Errorf("PEM upload fingerprint %s, want %s", aws.ToString(erins.Fingerprint), rsaKey.md5)
	}

	// Both encodings on Get: the SSH line, and a PEM that is the same key.
	for _, id := range ids {
		s := must[*iam.GetSSHPublicKeyOutput](t)(c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyId: &id, Encoding: types.EncodingTypeSsh})).SSHPublicKey
		p := must[*iam.GetSSHPublicKeyOutput](t)(c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyId: &id, Encoding: types.EncodingTypePem})).SSHPublicKey
		block, _ := pem.Decode([]byte(aws.ToString(p.SSHPublicKeyBody)))
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("PEM encoding = %q", aws.ToString(p.SSHPublicKeyBody))
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		check(t, err)
		sk, err := ssh.NewPublicKey(pub)
		check(t, err)
		if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sk))); got != aws.ToString(s.SSHPublicKeyBody) {
			t.Errorf("PEM and SSH encodings differ: %s vs %s", got, aws.ToString(s.SSHPublicKeyBody))
		}
	}

	// Active/Inactive, lists, errors.
	check(t, ignore(c.UpdateSSHPublicKey(ctx, &iam.UpdateSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyId: &ids[0], Status: types.StatusTypeInactive})))
	l := must[*iam.ListSSHPublicKeysOutput](t)(c.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: aws.String("dana")})).SSHPublicKeys
	statuses := map[string]types.StatusType{}
	for _, k := range l {
		statuses[aws.ToString(k.SSHPublicKeyId)] = k.Status
	}
	if diff := cmp.Diff(statuses, map[string]types.StatusType{ids[0]: types.StatusTypeInactive, ids[1]: types.StatusTypeActive}); diff != "" {
		t.Errorf("ListSSHPublicKeys (-got +want):\n%s", diff)
	}
	_, err = c.GetSSHPublicKey(ctx, &iam.GetSSHPublicKeyInput{UserName: aws.String("erin"), SSHPublicKeyId: &ids[0], Encoding: types.EncodingTypeSsh})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Public Key with id "+ids[0]+" cannot be found.")
	_, err = c.UpdateSSHPublicKey(ctx, &iam.UpdateSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyId: &ids[0], Status: types.StatusTypeExpired})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "Active or Inactive")
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("erin")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete entity, must delete SSH public keys first.")

	bad := []struct {
		name, body, code string
	}{
		{"short RSA", sshKeygen(t, "rsa", 1024).line, "InvalidPublicKey"},
		{"ECDSA", sshKeygen(t, "ecdsa", 256).line, "InvalidPublicKey"},
		{"not a key", "hello world", "UnrecognizedPublicKeyEncoding"},
		{"truncated", rsaKey.line[:60], "UnrecognizedPublicKeyEncoding"},
		{"PEM private key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "UnrecognizedPublicKeyEncoding"},
	}
	for _, tc := range bad {
		_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("erin"), SSHPublicKeyBody: aws.String(tc.body)})
		wantErr(t, err, tc.code, http.StatusBadRequest, "")
	}
	// At most five per user.
	for range 3 {
		check(t, ignore(c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyBody: aws.String(sshKeygen(t, "ed25519", 0).line)})))
	}
	_, err = c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("dana"), SSHPublicKeyBody: aws.String(sshKeygen(t, "ed25519", 0).line)})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for SSHPublicKeysPerUser: 5")

	// Users manage their own keys only.
	self := f.client(f.inlineUser("fay", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*SSHPublicKey*"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}`))
	check(t, ignore(self.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("fay"), SSHPublicKeyBody: aws.String(edKey.line)})))
	_, err = self.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{UserName: aws.String("dana")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:ListSSHPublicKeys on resource: arn:aws:iam::123456789012:user/dana")
	mine := must[*iam.ListSSHPublicKeysOutput](t)(self.ListSSHPublicKeys(ctx, &iam.ListSSHPublicKeysInput{})).SSHPublicKeys
	if len(mine) != 1 {
		t.Fatalf("own keys = %+v", mine)
	}
	check(t, ignore(self.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: aws.String("fay"), SSHPublicKeyId: mine[0].SSHPublicKeyId})))
	_, err = self.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: aws.String("fay"), SSHPublicKeyId: mine[0].SSHPublicKeyId})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	check(t, f.store.Check(ctx))
}

// testCert is a self-signed certificate (or one signed by parent) with its key.
type testCert struct {
	cert *x509.Certificate
	pem  string
	key  crypto.Signer
}

func makeCert(t testing.TB, cn string, notBefore, notAfter time.Time, parent *testCert, isCA bool) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	check(t, err)
	cert, err := x509.ParseCertificate(der)
	check(t, err)
	return testCert{cert: cert, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), key: key}
}

func (c testCert) keyPEM(t testing.TB) string {
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	check(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestSigningCertificates(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	check(t, ignore(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dana")})))
	now := f.clock.Now()
	good := makeCert(t, "dana", now.Add(-time.Hour), now.Add(365*24*time.Hour), nil, false)

	up := must[*iam.UploadSigningCertificateOutput](t)(c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("dana"), CertificateBody: aws.String(good.pem)})).Certificate
	id := aws.ToString(up.CertificateId)
	if len(id) != 32 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" || up.Status != types.StatusTypeActive ||
		aws.ToString(up.UserName) != "dana" || aws.ToString(up.CertificateBody) != good.pem || !up.UploadDate.Equal(now) {
		t.Errorf("UploadSigningCertificate = %+v", up)
	}
	bad := []struct {
		name, body, code string
	}{
		{"expired", makeCert(t, "old", now.Add(-48*time.Hour), now.Add(-time.Hour), nil, false).pem, "InvalidCertificate"},
		{"not yet valid", makeCert(t, "new", now.Add(time.Hour), now.Add(48*time.Hour), nil, false).pem, "InvalidCertificate"},
		{"not PEM", "MIIB", "MalformedCertificate"},
		{"garbage in PEM", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "MalformedCertificate"},
		{"two certificates", good.pem + good.pem, "MalformedCertificate"},
		{"same certificate again", good.pem, "DuplicateCertificate"},
	}
	for _, tc := range bad {
		_, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("dana"), CertificateBody: aws.String(tc.body)})
		wantErr(t, err, tc.code, 0, "")
	}
	check(t, ignore(c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("dana"),
		CertificateBody: aws.String(makeCert(t, "two", now.Add(-time.Hour), now.Add(time.Hour), nil, false).pem)})))
	_, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("dana"),
		CertificateBody: aws.String(makeCert(t, "three", now.Add(-time.Hour), now.Add(time.Hour), nil, false).pem)})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for SigningCertificatesPerUser: 2")

	check(t, ignore(c.UpdateSigningCertificate(ctx, &iam.UpdateSigningCertificateInput{UserName: aws.String("dana"), CertificateId: &id, Status: types.StatusTypeInactive})))
	p1 := must[*iam.ListSigningCertificatesOutput](t)(c.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: aws.String("dana"), MaxItems: aws.Int32(1)}))
	p2 := must[*iam.ListSigningCertificatesOutput](t)(c.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{UserName: aws.String("dana"), Marker: p1.Marker}))
	if len(p1.Certificates) != 1 || !p1.IsTruncated || len(p2.Certificates) != 1 || p2.IsTruncated {
		t.Fatalf("ListSigningCertificates pages = %+v, %+v", p1.Certificates, p2.Certificates)
	}
	for _, m := range append(p1.Certificates, p2.Certificates...) {
		if (aws.ToString(m.CertificateId) == id) != (m.Status == types.StatusTypeInactive) {
			t.Errorf("certificate %s is %s", aws.ToString(m.CertificateId), m.Status)
		}
	}
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dana")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "must delete signing certificates first")
	// The credential report shows both, in upload order (the same second here: either).
	check(t, ignore(c.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{})))
	report := must[*iam.GetCredentialReportOutput](t)(c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{}))
	rows, err := csv.NewReader(bytes.NewReader(report.Content)).ReadAll()
	check(t, err)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	found := false
	for _, r := range rows[1:] {
		if r[0] != "dana" {
			continue
		}
		found = true
		active := []string{r[col["cert_1_active"]], r[col["cert_2_active"]]}
		slices.Sort(active)
		if !slices.Equal(active, []string{"false", "true"}) || r[col["cert_1_last_rotated"]] != now.Format("2006-01-02T15:04:05+00:00") {
			t.Errorf("credential report row %v", r)
		}
	}
	if !found {
		t.Errorf("no row for dana in %v", rows)
	}

	// Without UserName, the caller's own: root's.
	rootCert := makeCert(t, "root", now.Add(-time.Hour), now.Add(time.Hour), nil, false)
	check(t, ignore(c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{CertificateBody: aws.String(rootCert.pem)})))
	if sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})); sum.SummaryMap["AccountSigningCertificatesPresent"] != 1 {
		t.Errorf("AccountSigningCertificatesPresent = %d", sum.SummaryMap["AccountSigningCertificatesPresent"])
	}
	rl := must[*iam.ListSigningCertificatesOutput](t)(c.ListSigningCertificates(ctx, &iam.ListSigningCertificatesInput{}))
	if len(rl.Certificates) != 1 || aws.ToString(rl.Certificates[0].CertificateBody) != rootCert.pem {
		t.Errorf("root's certificates = %+v", rl.Certificates)
	}
	check(t, ignore(c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: aws.String("dana"), CertificateId: &id})))
	_, err = c.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: aws.String("dana"), CertificateId: &id})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Certificate with id "+id+" cannot be found.")
	// Deleted, the certificate may be uploaded again.
	check(t, ignore(c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{UserName: aws.String("dana"), CertificateBody: aws.String(good.pem)})))
	check(t, f.store.Check(ctx))
}

func TestServiceSpecificCredentials(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	check(t, ignore(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dana")})))

	cc := must[*iam.CreateServiceSpecificCredentialOutput](t)(c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("dana"), ServiceName: aws.String("codecommit.amazonaws.com")})).ServiceSpecificCredential
	id, pw := aws.ToString(cc.ServiceSpecificCredentialId), aws.ToString(cc.ServicePassword)
	if !strings.HasPrefix(id, "ACCA") || len(id) != 21 || len(pw) != 40 || aws.ToString(cc.ServiceUserName) != "dana-at-123456789012" ||
		cc.Status != types.StatusTypeActive || aws.ToString(cc.UserName) != "dana" || cc.ExpirationDate != nil {
		t.Errorf("CreateServiceSpecificCredential = %+v", cc)
	}
	// The password is kept encrypted: it is nowhere in the store's records in clear.
	f.update(func(tx *storeTx) error {
		got, err := tx.UserCredentialSecret(id)
		if got != pw {
			t.Errorf("stored password differs")
		}
		return err
	})
	bk := must[*iam.CreateServiceSpecificCredentialOutput](t)(c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{
		UserName: aws.String("dana"), ServiceName: aws.String("bedrock.amazonaws.com"), CredentialAgeDays: aws.Int32(1)})).ServiceSpecificCredential
	if aws.ToString(bk.ServiceCredentialSecret) == "" || !strings.HasPrefix(aws.ToString(bk.ServiceCredentialAlias), "BedrockAPIKey-") ||
		bk.ServicePassword != nil || bk.ExpirationDate == nil || !bk.ExpirationDate.Equal(f.clock.Now().Add(24*time.Hour)) {
		t.Errorf("Bedrock API key = %+v", bk)
	}
	_, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceName: aws.String("s3.amazonaws.com")})
	wantErr(t, err, "NotSupportedService", http.StatusNotFound, "")
	check(t, ignore(c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceName: aws.String("codecommit.amazonaws.com")})))
	_, err = c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceName: aws.String("codecommit.amazonaws.com")})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "ServiceSpecificCredentialsPerUserPerService: 2")

	// Lists never carry secrets; filter by service; expired keys say so.
	// (The SDK signs with the real clock: the key is made to have expired.)
	f.update(func(tx *storeTx) error {
		_, err := tx.UpdateUserCredential(account.CredServiceSpecific, "dana", aws.ToString(bk.ServiceSpecificCredentialId),
			func(c *account.UserCredential) error { c.Expires = f.clock.Now().Add(-time.Second); return nil })
		return err
	})
	l := must[*iam.ListServiceSpecificCredentialsOutput](t)(c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: aws.String("dana")})).ServiceSpecificCredentials
	if len(l) != 3 {
		t.Fatalf("ListServiceSpecificCredentials = %+v", l)
	}
	for _, m := range l {
		if aws.ToString(m.ServiceName) == "bedrock.amazonaws.com" && m.Status != types.StatusTypeExpired {
			t.Errorf("expired API key status %s", m.Status)
		}
	}
	only := must[*iam.ListServiceSpecificCredentialsOutput](t)(c.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{AllUsers: aws.Bool(true), ServiceName: aws.String("bedrock.amazonaws.com")})).ServiceSpecificCredentials
	if len(only) != 1 || aws.ToString(only[0].UserName) != "dana" {
		t.Errorf("filtered = %+v", only)
	}

	reset := must[*iam.ResetServiceSpecificCredentialOutput](t)(c.ResetServiceSpecificCredential(ctx, &iam.ResetServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceSpecificCredentialId: &id})).ServiceSpecificCredential
	if p := aws.ToString(reset.ServicePassword); p == "" || p == pw {
		t.Errorf("reset password %q (was %q)", p, pw)
	}
	check(t, ignore(c.UpdateServiceSpecificCredential(ctx, &iam.UpdateServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceSpecificCredentialId: &id, Status: types.StatusTypeInactive})))
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dana")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "service specific credentials")
	check(t, ignore(c.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceSpecificCredentialId: &id})))
	_, err = c.ResetServiceSpecificCredential(ctx, &iam.ResetServiceSpecificCredentialInput{UserName: aws.String("dana"), ServiceSpecificCredentialId: &id})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	check(t, f.store.Check(ctx))
}
