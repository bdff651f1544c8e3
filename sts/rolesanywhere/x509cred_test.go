package rolesanywhere_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ra "github.com/aws/aws-sdk-go-v2/service/rolesanywhere"

	"github.com/credbroker/credbroker/broker/x509cred"
	"github.com/credbroker/credbroker/internal/x509test"
)

// The broker's x509 client is the second client of CreateSession (AWS's signing
// helper is the first): its sessions must work, with a key from files and with a key
// that never leaves a PKCS #11 token.

// TestBrokerClientFileKey: RSA and ECDSA keys from files, with an intermediate.
func TestBrokerClientFileKey(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	root := x509test.NewCA(t, "Root CA", x509test.ECDSA)
	inter := root.Issue(t, x509test.Template{CommonName: "Intermediate CA", CA: true, KeyType: x509test.RSA})
	roleARN := f.role("svc", trustRA)
	anchorARN := f.anchor("root", root.PEM())
	profileARN := f.profile("p", roleARN)
	interPath := filepath.Join(dir, "inter.pem")
	if err := os.WriteFile(interPath, inter.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]x509test.KeyType{"rsa": x509test.RSA, "ecdsa": x509test.ECDSA} {
		t.Run(name, func(t *testing.T) {
			leaf := inter.Issue(t, x509test.Template{CommonName: "svc-" + name, KeyType: k})
			certPath, keyPath := leaf.WriteFiles(t, dir, name)
			id, err := x509cred.LoadFiles(certPath, keyPath, interPath)
			if err != nil {
				t.Fatal(err)
			}
			f.wantSerialSession(t, id, leaf, anchorARN, profileARN, roleARN)
			// The audit line names the certificate and the role.
			f.auditLine("action=CreateSession", "x509_subject=CN=svc-"+name, "x509_serial="+leaf.Cert.SerialNumber.Text(16),
				"role="+roleARN, "status=201")
			// A certificate from a CA the anchor does not hold is refused in AWS's words.
			stranger := x509test.NewCA(t, "Other", x509test.RSA).Issue(t, x509test.Template{CommonName: "x", KeyType: k})
			sc, sk := stranger.WriteFiles(t, dir, name+"-stranger")
			sid, err := x509cred.LoadFiles(sc, sk, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.sessionAs(t, sid, anchorARN, profileARN, roleARN)
			var xe *x509cred.Error
			if !asError(err, &xe) || xe.Code != "AccessDeniedException" || xe.Status != 403 {
				t.Fatalf("stranger: %v", err)
			}
			f.auditLine("x509_subject=CN=x", "x509_serial="+stranger.Cert.SerialNumber.Text(16), "status=403")
		})
	}
}

// TestBrokerClientSoftHSM: an ECDSA key generated in a SoftHSM token, marked
// sensitive and not extractable, signs CreateSession through crypto11; the token
// refuses to give the key's value out.
func TestBrokerClientSoftHSM(t *testing.T) {
	const label, pin, keyLabel = "credbroker-test", "4711", "edge-key"
	module := x509test.SoftHSM(t, label, pin)
	f := newFixture(t)
	dir := t.TempDir()

	pub := x509test.TokenKey(t, module, label, pin, keyLabel)

	root := x509test.NewCA(t, "HSM Root", x509test.RSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "hsm-host", PublicKey: pub})
	certPath, _ := leaf.WriteFiles(t, dir, "hsm")
	roleARN := f.role("hsm", trustRA)
	anchorARN := f.anchor("root", root.PEM())
	profileARN := f.profile("p", roleARN)

	hid, err := x509cred.OpenPKCS11(x509cred.PKCS11{Module: module, TokenLabel: label, KeyLabel: keyLabel, PIN: pin, CertFile: certPath})
	if err != nil {
		t.Fatal(err)
	}
	f.wantSerialSession(t, hid, leaf, anchorARN, profileARN, roleARN)

	if err := hid.Close(); err != nil {
		t.Fatal(err)
	}
	// A wrong PIN is refused by the token, and the error does not carry the PIN.
	_, err = x509cred.OpenPKCS11(x509cred.PKCS11{Module: module, TokenLabel: label, KeyLabel: keyLabel, PIN: "9999", CertFile: certPath})
	if err == nil {
		t.Fatal("a wrong PIN opened the token")
	}
	if containsStr(err.Error(), "9999") {
		t.Fatalf("the error carries the PIN: %v", err)
	}
}

