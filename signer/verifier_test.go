package signer_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/signer"
)

var (
	signedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testKey  = aws.Credentials{
		AccessKeyID:     "ASIAQNZGKIQY56JQ7WML",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		SessionToken:    "FQoGZXIvYXdzEBYaDKHJ+session/token==",
	}
)

const stsBody = "Action=GetCallerIdentity&Version=2011-06-15"

// sdkRequest returns an STS POST signed by aws-sdk-go-v2 at signedAt (header auth, or
// presigned for 900 s), as net/http's server hands it to a handler, and its body.
// edit, if not nil, changes the client's request before signing.
func sdkRequest(t *testing.T, presign bool, edit func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8913/", strings.NewReader(stsBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if edit != nil {
		edit(req)
	}
	hash := payloadHash([]byte(stsBody))
	s := v4.NewSigner()
	if presign {
		req.Header.Set("X-Amz-Expires", "900")
		u, hdr, err := s.PresignHTTP(context.Background(), testKey, req, hash, "sts", "us-east-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		if req, err = http.NewRequest(http.MethodPost, u, strings.NewReader(stsBody)); err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if k != "Host" {
				req.Header[k] = v
			}
		}
	} else if err := s.SignHTTP(context.Background(), testKey, req, hash, "sts", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	return toServer(t, req)
}

// toServer writes a client request to the wire and parses it as a server does.
func toServer(t *testing.T, req *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, body, err := readRequest(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

// readRequest parses raw as net/http's server does, with the request's body.
func readRequest(raw []byte) (*http.Request, []byte, error) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r.Body)
	return r, body, err
}

// payloadHash is the hex SHA-256 of a body, as SigV4 signs it.
func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func staticLookup(creds aws.Credentials) signer.KeyLookup {
	return signer.KeyLookupFunc(func(_ context.Context, id, token string) (string, error) {
		if id != creds.AccessKeyID || token != creds.SessionToken {
			return "", signer.InvalidToken()
		}
		return creds.SecretAccessKey, nil
	})
}

func at(now time.Time) func(*signer.Options) {
	return func(o *signer.Options) { o.Now = func() time.Time { return now } }
}

