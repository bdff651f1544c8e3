package sts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/sts/store"
)

// verifyJWTScript verifies a GetWebIdentityToken token as a relying party written in
// Python would: the discovery document names the key set, the key set the key, and
// the signature is checked with the cryptography package. A token with a changed
// payload must fail.
const verifyJWTScript = `
import base64, json, sys, urllib.request
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
def b64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def num(s): return int.from_bytes(b64(s), "big")
tok, base, aud = sys.argv[1:4]
disc = json.load(urllib.request.urlopen(base + "/.well-known/openid-configuration"))
jwks = json.load(urllib.request.urlopen(disc["jwks_uri"]))
h, p, s = tok.split(".")
header, claims = json.loads(b64(h)), json.loads(b64(p))
key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
def verify(data, sig):
    if key["kty"] == "RSA":
        pub = rsa.RSAPublicNumbers(num(key["e"]), num(key["n"])).public_key()
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        pub = ec.EllipticCurvePublicNumbers(num(key["x"]), num(key["y"]), {"P-384": ec.SECP384R1()}[key["crv"]]).public_key()
        n = len(sig) // 2
        pub.verify(utils.encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big")), data, ec.ECDSA(hashes.SHA384()))
verify((h + "." + p).encode(), b64(s))
forged = base64.urlsafe_b64encode(json.dumps(dict(claims, sub="arn:aws:iam::123456789012:user/mallory")).encode()).decode().rstrip("=")
try:
    verify((h + "." + forged).encode(), b64(s))
    tampered = "accepted"
except InvalidSignature:
    tampered = "rejected"
print(json.dumps({"alg": header["alg"], "key_alg": key["alg"], "iss_ok": claims["iss"] == disc["issuer"], "aud": claims["aud"],
                  "sub": claims["sub"], "tampered": tampered}))
`

// TestEndToEndOutboundToken: the aws CLI gets a web identity token from the core and a
// Python relying party verifies it against the key set the core publishes.
func TestEndToEndOutboundToken(t *testing.T) {
	e := newE2E(t)
	if err := exec.Command(e.python, "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 cryptography is not installed (apt-get install python3-cryptography)")
	}
	base := e.env()
	if err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		return tx.SetOutboundWebIdentityIssuer("https://0123abcd.tokens.sts.global.api.aws")
	}); err != nil {
		t.Fatal(err)
	}
	// The audience is not a URL: the aws CLI v1 fetches parameters that are.
	for _, alg := range []string{"RS256", "ES384"} {
		var out struct{ WebIdentityToken, Expiration string }
		e.runJSON(base, &out, "sts", "get-web-identity-token", "--profile", "admin",
			"--audience", "api.example.com", "--signing-algorithm", alg, "--duration-seconds", "120")
		exp, err := time.Parse(time.RFC3339, out.Expiration)
		if err != nil || time.Until(exp) > 2*time.Minute+5*time.Second || time.Until(exp) < time.Minute {
			t.Errorf("%s: Expiration %q (%v)", alg, out.Expiration, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, e.python, "-c", verifyJWTScript, out.WebIdentityToken, e.url, "api.example.com")
		cmd.Env = base
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		res, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: verifying in Python: %v\n%s", alg, err, stderr.String())
		}
		var got map[string]any
		if err := json.Unmarshal(res, &got); err != nil {
			t.Fatalf("%v: %s", err, res)
		}
		want := map[string]any{"alg": alg, "key_alg": alg, "iss_ok": true, "aud": "api.example.com",
			"sub": e.dev.RoleARN, "tampered": "rejected"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", alg, k, got[k], v)
			}
		}
	}
}

// TestEndToEndDecodeAuthorizationMessage: a denial's encoded message, as the aws CLI
// prints it, decoded with the aws CLI by a caller allowed to.
func TestEndToEndDecodeAuthorizationMessage(t *testing.T) {
	e := newE2E(t)
	base := e.env()
	_, stderr, code := e.run(base, "sts", "get-web-identity-token", "--profile", "intruder",
		"--audience", "api.example.com", "--signing-algorithm", "RS256")
	const marker = "Encoded authorization failure message: "
	want := "An error occurred (AccessDenied) when calling the GetWebIdentityToken operation: User: arn:aws:iam::123456789012:user/intruder is not authorized to perform: sts:GetWebIdentityToken. " + marker
	if code == 0 || !strings.Contains(stderr, want) {
		t.Fatalf("denied get-web-identity-token: exit %d\n%s", code, stderr)
	}
	_, enc, _ := strings.Cut(strings.TrimSpace(stderr), marker)

	var out struct{ DecodedMessage string }
	e.runJSON(base, &out, "sts", "decode-authorization-message", "--profile", "admin", "--encoded-message", enc)
	var msg struct {
		Allowed      bool `json:"allowed"`
		ExplicitDeny bool `json:"explicitDeny"`
		Context      struct {
			Principal struct{ ARN string } `json:"principal"`
			Action    string               `json:"action"`
		} `json:"context"`
	}
	if err := json.Unmarshal([]byte(out.DecodedMessage), &msg); err != nil {
		t.Fatalf("%v: %s", err, out.DecodedMessage)
	}
	if msg.Allowed || msg.ExplicitDeny || msg.Context.Action != "sts:GetWebIdentityToken" ||
		msg.Context.Principal.ARN != "arn:aws:iam::123456789012:user/intruder" {
		t.Errorf("decoded message %s", out.DecodedMessage)
	}

	// The intruder may not read it, and a changed message is refused.
	_, stderr, code = e.run(base, "sts", "decode-authorization-message", "--profile", "intruder", "--encoded-message", enc)
	if code == 0 || !strings.Contains(stderr, "(AccessDenied)") {
		t.Errorf("intruder decoding: exit %d\n%s", code, stderr)
	}
	changed := "A" + enc[1:]
	if enc[0] == 'A' { // a change must change it
		changed = "B" + enc[1:]
	}
	_, stderr, code = e.run(base, "sts", "decode-authorization-message", "--profile", "admin", "--encoded-message", changed)
	if code == 0 || !strings.Contains(stderr, "(InvalidAuthorizationMessageException)") {
		t.Errorf("changed message: exit %d\n%s", code, stderr)
	}
}
