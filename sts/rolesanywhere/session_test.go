package rolesanywhere_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ra "github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/internal/x509test"
)

// helperOutput is credential_process's JSON, as AWS's signing helper prints it.
type helperOutput struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

// runHelper runs AWS's signing helper's credential-process against the fixture's core
// and returns its output, or its stderr when it fails.
func (f *fixture) runHelper(t *testing.T, cert, key, intermediates, anchorARN, profileARN, roleARN string, extra ...string) (helperOutput, string, error) {
	t.Helper()
	args := []string{"credential-process", "--certificate", cert, "--private-key", key,
		"--trust-anchor-arn", anchorARN, "--profile-arn", profileARN, "--role-arn", roleARN,
		"--endpoint", f.srv.URL, "--region", testRegion}
	if intermediates != "" {
		args = append(args, "--intermediates", intermediates)
	}
	args = append(args, extra...)
	cmd := exec.Command(x509test.Helper(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out helperOutput
	if err == nil {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			t.Fatalf("helper output %q: %v", stdout.String(), jerr)
		}
	}
	return out, stderr.String(), err
}

// callerARN asks the core's STS who the helper's credentials are.
func (f *fixture) callerARN(t *testing.T, out helperOutput) string {
	t.Helper()
	c := sts.New(sts.Options{BaseEndpoint: aws.String(f.srv.URL), Region: testRegion, HTTPClient: f.srv.Client(),
		Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID: out.AccessKeyID, SecretAccessKey: out.SecretAccessKey, SessionToken: out.SessionToken}}})
	id, err := c.GetCallerIdentity(f.ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the session: %v", err)
	}
	return *id.Arn
}