func TestVerifyFailures(t *testing.T) {
	const (
		incomplete = signer.CodeIncompleteSignature
		mismatch   = signer.CodeSignatureDoesNotMatch
		expired    = signer.CodeRequestExpired
	)
	setAuth := func(from, to string) func(r *http.Request, _ *[]byte) {
		return func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), from, to, 1))
		}
	}
	setQuery := func(from, to string) func(r *http.Request, _ *[]byte) {
		return func(r *http.Request, _ *[]byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, from, to, 1)
			r.RequestURI = strings.Replace(r.RequestURI, from, to, 1)
		}
	}
	for name, tc := range map[string]struct {
		presign bool
		edit    func(r *http.Request, body *[]byte)
		opts    []func(*signer.Options)
		code    string
		message string
	}{
		"no authentication": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") },
			code: signer.CodeMissingAuthenticationToken, message: "Request is missing Authentication Token",
		},
		"another scheme": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Set("Authorization", "Bearer s3cr3t-bearer") },
			code: incomplete,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter.",
		},
		"no signature parameter": {
			edit: setAuth(", Signature=", ", Sig="), code: incomplete,
			message: "Authorization header requires 'Signature' parameter.",
		},
		"no date": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Del("X-Amz-Date") },
			code: incomplete, message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
		},
		"date not ISO-8601": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "yesterday") },
			code: incomplete, message: "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601",
		},
		"sigv4a": {
			edit: setAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), code: incomplete,
			message: "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'",
		},
		"duplicate parameter": {
			edit: setAuth(", Signature=", ", Signature=00, Signature="), code: incomplete,
			message: "Authorization header has a duplicate 'Signature' parameter.",
		},
		"four-element credential": {
			edit: setAuth("/us-east-1/", "/"), code: incomplete,
			message: "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'ASIAQNZGKIQY56JQ7WML/20240101/sts/aws4_request'",
		},
		"wrong terminator": {
			edit: setAuth("/aws4_request", "/aws5_request"), code: mismatch,
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
		},
		"scope date differs": {
			edit: setAuth("/20240101/", "/20240102/"), code: mismatch,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240102' != '20240101', from '20240101T000000Z'.",
		},
		"region not served": {
			opts: []func(*signer.Options){func(o *signer.Options) { o.Regions = []string{"eu-west-1"} }},
			code: mismatch, message: "Credential should be scoped to a valid region. ",
		},
		"service not served": {
			opts: []func(*signer.Options){func(o *signer.Options) { o.Services = []string{"iam"} }},
			code: mismatch, message: "Credential should be scoped to correct service: 'iam'. ",
		},
		"host not signed": {
			edit: setAuth("SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;"),
			code: incomplete, message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		"too many signed headers": {
			edit: setAuth("SignedHeaders=", "SignedHeaders="+strings.Repeat("x-a;", 300)), code: incomplete,
			message: "SignedHeaders lists more than 256 headers.",
		},
		"25 minutes late": {
			opts: []func(*signer.Options){at(signedAt.Add(25 * time.Minute))},
			code: expired, message: "Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T002500Z - 15 min.)",
		},
		"20 minutes early": {
			opts: []func(*signer.Options){at(signedAt.Add(-20 * time.Minute))},
			code: expired, message: "Signature not yet current: 20240101T000000Z is still later than 20231231T235500Z (20231231T234000Z + 15 min.)",
		},
		"15 minutes late is still in time":  {opts: []func(*signer.Options){at(signedAt.Add(15 * time.Minute))}},
		"15 minutes early is still in time": {opts: []func(*signer.Options){at(signedAt.Add(-15 * time.Minute))}},
		"unknown access key": {
			edit: setAuth("ASIAQNZGKIQY56JQ7WML", "ASIAQNZGKIQY56JQ7WMX"),
			code: signer.CodeInvalidClientTokenID, message: "The security token included in the request is invalid.",
		},
		"other session token": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Security-Token", "other") },
			code: signer.CodeInvalidClientTokenID, message: "The security token included in the request is invalid.",
		},
		"body changed": {
			edit: func(_ *http.Request, body *[]byte) {
				*body = []byte(strings.Replace(stsBody, "GetCallerIdentity", "AssumeRole", 1))
			},
			code: mismatch, message: "The request signature we calculated does not match the signature you provided. " +
				"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
		},
		"content hash header differs from body": {
			edit: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") },
			code: mismatch, message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
		},
		"two mechanisms": {
			edit: func(r *http.Request, _ *[]byte) { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" },
			code: incomplete, message: "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
				"Signature query string parameter or the Authorization header should be specified",
		},
		"presigned": {presign: true, opts: []func(*signer.Options){at(signedAt.Add(900 * time.Second))}},
		"presigned, expired": {
			presign: true, opts: []func(*signer.Options){at(signedAt.Add(901 * time.Second))},
			code: expired, message: "Request has expired.",
		},
		"presigned, 20 minutes early": {
			presign: true, opts: []func(*signer.Options){at(signedAt.Add(-20 * time.Minute))},
			code: expired, message: "Signature not yet current: 20240101T000000Z is still later than 20231231T235500Z (20231231T234000Z + 15 min.)",
		},
		"presigned, no signature": {
			presign: true, edit: setQuery("&X-Amz-Signature=", "&X-Amz-Sig="), code: incomplete,
			message: "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
		},
		"presigned, expires past a week": {
			presign: true, edit: setQuery("X-Amz-Expires=900", "X-Amz-Expires=604801"), code: incomplete,
			message: "X-Amz-Expires must be less than a week (in seconds) that is 604800",
		},
		"presigned, other algorithm": {
			presign: true, edit: setQuery("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"), code: incomplete,
			message: "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'",
		},
		"presigned, query changed": {
			presign: true, edit: setQuery("X-Amz-Expires=900", "X-Amz-Expires=901"), code: mismatch,
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, body := sdkRequest(t, tc.presign, nil)
			if tc.edit != nil {
				tc.edit(r, &body)
			}
			v := signer.New(staticLookup(testKey), append([]func(*signer.Options){at(signedAt)}, tc.opts...)...)
			res, err := v.Verify(context.Background(), r, body)
			if got := signer.CodeOf(err); got != tc.code {
				t.Fatalf("Verify: %v; want code %q", err, tc.code)
			}
			if tc.code == "" {
				if res.AccessKeyID != testKey.AccessKeyID || res.Presigned != tc.presign {
					t.Errorf("result %+v", res)
				}
				return
			}
			var e *signer.Error
			errors.As(err, &e)
			if tc.message != "" && e.Message != tc.message {
				t.Errorf("message\n got %q\nwant %q", e.Message, tc.message)
			}
			for _, secret := range []string{testKey.SecretAccessKey, testKey.SessionToken, "s3cr3t-bearer"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(e.CanonicalRequest+e.StringToSign, secret) {
					t.Errorf("error or its debug fields show %q", secret)
				}
			}
		})
	}
}

