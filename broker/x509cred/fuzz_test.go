package x509cred

import (
	"net/http"
	"testing"
)

// FuzzParseResponse: Roles Anywhere's answer is outside input; parsing never panics,
// and a session it accepts has a key and an expiration.
func FuzzParseResponse(f *testing.F) {
	f.Add(201, "", `{"credentialSet":[{"credentials":{"accessKeyId":"ASIA","secretAccessKey":"s","sessionToken":"t","expiration":"2030-01-01T00:00:00Z"}}]}`)
	f.Add(403, "AccessDeniedException", `{"message":"Certificate revoked"}`)
	f.Add(500, "", `not json`)
	f.Fuzz(func(t *testing.T, status int, code, body string) {
		h := http.Header{}
		h.Set("X-Amzn-ErrorType", code)
		c, err := parseResponse(status, h, []byte(body), "arn:aws:iam::123456789012:role/r")
		if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Expires.IsZero()) {
			t.Fatalf("accepted %q as %+v", body, c)
		}
		if err == nil && status/100 != 2 {
			t.Fatalf("status %d accepted", status)
		}
	})
}