// TestCreateSessionHelper: AWS's signing helper gets a session from the core with an
// RSA leaf under an intermediate CA (chain in X-Amz-X509-Chain), and the session
// works with STS.
func TestCreateSessionHelper(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	inter := root.Issue(t, x509test.Template{CommonName: "Intermediate CA", CA: true, KeyType: x509test.ECDSA})
	leaf := inter.Issue(t, x509test.Template{CommonName: "build-01", Org: "Example", DNSNames: []string{"build-01.example.com"}})
	certPath, keyPath := leaf.WriteFiles(t, dir, "leaf")
	interPath := filepath.Join(dir, "inter.pem")
	if err := os.WriteFile(interPath, inter.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	roleARN := f.role("ci", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},
"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/CN":"build-01","aws:PrincipalTag/x509Issuer/CN":"Intermediate CA",
"aws:PrincipalTag/x509SAN/DNS":"build-01.example.com"}}}]}`)
	anchorARN := f.anchor("root", root.PEM())
	profileARN := f.profile("p", roleARN)

	out, stderr, err := f.runHelper(t, certPath, keyPath, interPath, anchorARN, profileARN, roleARN)
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	if out.Version != 1 || !strings.HasPrefix(out.AccessKeyID, "ASIA") || out.SecretAccessKey == "" || out.SessionToken == "" {
		t.Fatalf("output %+v", out)
	}
	exp, err := time.Parse("2006-01-02T15:04:05Z", out.Expiration)
	if err != nil || time.Until(exp) < 55*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Fatalf("expiration %q: %v", out.Expiration, err)
	}
	want := "arn:aws:sts::123456789012:assumed-role/ci/" + leaf.Cert.SerialNumber.Text(16)
	if got := f.callerARN(t, out); got != want {
		t.Fatalf("caller %s, want %s", got, want)
	}
}

// TestCreateSessionOpenSSL: an ECDSA certificate made by openssl (its own CA, no
// intermediate) gets a session through the helper (AWS4-X509-ECDSA-SHA256).
func TestCreateSessionOpenSSL(t *testing.T) {
	ossl := x509test.OpenSSL(t)
	f := newFixture(t)
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(ossl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
	run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=OpenSSL CA", "-days", "2", "-out", "ca.pem",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "leaf.key")
	run("req", "-new", "-key", "leaf.key", "-subj", "/CN=edge-7/O=Example", "-out", "leaf.csr")
	if err := os.WriteFile(filepath.Join(dir, "ext.cnf"), []byte("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "leaf.pem")
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roleARN := f.role("edge", trustRA)
	anchorARN := f.anchor("openssl", caPEM)
	profileARN := f.profile("p", roleARN)
	out, stderr, err := f.runHelper(t, filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf.key"), "", anchorARN, profileARN, roleARN)
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderr)
	}
	if got := f.callerARN(t, out); !strings.HasPrefix(got, "arn:aws:sts::123456789012:assumed-role/edge/") {
		t.Fatalf("caller %s", got)
	}
}

// TestCreateSessionRefusals: each refusal answers AWS's error, as the helper reports
// it.
func TestCreateSessionRefusals(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	other := x509test.NewCA(t, "Other CA", x509test.RSA)
	good := root.Issue(t, x509test.Template{CommonName: "good"})
	revoked := root.Issue(t, x509test.Template{CommonName: "revoked"})
	expired := root.Issue(t, x509test.Template{CommonName: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	stranger := other.Issue(t, x509test.Template{CommonName: "good"})
	wrongCN := root.Issue(t, x509test.Template{CommonName: "intruder"})

	roleARN := f.role("r", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},
"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
"Condition":{"StringLike":{"aws:PrincipalTag/x509Subject/CN":["good","revoked","expired"]}}}]}`)
	otherRole := f.role("unlisted", trustRA)
	anchorARN := f.anchor("root", root.PEM())
	disabledAnchor := f.anchor("disabled", root.PEM())
	profileARN := f.profile("p", roleARN)
	disabledProfile := f.profile("off", roleARN)
	c := f.ra(f.root)
	if _, err := c.DisableTrustAnchor(f.ctx, &ra.DisableTrustAnchorInput{TrustAnchorId: aws.String(idOf(disabledAnchor))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DisableProfile(f.ctx, &ra.DisableProfileInput{ProfileId: aws.String(idOf(disabledProfile))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportCrl(f.ctx, &ra.ImportCrlInput{Name: aws.String("crl"), CrlData: root.CRL(t, revoked),
		TrustAnchorArn: aws.String(anchorARN), Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		cert            *x509test.Cert
		anchor, profile string
		role            string
		skew            time.Duration
		want            string
	}{
		"ok":               {cert: good, want: ""},
		"clock skew":       {cert: good, skew: 20 * time.Minute, want: "AccessDeniedException"},
		"revoked":          {cert: revoked, want: "AccessDeniedException: Certificate revoked"},
		"expired":          {cert: expired, want: "AccessDeniedException: Certificate is expired"},
		"untrusted CA":     {cert: stranger, want: "AccessDeniedException: Untrusted certificate"},
		"unknown anchor":   {cert: good, anchor: profileARN, want: "ResourceNotFoundException: Trust anchor not found"},
		"unknown profile":  {cert: good, profile: profileARN + "0", want: "ResourceNotFoundException: Profile not found"},
		"disabled anchor":  {cert: good, anchor: disabledAnchor, want: "AccessDeniedException: Trust anchor is disabled"},
		"disabled profile": {cert: good, profile: disabledProfile, want: "AccessDeniedException: Profile is disabled"},
		"role not listed":  {cert: good, role: otherRole, want: "AccessDeniedException: Profile does not contain the requested role"},
		"trust policy":     {cert: wrongCN, want: "AccessDeniedException: Unable to assume role"},
	} {
		t.Run(name, func(t *testing.T) {
			f.skew(tc.skew)
			defer f.skew(0)
			certPath, keyPath := tc.cert.WriteFiles(t, dir, strings.ReplaceAll(name, " ", "-"))
			a, p, r := or(tc.anchor, anchorARN), or(tc.profile, profileARN), or(tc.role, roleARN)
			_, stderr, err := f.runHelper(t, certPath, keyPath, "", a, p, r)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("helper: %v\n%s", err, stderr)
				}
				return
			}
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Fatalf("helper: %v, stderr %q, want %q", err, stderr, tc.want)
			}
		})
	}
}

// TestCreateSessionSeesChanges: what CreateSession caches (entities, verified chains)
// follows the store: a CRL imported and an anchor disabled after a session was
// granted refuse the next one.
func TestCreateSessionSeesChanges(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	root := x509test.NewCA(t, "Root CA", x509test.ECDSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "c"})
	certPath, keyPath := leaf.WriteFiles(t, dir, "c")
	roleARN := f.role("r", trustRA)
	anchorARN, profileARN := f.anchor("a", root.PEM()), f.profile("p", roleARN)
	run := func(want string) {
		t.Helper()
		_, stderr, err := f.runHelper(t, certPath, keyPath, "", anchorARN, profileARN, roleARN)
		if (want == "") != (err == nil) || !strings.Contains(stderr, want) {
			t.Fatalf("helper: %v, stderr %q, want %q", err, stderr, want)
		}
	}
	run("")
	c := f.ra(f.root)
	crl, err := c.ImportCrl(f.ctx, &ra.ImportCrlInput{Name: aws.String("crl"), CrlData: root.CRL(t, leaf), TrustAnchorArn: aws.String(anchorARN), Enabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	run("Certificate revoked")
	if _, err := c.DisableCrl(f.ctx, &ra.DisableCrlInput{CrlId: crl.Crl.CrlId}); err != nil {
		t.Fatal(err)
	}
	run("")
	if _, err := c.DisableTrustAnchor(f.ctx, &ra.DisableTrustAnchorInput{TrustAnchorId: aws.String(idOf(anchorARN))}); err != nil {
		t.Fatal(err)
	}
	run("Trust anchor is disabled")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func idOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