func TestSignatureMismatchDebugFields(t *testing.T) {
	r, body := sdkRequest(t, false, nil)
	wrong := testKey
	wrong.SecretAccessKey = "0000000000000000000000000000000000000000"
	_, err := signer.New(staticLookup(wrong), at(signedAt)).Verify(context.Background(), r, body)
	var e *signer.Error
	if !errors.As(err, &e) || e.Code != signer.CodeSignatureDoesNotMatch {
		t.Fatalf("err = %v, want SignatureDoesNotMatch", err)
	}
	wantCR := "POST\n/\n\ncontent-length:43\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n" +
		"host:127.0.0.1:8913\nx-amz-date:20240101T000000Z\nx-amz-security-token:REDACTED\n\n" +
		"content-length;content-type;host;x-amz-date;x-amz-security-token\n" + payloadHash([]byte(stsBody))
	if e.CanonicalRequest != wantCR {
		t.Errorf("CanonicalRequest\n got %q\nwant %q", e.CanonicalRequest, wantCR)
	}
	if !strings.HasPrefix(e.StringToSign, "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/sts/aws4_request\n") {
		t.Errorf("StringToSign = %q", e.StringToSign)
	}
	if strings.Contains(e.Error(), "POST") || strings.Contains(e.Error(), "AWS4-HMAC") {
		t.Errorf("Error() shows debug fields: %q", e.Error())
	}
}

