package rolesanywhere

import (
	"crypto/x509"
	"encoding/json"
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

// FuzzManagementInput: the management API's JSON bodies never panic the readers, and
// a profile they accept keeps AWS's bounds.
func FuzzManagementInput(f *testing.F) {
	f.Add(`{"name":"p","roleArns":["arn:aws:iam::1:role/r"],"durationSeconds":900,"tags":[{"key":"k","value":"v"}]}`)
	f.Add(`{"durationSeconds":"x","sessionPolicy":"{","source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":"-----BEGIN CERTIFICATE-----"}}}`)
	f.Add(`{"crlData":"AAAA","enabled":"yes"}`)
	f.Add(`{"notificationSettings":[{"event":"CA_CERTIFICATE_EXPIRY","enabled":true,"threshold":0,"channel":"X"}],"mappingRules":[{"specifier":"Name/*"}]}`)
	f.Add(`{"source":{"sourceType":"AWS_ACM_PCA","sourceData":{"acmPcaArn":"arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		in := &input{}
		if json.Unmarshal([]byte(body), &in.json) != nil {
			return
		}
		var p profile
		if err := in.profileFields(&p); err == nil && p.DurationSeconds != 0 && (p.DurationSeconds < 900 || p.DurationSeconds > 43200) {
			t.Fatalf("accepted durationSeconds %d", p.DurationSeconds)
		}
		_, _ = in.name()
		_, _ = in.tags()
		var src source
		if ok, err := in.decode("source", &src); ok && err == nil {
			_ = checkSource(src)
		}
		var set []notificationSetting
		if ok, err := in.decode("notificationSettings", &set); ok && err == nil {
			ns, err := applyNotifications(nil, set, "123456789012")
			for _, n := range ns {
				if err == nil && (n.Channel != channelAll || n.Threshold == nil || *n.Threshold < 1 || *n.Threshold > 360) {
					t.Fatalf("accepted notification setting %+v", n)
				}
			}
		}
		var rules []mappingRule
		if ok, err := in.decode("mappingRules", &rules); ok && err == nil {
			_ = certTags(&x509.Certificate{}, []attributeMapping{{CertificateField: fieldSAN, MappingRules: rules}})
		}
		var data []byte
		if ok, err := in.decode("crlData", &data); ok && err == nil {
			_, _ = parseCRL(data)
		}
	})
}