// TestCreateSessionSignatureRefusals: a request changed after signing, one signed by
// another key than the certificate's, one whose scope names another serial, and one
// without the certificate are refused.
func TestCreateSessionSignatureRefusals(t *testing.T) {
	f := newFixture(t)
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "a", KeyType: x509test.ECDSA})
	other := root.Issue(t, x509test.Template{CommonName: "b", KeyType: x509test.ECDSA})
	roleARN := f.role("r", trustRA)
	otherRole := f.role("r2", trustRA)
	anchorARN, profileARN := f.anchor("a", root.PEM()), f.profile("p", roleARN, otherRole)
	in := x509cred.SessionInput{TrustAnchorARN: anchorARN, ProfileARN: profileARN, RoleARN: roleARN}
	c := &x509cred.Client{Endpoint: f.srv.URL, Region: testRegion, HTTPClient: f.srv.Client()}
	good, err := x509cred.NewIdentity(leaf.Cert, nil, leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		change func(r *http.Request)
		code   string
		status int
	}{
		"unchanged":      {func(*http.Request) {}, "", 201},
		"query changed":  {func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "%2Fr&", "%2Fr2&", 1) }, "AccessDeniedException", 403},
		"other key":      {func(r *http.Request) { r.Header.Set("X-Amz-X509", base64.StdEncoding.EncodeToString(other.Cert.Raw)) }, "AccessDeniedException", 403},
		"no certificate": {func(r *http.Request) { r.Header.Del("X-Amz-X509") }, "ValidationException", 400},
		"serial in scope": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Credential="+leaf.Cert.SerialNumber.String(), "Credential=1", 1))
		}, "AccessDeniedException", 403},
		"other algorithm": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ECDSA", "RSA", 1))
		}, "AccessDeniedException", 403},
		"unknown algorithm": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ECDSA", "DSA", 1))
		}, "ValidationException", 400},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := c.NewRequest(f.ctx, good, in)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(req)
			resp, body := f.send(t, req)
			if name == "query changed" && !strings.Contains(string(body), "Invalid signature") {
				t.Errorf("message %s, want the real service's Invalid signature", body)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Fatalf("%d %s %s, want %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, tc.status, tc.code)
			}
		})
	}
}

// TestCreateSessionRoleSessionName: a roleSessionName is refused unless the profile
// accepts one, in the real service's words; accepted, it names the session.
func TestCreateSessionRoleSessionName(t *testing.T) {
	f := newFixture(t)
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "a"})
	roleARN := f.role("r", trustRA)
	anchorARN, profileARN := f.anchor("a", root.PEM()), f.profile("p", roleARN)
	id, err := x509cred.NewIdentity(leaf.Cert, nil, leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := &x509cred.Client{Endpoint: f.srv.URL, Region: testRegion, HTTPClient: f.srv.Client()}
	in := x509cred.SessionInput{TrustAnchorARN: anchorARN, ProfileARN: profileARN, RoleARN: roleARN, SessionName: "deploy-7"}
	_, err = c.CreateSession(f.ctx, id, in)
	var xe *x509cred.Error
	if !asError(err, &xe) || xe.Code != "AccessDeniedException" || xe.Message != "Not authorized to set roleSessionName." {
		t.Fatalf("not accepted by the profile: %v", err)
	}
	if _, err := f.ra(f.root).UpdateProfile(f.ctx, &ra.UpdateProfileInput{ProfileId: aws.String(idOf(profileARN)), AcceptRoleSessionName: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	creds, err := c.CreateSession(f.ctx, id, in)
	if err != nil {
		t.Fatal(err)
	}
	got := f.callerARN(t, helperOutput{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken})
	if got != "arn:aws:sts::123456789012:assumed-role/r/deploy-7" {
		t.Fatalf("caller %s", got)
	}
}

// TestCreateSessionReplayWithinWindow pins what AWS documents: Roles Anywhere signs
// as SigV4 does ("treated as authoritative"), whose only replay protection is that
// a request must arrive within five minutes of its X-Amz-Date. So the same signed
// request sent twice within the window gets two sessions (as AWS would answer),
// and the same bytes after the window are refused as skew.
func TestCreateSessionReplayWithinWindow(t *testing.T) {
	f := newFixture(t)
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "replayed", KeyType: x509test.ECDSA})
	roleARN := f.role("r", trustRA)
	in := x509cred.SessionInput{TrustAnchorARN: f.anchor("a", root.PEM()), ProfileARN: f.profile("p", roleARN), RoleARN: roleARN}
	id, err := x509cred.NewIdentity(leaf.Cert, nil, leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	c := &x509cred.Client{Endpoint: f.srv.URL, Region: testRegion, HTTPClient: f.srv.Client()}
	req, err := c.NewRequest(f.ctx, id, in)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	send := func() (int, string) {
		t.Helper()
		r := req.Clone(f.ctx)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		resp, answer := f.send(t, r)
		return resp.StatusCode, answer
	}
	first, a := send()
	second, b := send()
	if first != 201 || second != 201 || a == b {
		t.Fatalf("the same signed request twice within the window: %d then %d (same answer: %v)", first, second, a == b)
	}
	f.skew(5*time.Minute + time.Second)
	defer f.skew(0)
	if status, msg := send(); status != 403 || !strings.Contains(msg, "Signature expired") {
		t.Fatalf("replayed after the window: %d %s", status, msg)
	}
}

// TestBrokerClientTPM: an ECDSA key made inside a TPM 2.0 (swtpm) and persisted there
// signs CreateSession through go-tpm; a handle holding no key is refused.
func TestBrokerClientTPM(t *testing.T) {
	const handle = 0x81000100
	sock := x509test.SwTPM(t)
	pub := x509test.TPMKey(t, sock, handle)
	f := newFixture(t)
	root := x509test.NewCA(t, "TPM Root", x509test.RSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "tpm-host", PublicKey: pub})
	certPath, _ := leaf.WriteFiles(t, t.TempDir(), "tpm")
	roleARN := f.role("tpm", trustRA)
	anchorARN, profileARN := f.anchor("root", root.PEM()), f.profile("p", roleARN)

	id, err := x509cred.OpenTPM(x509cred.TPM{Device: sock, Handle: handle, CertFile: certPath})
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	f.wantSerialSession(t, id, leaf, anchorARN, profileARN, roleARN)
	if _, err := x509cred.OpenTPM(x509cred.TPM{Device: sock, Handle: handle + 1, CertFile: certPath}); err == nil {
		t.Fatal("an empty handle opened")
	}
}