func TestLookupErrors(t *testing.T) {
	r, body := sdkRequest(t, false, nil)
	expiredErr := signer.ExpiredToken()
	backend := errors.New("store unavailable")
	for name, tc := range map[string]struct {
		lookupErr error
		check     func(error) bool
	}{
		"*Error passes unchanged": {expiredErr, func(err error) bool { return err == expiredErr }},
		"wrapped *Error passes unchanged": {
			errWrap{expiredErr}, func(err error) bool { return signer.CodeOf(err) == signer.CodeExpiredToken },
		},
		"other errors are wrapped": {backend, func(err error) bool {
			return errors.Is(err, backend) && signer.CodeOf(err) == "" && strings.Contains(err.Error(), testKey.AccessKeyID)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			v := signer.New(signer.KeyLookupFunc(func(context.Context, string, string) (string, error) {
				return "", tc.lookupErr
			}), at(signedAt))
			if _, err := v.Verify(context.Background(), r, body); !tc.check(err) {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	empty := signer.New(signer.KeyLookupFunc(func(context.Context, string, string) (string, error) { return "", nil }), at(signedAt))
	if _, err := empty.Verify(context.Background(), r, body); err == nil || signer.CodeOf(err) != "" {
		t.Errorf("a lookup returning no secret and no error: %v, want an internal error", err)
	}
}

type errWrap struct{ err error }

func (e errWrap) Error() string { return "wrapped: " + e.err.Error() }
func (e errWrap) Unwrap() error { return e.err }

// TestKeyCacheFollowsTheSecret: the derived-key cache never serves a key derived from
// a secret the lookup no longer returns.
func TestKeyCacheFollowsTheSecret(t *testing.T) {
	current := testKey
	v := signer.New(signer.KeyLookupFunc(func(context.Context, string, string) (string, error) {
		return current.SecretAccessKey, nil
	}), at(signedAt))
	r, body := sdkRequest(t, false, nil)
	if _, err := v.Verify(context.Background(), r, body); err != nil {
		t.Fatal(err)
	}
	current.SecretAccessKey = "AnotherSecretAnotherSecretAnotherSecret0"
	if _, err := v.Verify(context.Background(), r, body); signer.CodeOf(err) != signer.CodeSignatureDoesNotMatch {
		t.Errorf("request signed with the old secret: %v, want SignatureDoesNotMatch", err)
	}
}

// TestRequestForms covers what the SDK does not send: a form-encoded query that is not
// canonical, and a client-side request that never went through a server. (botocore's
// forms, Date header included, are in TestBotocoreSignedRequestsVerify.)
func TestRequestForms(t *testing.T) {
	t.Run("form-encoded query", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8913/", nil)
		req.URL.RawQuery = "b=x+y&a=%7e&a=!&c"
		if err := v4.NewSigner().SignHTTP(context.Background(), testKey, req, emptyHash, "sts", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = "b=x+y&a=%7e&a=!&c" // the SDK rewrote it canonically; send the original
		sr, sbody := toServer(t, req)
		if sr.URL.RawQuery != "b=x+y&a=%7e&a=!&c" {
			t.Fatalf("query on the server: %q", sr.URL.RawQuery)
		}
		if _, err := signer.New(staticLookup(testKey), at(signedAt)).Verify(context.Background(), sr, sbody); err != nil {
			t.Fatalf("non-canonical query: %v", err)
		}
	})
	t.Run("client-side request", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8913/a%20b/c", strings.NewReader(stsBody))
		if err := v4.NewSigner().SignHTTP(context.Background(), testKey, req, payloadHash([]byte(stsBody)), "sts", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		if _, err := signer.New(staticLookup(testKey), at(signedAt)).Verify(context.Background(), req, []byte(stsBody)); err != nil {
			t.Fatalf("request never parsed by a server: %v", err)
		}
	})
}

var emptyHash = payloadHash(nil)

func TestKeyGenerator(t *testing.T) {
	g := signer.KeyGenerator{}
	seen := map[string]bool{}
	for range 200 {
		id, err := g.AccessKeyID(signer.PrefixSessionAccessKey)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := g.UniqueID(signer.PrefixRole)
		secret, _ := g.SecretAccessKey()
		if len(id) != 20 || !strings.HasPrefix(id, "ASIA") || strings.Trim(id[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("access key id %q is not AWS's shape", id)
		}
		if len(uid) != 21 || !strings.HasPrefix(uid, "AROA") {
			t.Fatalf("unique id %q is not AWS's shape", uid)
		}
		if len(secret) != 40 || strings.Trim(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != "" {
			t.Fatalf("secret is not AWS's shape (length %d)", len(secret))
		}
		if seen[id] || seen[secret] {
			t.Fatal("a repeat from crypto/rand")
		}
		seen[id], seen[secret] = true, true
	}
	if _, err := g.AccessKeyID("AKI"); err == nil {
		t.Error("a 3-character prefix was accepted")
	}
	if _, err := (signer.KeyGenerator{Rand: strings.NewReader("short")}).SecretAccessKey(); err == nil {
		t.Error("a reader that runs dry gave a secret")
	}
	fixed := signer.KeyGenerator{Rand: bytes.NewReader(make([]byte, 16))}
	if id, _ := fixed.AccessKeyID(signer.PrefixAccessKey); id != "AKIAAAAAAAAAAAAAAAAA" {
		t.Errorf("zero bytes gave %q, want AKIA and 16 A's", id)
	}
}

// TestVerifyConcurrent shares one Verifier (its pool and a key cache small enough to be
// reset constantly) between goroutines; run with -race.
func TestVerifyConcurrent(t *testing.T) {
	v := signer.New(staticLookup(testKey), at(signedAt), func(o *signer.Options) { o.KeyCacheSize = 2 })
	type signed struct {
		r    *http.Request
		body []byte
	}
	var reqs []signed
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"} {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8913/?x="+region, strings.NewReader(stsBody))
		if err := v4.NewSigner().SignHTTP(context.Background(), testKey, req, payloadHash([]byte(stsBody)), "sts", region, signedAt); err != nil {
			t.Fatal(err)
		}
		r, body := toServer(t, req)
		reqs = append(reqs, signed{r, body})
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				s := reqs[(g+i)%len(reqs)]
				if _, err := v.Verify(context.Background(), s.r, s.body); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
