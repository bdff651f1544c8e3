package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/internal/x509test"
)

// jsonKeys returns the keys of a JSON object in the order they are written.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestE2EX509 is X.509 identities end to end, on the built binary and the persistent
// core: root sets up Roles Anywhere with the aws CLI at the endpoint `env` prints;
// AWS's signing helper, as the aws CLI's credential_process, gets a session from the
// core; then the broker's x509 sources — a key file, a key generated inside a
// SoftHSM token, and one made inside a TPM 2.0 (swtpm) — get sessions too, and `credbroker credential-process` prints what
// the helper prints.
func TestE2EX509(t *testing.T) {
	needTools(t)
	e := newE2E(t)
	helper := x509test.Helper(t)
	const acct, label, pin, keyLabel = "111122223333", "credbroker-e2e", "2468", "hsm-key"
	module := x509test.SoftHSM(t, label, pin)
	hsmPub := x509test.TokenKey(t, module, label, pin, keyLabel)
	hsmEnv := []string{x509test.SoftHSMEnv()}
	const tpmHandle = 0x81000100
	tpmSock := x509test.SwTPM(t)
	tpmPub := x509test.TPMKey(t, tpmSock, tpmHandle)

	pki := filepath.Join(e.root, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		t.Fatal(err)
	}
	root := x509test.NewCA(t, "E2E Root", x509test.RSA)
	inter := root.Issue(t, x509test.Template{CommonName: "E2E Issuing CA", CA: true, KeyType: x509test.ECDSA})
	leaf := inter.Issue(t, x509test.Template{CommonName: "edge-1", KeyType: x509test.RSA})
	hsmLeaf := inter.Issue(t, x509test.Template{CommonName: "hsm-1", PublicKey: hsmPub})
	tpmLeaf := inter.Issue(t, x509test.Template{CommonName: "tpm-1", PublicKey: tpmPub})
	certPath, keyPath := leaf.WriteFiles(t, pki, "edge")
	hsmCert, _ := hsmLeaf.WriteFiles(t, pki, "hsm")
	tpmCert, _ := tpmLeaf.WriteFiles(t, pki, "tpm")
	interPath := filepath.Join(pki, "inter.pem")
	pinPath := filepath.Join(pki, "pin")
	for p, b := range map[string][]byte{interPath: inter.PEM(), pinPath: []byte(pin + "\n")} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	state, keyFile := filepath.Join(e.root, "core"), filepath.Join(e.root, "master.key")
	writeCfg := func(rest string) { e.writeCoreConfig(state, acct, keyFile, rest) }
	writeCfg("")
	rootID, rootSecret := e.coreInit(keyFile, acct)

	d := e.serve(hsmEnv, "--core-addr", "127.0.0.1:0")
	envOut, errOut, err := e.run("", "env")
	if err != nil {
		t.Fatalf("env: %v\n%s", err, errOut)
	}
	em := regexp.MustCompile(`export AWS_ENDPOINT_URL_ROLESANYWHERE='(http://[^']+)'`).FindStringSubmatch(envOut)
	if em == nil || em[1] != "http://"+d.eps.Core {
		t.Fatalf("env prints no AWS_ENDPOINT_URL_ROLESANYWHERE of the core (%s):\n%s", d.eps.Core, envOut)
	}
	coreURL := em[1]
	rootEnv := append(coreRootEnv(rootID, rootSecret, coreURL), "AWS_ENDPOINT_URL_ROLESANYWHERE="+coreURL)
	awsAs := e.mustAWS
	field := func(b []byte, path ...string) string {
		t.Helper()
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v.(string)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:PrincipalTag/x509Issuer/CN":"E2E Issuing CA"}}}]}`
	edgeRole := field(awsAs(rootEnv, "iam", "create-role", "--role-name", "edge", "--assume-role-policy-document", trust), "Role", "Arn")
	hsmRole := field(awsAs(rootEnv, "iam", "create-role", "--role-name", "hsm", "--assume-role-policy-document", trust), "Role", "Arn")
	tpmRole := field(awsAs(rootEnv, "iam", "create-role", "--role-name", "tpm", "--assume-role-policy-document", trust), "Role", "Arn")
	src, _ := json.Marshal(map[string]any{"sourceType": "CERTIFICATE_BUNDLE", "sourceData": map[string]string{"x509CertificateData": string(root.PEM())}})
	anchorARN := field(awsAs(rootEnv, "rolesanywhere", "create-trust-anchor", "--name", "e2e", "--enabled", "--source", string(src)), "trustAnchor", "trustAnchorArn")
	profileARN := field(awsAs(rootEnv, "rolesanywhere", "create-profile", "--name", "e2e", "--enabled", "--role-arns", edgeRole, hsmRole, tpmRole), "profile", "profileArn")

	// AWS's signing helper as the aws CLI's credential_process.
	helperArgs := []string{"credential-process", "--certificate", certPath, "--private-key", keyPath, "--intermediates", interPath,
		"--trust-anchor-arn", anchorARN, "--profile-arn", profileARN, "--role-arn", edgeRole, "--endpoint", coreURL}
	helperOut, err := e.command(nil, helper, helperArgs...).Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, stderrOf(err))
	}
	conf := fmt.Sprintf("[profile helper]\nregion = us-east-1\ncredential_process = %s %s\n", helper, strings.Join(helperArgs, " "))
	if err := os.WriteFile(filepath.Join(e.home, ".aws", "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	stsEnv := []string{"AWS_ENDPOINT_URL_STS=" + coreURL}
	if arn := field(awsAs(stsEnv, "sts", "get-caller-identity", "--profile", "helper"), "Arn"); arn != "arn:aws:sts::"+acct+":assumed-role/edge/"+leaf.Cert.SerialNumber.Text(16) {
		t.Fatalf("aws CLI with the helper: %s", arn)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, d.stderr.String())
	}

	// The broker's x509 sources: a key file, and the key in the token.
	writeCfg(fmt.Sprintf(`source "x509" "edge" {
  certificate      = %q
  private_key      = %q
  intermediates    = %q
  trust_anchor_arn = %q
  profile_arn      = %q
}
source "x509" "hsm" {
  certificate      = %q
  intermediates    = %q
  pkcs11_module    = %q
  pkcs11_token     = %q
  pkcs11_key       = %q
  pin_file         = %q
  trust_anchor_arn = %q
  profile_arn      = %q
}
source "x509" "tpm" {
  certificate      = %q
  intermediates    = %q
  tpm_device       = %q
  tpm_key_handle   = "0x%08x"
  trust_anchor_arn = %q
  profile_arn      = %q
}
role "edge" {
  arn    = %q
  source = "edge"
}
role "tpm" {
  arn    = %q
  source = "tpm"
}
role "hsm" {
  arn    = %q
  source = "hsm"
}
client "me" {
  uids        = [%d]
  role        = "edge"
  allow_roles = ["hsm", "tpm"]
}
`, certPath, keyPath, interPath, anchorARN, profileARN, hsmCert, interPath, module, label, keyLabel, pinPath, anchorARN, profileARN,
		tpmCert, interPath, tpmSock, tpmHandle, anchorARN, profileARN, edgeRole, tpmRole, hsmRole, os.Getuid()))
	d = e.serve(hsmEnv, "--core-addr", "127.0.0.1:0")
	defer d.stop()
	brokerOut, errOut, err := e.run("", "credential-process", "edge")
	if err != nil {
		t.Fatalf("credential-process edge: %v\n%s\n%s", err, errOut, d.stderr.String())
	}
	if got, want := jsonKeys(t, []byte(brokerOut)), jsonKeys(t, helperOut); !slices.Equal(got, want) {
		t.Errorf("credential-process prints keys %v, AWS's helper %v", got, want)
	}
	var bo, ho struct {
		Version    int
		Expiration string
	}
	_ = json.Unmarshal([]byte(brokerOut), &bo)
	_ = json.Unmarshal(helperOut, &ho)
	exp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	if bo.Version != 1 || ho.Version != 1 || !exp.MatchString(bo.Expiration) || !exp.MatchString(ho.Expiration) {
		t.Errorf("credential-process %s; helper %s", brokerOut, helperOut)
	}
	conf = fmt.Sprintf("[profile edge]\nregion = us-east-1\ncredential_process = %s credential-process edge\n\n[profile hsm]\nregion = us-east-1\ncredential_process = %s credential-process hsm\n\n[profile tpm]\nregion = us-east-1\ncredential_process = %s credential-process tpm\n", e.bin, e.bin, e.bin)
	if err := os.WriteFile(filepath.Join(e.home, ".aws", "config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	stsEnv = []string{"AWS_ENDPOINT_URL_STS=http://" + d.eps.Core} // the restarted core's port
	for role, serial := range map[string]string{"edge": leaf.Cert.SerialNumber.Text(16), "hsm": hsmLeaf.Cert.SerialNumber.Text(16),
		"tpm": tpmLeaf.Cert.SerialNumber.Text(16)} {
		if arn := field(awsAs(stsEnv, "sts", "get-caller-identity", "--profile", role), "Arn"); arn != "arn:aws:sts::"+acct+":assumed-role/"+role+"/"+serial {
			t.Errorf("aws CLI with credbroker credential-process %s: %s", role, arn)
		}
	}
}
