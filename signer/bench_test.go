package signer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/signer/session"
)

const assumeRoleBody = "Action=AssumeRole&DurationSeconds=3600&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdev-admin" +
	"&RoleSessionName=credbroker-1704067200&Version=2011-06-15"

// benchSession seals the session the benchmark request is signed with: a role session
// as the core mints it.
func benchSession(b *testing.B) (*session.Sealer, aws.Credentials) {
	b.Helper()
	sealer, err := session.New(session.Key{ID: "k1", Secret: []byte(strings.Repeat("k", 32))},
		func(o *session.Options) { o.Now = func() time.Time { return signedAt } })
	if err != nil {
		b.Fatal(err)
	}
	c := &session.Claims{
		Kind:         session.KindAssumedRole,
		AccountID:    "123456789012",
		PrincipalARN: "arn:aws:sts::123456789012:assumed-role/ci-runner/github-actions-4711",
		IdentityARN:  "arn:aws:iam::123456789012:role/ci-runner",
		UniqueID:     "AROA3XFRBF535PLBIFPI4:github-actions-4711",
		AccessKeyID:  "ASIA3XFRBF53QWERTYUI",
		IssuedAt:     signedAt.Add(-time.Minute),
		Expiry:       signedAt.Add(time.Hour),
		CallerARN:    "arn:aws:iam::123456789012:user/ci",
	}
	token, secret, err := sealer.Seal(c)
	if err != nil {
		b.Fatal(err)
	}
	return sealer, aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: secret, SessionToken: token}
}

// assumeRoleRequest is STS AssumeRole as aws-sdk-go-v2 sends it: form POST, SDK headers,
// signed with a session token.
func assumeRoleRequest() *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8913/", strings.NewReader(assumeRoleBody))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/sts#1.33.19 m/E")
	req.Header.Set("Amz-Sdk-Invocation-Id", "5f4b2e2c-6a50-4c36-b0b0-1c7c2d3c4e5f")
	req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	return req
}

var assumeRoleHash = payloadHash([]byte(assumeRoleBody))

// BenchmarkVerifyHeaderAuth verifies the AssumeRole request, as the server parsed it,
// with a lookup that costs nothing (the session token's Open is measured by
// BenchmarkVerifyHeaderAuthSessionLookup and in signer/session).
func BenchmarkVerifyHeaderAuth(b *testing.B) {
	_, creds := benchSession(b)
	benchVerifyAssumeRole(b, creds, staticLookup(creds))
}

// benchVerifyAssumeRole verifies the AssumeRole request signed with creds,
// finding the secret with lookup.
func benchVerifyAssumeRole(b *testing.B, creds aws.Credentials, lookup signer.KeyLookup) {
	req := assumeRoleRequest()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, assumeRoleHash, "sts", "us-east-1", signedAt); err != nil {
		b.Fatal(err)
	}
	r, body := toServer(&testing.T{}, req)
	v := signer.New(lookup, at(signedAt))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSDKSignSameRequest is BenchmarkVerifyHeaderAuth's baseline: aws-sdk-go-v2's
// v4 signer signing the same request (payload hash given, as its middleware passes it).
func BenchmarkSDKSignSameRequest(b *testing.B) {
	_, creds := benchSession(b)
	req := assumeRoleRequest()
	sdk := v4.NewSigner()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := sdk.SignHTTP(ctx, creds, req, assumeRoleHash, "sts", "us-east-1", signedAt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeaderAuthSessionLookup is what the core pays per session-signed
// request: Verify with a lookup that opens the session token and derives its secret.
func BenchmarkVerifyHeaderAuthSessionLookup(b *testing.B) {
	sealer, creds := benchSession(b)
	benchVerifyAssumeRole(b, creds, signer.KeyLookupFunc(func(_ context.Context, id, token string) (string, error) {
		_, secret, err := sealer.Lookup(id, token)
		return secret, err
	}))
}

// BenchmarkVerifyPresigned verifies a presigned GetCallerIdentity URL (the shape EKS
// and Vault use for identity proofs).
func BenchmarkVerifyPresigned(b *testing.B) {
	_, creds := benchSession(b)
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8913/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	req.Header.Set("X-Amz-Expires", "60")
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptyHash, "sts", "us-east-1", signedAt)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		if k != "Host" {
			out.Header[k] = v
		}
	}
	r, body := toServer(&testing.T{}, out)
	v := signer.New(staticLookup(creds), at(signedAt))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}
