package config

import (
	"strings"
	"testing"
)

// TestX509Source: an x509 source reads its certificate, key (a file or a PKCS #11
// token), anchor and profile; the region comes from the anchor's ARN; mistakes name
// the fix.
func TestX509Source(t *testing.T) {
	const anchor = `trust_anchor_arn = "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/aaaa"
  profile_arn = "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/bbbb"`
	src := `source "x509" "edge" {
  certificate = "/etc/credbroker/edge.pem"
  private_key = "/etc/credbroker/edge.key"
  ` + anchor + `
}
source "x509" "hsm" {
  certificate   = "/etc/credbroker/hsm.pem"
  pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
  pkcs11_token  = "edge"
  pkcs11_key    = "edge-key"
  pin_file      = "/run/credentials/credbroker.service/pin"
  endpoint      = "https://rolesanywhere.example"
  region        = "us-east-2"
  ` + anchor + `
}
source "x509" "tpm" {
  certificate    = "/etc/credbroker/tpm.pem"
  tpm_device     = "/dev/tpmrm0"
  tpm_key_handle = "0x81000100"
  ` + anchor + `
}
role "r" {
  arn    = "arn:aws:iam::123456789012:role/r"
  source = "edge"
}
`
	cfg := parseOK(t, src)
	e, h := cfg.Source("edge"), cfg.Source("hsm")
	if e.Kind != SourceX509 || e.PrivateKey != "/etc/credbroker/edge.key" || e.Region != "eu-west-1" || e.ProfileARN == "" {
		t.Errorf("edge: %+v", e)
	}
	if tp := cfg.Source("tpm"); tp.TPMDevice != "/dev/tpmrm0" || tp.TPMKeyHandle != "0x81000100" {
		t.Errorf("tpm: %+v", tp)
	}
	if h.PKCS11Module != "/usr/lib/softhsm/libsofthsm2.so" || h.PKCS11Key != "edge-key" || h.Region != "us-east-2" || h.Endpoint != "https://rolesanywhere.example" {
		t.Errorf("hsm: %+v", h)
	}

	for name, tc := range map[string]struct{ body, want string }{
		"no key":         {`certificate = "/c.pem"` + "\n" + anchor, "Missing key"},
		"two keys":       {`certificate = "/c.pem"` + "\n" + `private_key = "/k"` + "\n" + `pkcs11_module = "/m.so"` + "\n" + anchor, "Two keys"},
		"half a token":   {`certificate = "/c.pem"` + "\n" + `pkcs11_module = "/m.so"` + "\n" + anchor, "Incomplete token"},
		"token and TPM":  {`certificate = "/c.pem"` + "\n" + `tpm_device = "/dev/tpmrm0"` + "\n" + `pkcs11_module = "/m.so"` + "\n" + anchor, "Two keys"},
		"TPM handle":     {`certificate = "/c.pem"` + "\n" + `tpm_device = "/dev/tpmrm0"` + "\n" + `tpm_key_handle = "0x80000001"` + "\n" + anchor, "Incomplete TPM key"},
		"TPM device":     {`certificate = "/c.pem"` + "\n" + `tpm_key_handle = "0x81000001"` + "\n" + anchor, "Incomplete TPM key"},
		"relative":       {`certificate = "c.pem"` + "\n" + `private_key = "/k"` + "\n" + anchor, "absolute path"},
		"no certificate": {`private_key = "/k"` + "\n" + anchor, "Missing certificate"},
		"bad anchor":     {`certificate = "/c.pem"` + "\n" + `private_key = "/k"` + "\n" + `trust_anchor_arn = "x"` + "\n" + `profile_arn = "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/b"`, "trust_anchor_arn = arn:aws:rolesanywhere"},
		"keyring attr":   {`certificate = "/c.pem"` + "\n" + `private_key = "/k"` + "\n" + `key = "k"` + "\n" + anchor, "does not belong"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte("source \"x509\" \"s\" {\n"+tc.body+"\n}\n"), "c.hcl", env(userEnv, nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
