package rolesanywhere

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseX509Auth: the X.509 Authorization header is outside input; parsing never
// panics, and what it accepts is well formed.
func FuzzParseX509Auth(f *testing.F) {
	f.Add("AWS4-X509-RSA-SHA256 Credential=123/20260101/us-east-1/rolesanywhere/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff")
	f.Add("AWS4-X509-ECDSA-SHA256 Credential=/////, SignedHeaders=, Signature=zz")
	f.Add("AWS4-HMAC-SHA256 Credential=a")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseX509Auth(h)
		if err != nil {
			return
		}
		if a.service != ServiceName || a.signedHeaders == "" || len(a.signature) == 0 || (a.alg != AlgRSA && a.alg != AlgECDSA) {
			t.Fatalf("accepted %q as %+v", h, a)
		}
	})
}

// FuzzSessionInput: CreateSession's query and body, and the certificate headers,
// never panic the parsers.
func FuzzSessionInput(f *testing.F) {
	f.Add("profileArn=a&roleArn=b&trustAnchorArn=c", `{"durationSeconds":900,"roleSessionName":"x"}`, "MIIB")
	f.Add("", `{"durationSeconds":"x"}`, "!!")
	f.Fuzz(func(t *testing.T, q, body, cert string) {
		r := httptest.NewRequest("POST", "/sessions", nil)
		r.URL.RawQuery = q
		in, err := readSessionRequest(r, []byte(body))
		if err == nil && (in.ProfileARN == "" || in.RoleARN == "" || in.TrustAnchorARN == "") {
			t.Fatalf("accepted a request without its ARNs: %+v", in)
		}
		_, _ = parseCertHeader(cert)
		for _, v := range strings.Split(cert, ",") {
			_, _ = parseCertHeader(v)
		}
		_, _, _ = parseEntityARN(q, "123456789012")
	})
}
