package sts_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/store"
)

// minterPolicy allows web identity tokens for one audience, five minutes at most.
const minterPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"Mint","Effect":"Allow","Action":"sts:GetWebIdentityToken","Resource":"*",
 "Condition":{"ForAllValues:StringEquals":{"sts:IdentityTokenAudience":"https://api.example.com"},"NumericLessThanEquals":{"sts:DurationSeconds":"300"}}}]}`

const decoderPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:DecodeAuthorizationMessage","Resource":"*"}]}`

// get fetches path from the core's listener without signing.
func (f *fixture) get(path string) (int, []byte) {
	f.t.Helper()
	resp, body := f.send(http.MethodGet, f.srv.URL+path, nil)
	return resp.StatusCode, body
}

// enableOutbound enables outbound web identity federation, as IAM's
// EnableOutboundWebIdentityFederation does.
func (f *fixture) enableOutbound() {
	f.t.Helper()
	f.update(func(tx *store.Tx) error {
		return tx.SetOutboundWebIdentityIssuer("https://0123abcd.tokens.sts.global.api.aws")
	})
}

// verifyWebToken checks raw with the key set the core publishes (found through its
// discovery document) for audience aud, as a relying party would.
func (f *fixture) verifyWebToken(raw, aud string) *oidc.Token {
	f.t.Helper()
	status, disc := f.get("/.well-known/openid-configuration")
	var d struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(disc, &d); status != 200 || err != nil {
		f.t.Fatalf("discovery: %d %s %v", status, disc, err)
	}
	if d.Issuer != f.srv.URL || d.JWKSURI != f.srv.URL+"/.well-known/jwks.json" {
		f.t.Fatalf("discovery document %s", disc)
	}
	status, jwks := f.get("/.well-known/jwks.json")
	if status != 200 {
		f.t.Fatalf("jwks: %d %s", status, jwks)
	}
	v := oidc.New(func(o *oidc.Options) {
		o.PinnedKeys = map[string][]byte{d.Issuer: jwks}
		o.Now = f.clock.Now
	})
	defer v.Close()
	tok, err := v.Verify(f.ctx, raw, oidc.Provider{URL: d.Issuer, ClientIDs: []string{aud}})
	if err != nil {
		f.t.Fatalf("verifying the token with the published keys: %v", err)
	}
	return tok
}

func TestGetWebIdentityToken(t *testing.T) {
	f := newFixture(t)
	minter := f.user("minter", map[string]string{"mint": minterPolicy}, account.Tag{Key: "team", Value: "blue"})
	decoder := f.user("decoder", map[string]string{"decode": decoderPolicy})
	nobody := f.user("nobody", nil)

	// Disabled until the account enables outbound federation, as AWS's.
	_, err := f.client(minter).GetWebIdentityToken(f.ctx, &awssts.GetWebIdentityTokenInput{
		Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("RS256")})
	assertAPIErrorContains(t, err, "OutboundWebIdentityFederationDisabledException", "not enabled")
	f.enableOutbound()

	for _, alg := range []string{"RS256", "ES384"} {
		out, err := f.client(minter).GetWebIdentityToken(f.ctx, &awssts.GetWebIdentityTokenInput{
			Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String(alg),
			Tags: []types.Tag{{Key: aws.String("job"), Value: aws.String("42")}},
		})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if want := f.clock.Now().Add(5 * time.Minute); !out.Expiration.Equal(want) {
			t.Errorf("%s: Expiration %v, want %v (the default five minutes)", alg, out.Expiration, want)
		}
		tok := f.verifyWebToken(*out.WebIdentityToken, "https://api.example.com")
		if tok.Subject != "arn:aws:iam::123456789012:user/minter" {
			t.Errorf("%s: sub %q", alg, tok.Subject)
		}
		header, _, _ := strings.Cut(*out.WebIdentityToken, ".")
		if !strings.Contains(string(mustB64(t, base64.RawURLEncoding, header)), `"alg":"`+alg+`"`) {
			t.Errorf("%s: header %s", alg, mustB64(t, base64.RawURLEncoding, header))
		}
		ns, _ := tok.Claims["https://sts.amazonaws.com/"].(map[string]any)
		want := `{"aws_account":"123456789012","principal_tags":{"team":"blue"},"request_tags":{"job":"42"},"source_region":"us-east-1"}`
		if got, _ := json.Marshal(ns); string(got) != want {
			t.Errorf("%s: AWS claims %s, want %s", alg, got, want)
		}
	}

	cases := map[string]struct {
		creds   aws.Credentials
		in      awssts.GetWebIdentityTokenInput
		code    string
		msg     string
		decoded string // a part of the decoded message of an encoded denial
	}{
		"audience not allowed": {minter, awssts.GetWebIdentityTokenInput{Audience: []string{"https://evil.example.com"}, SigningAlgorithm: aws.String("RS256")},
			"AccessDenied", "User: arn:aws:iam::123456789012:user/minter is not authorized to perform: sts:GetWebIdentityToken. Encoded authorization failure message: ",
			`{"key":"sts:IdentityTokenAudience","values":{"items":[{"value":"https://evil.example.com"}]}}`},
		"too long": {minter, awssts.GetWebIdentityTokenInput{Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(600)},
			"AccessDenied", "Encoded authorization failure message: ", `{"key":"sts:DurationSeconds","values":{"items":[{"value":"600"}]}}`},
		"no policy": {nobody, awssts.GetWebIdentityTokenInput{Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("ES384")},
			"AccessDenied", "Encoded authorization failure message: ", `"context":{"principal":{"id":"AIDA`},
		"unknown algorithm": {minter, awssts.GetWebIdentityTokenInput{Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("HS256")},
			"ValidationError", "Member must satisfy enum value set: [RS256, ES384]", ""},
		"too short": {minter, awssts.GetWebIdentityTokenInput{Audience: []string{"a"}, SigningAlgorithm: aws.String("RS256"), DurationSeconds: aws.Int32(59)},
			"ValidationError", "Member must have value greater than or equal to 60", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.client(c.creds).GetWebIdentityToken(f.ctx, &c.in)
			assertAPIErrorContains(t, err, c.code, c.msg)
			if c.decoded == "" {
				return
			}
			enc := encodedMessage(t, err)
			out, err := f.client(decoder).DecodeAuthorizationMessage(f.ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: &enc})
			if err != nil {
				t.Fatal(err)
			}
			var msg struct {
				Allowed, ExplicitDeny bool
				Context               struct{ Action, Resource string }
			}
			if err := json.Unmarshal([]byte(*out.DecodedMessage), &msg); err != nil {
				t.Fatalf("%v: %s", err, *out.DecodedMessage)
			}
			if msg.Allowed || msg.ExplicitDeny || msg.Context.Action != "sts:GetWebIdentityToken" || msg.Context.Resource != "*" ||
				!strings.Contains(*out.DecodedMessage, c.decoded) {
				t.Errorf("decoded message %s, want it to contain %s", *out.DecodedMessage, c.decoded)
			}
		})
	}
}

func TestGetWebIdentityTokenRoleSession(t *testing.T) {
	f := newFixture(t)
	f.enableOutbound()
	role := f.role("minting", trustAccount, 0, map[string]string{"mint": minterPolicy})
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	out, err := f.client(alice).AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: &role.ARN, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	sess := f.client(sessionCreds(out.Credentials))
	tok, err := sess.GetWebIdentityToken(f.ctx, &awssts.GetWebIdentityTokenInput{Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("ES384")})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.verifyWebToken(*tok.WebIdentityToken, "https://api.example.com").Subject; got != role.ARN {
		t.Errorf("sub %q, want the role's ARN %s", got, role.ARN)
	}
	f.clock.Advance(12 * time.Minute) // three minutes of the session left
	_, err = sess.GetWebIdentityToken(f.ctx, &awssts.GetWebIdentityTokenInput{Audience: []string{"https://api.example.com"}, SigningAlgorithm: aws.String("ES384")})
	assertAPIErrorContains(t, err, "SessionDurationEscalationException", "beyond its original expiration time")
}

func TestDecodeAuthorizationMessage(t *testing.T) {
	f := newFixture(t)
	decoder := f.user("decoder", map[string]string{"decode": decoderPolicy})
	nobody := f.user("nobody", nil)
	_, err := f.client(nobody).GetWebIdentityToken(f.ctx, &awssts.GetWebIdentityTokenInput{Audience: []string{"x"}, SigningAlgorithm: aws.String("RS256")})
	enc := encodedMessage(t, err)

	cases := map[string]struct {
		creds aws.Credentials
		msg   string
		code  string
	}{
		"decoded":            {decoder, enc, ""},
		"caller not allowed": {nobody, enc, "AccessDenied"},
		"tampered":           {decoder, enc[:len(enc)-4] + "AAAA", "InvalidAuthorizationMessageException"},
		"not base64":         {decoder, "not a message!", "InvalidAuthorizationMessageException"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := f.client(c.creds).DecodeAuthorizationMessage(f.ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(c.msg)})
			if c.code != "" {
				assertAPIErrorContains(t, err, c.code, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(*out.DecodedMessage, `"arn":"arn:aws:iam::123456789012:user/nobody"`) {
				t.Errorf("decoded %s", *out.DecodedMessage)
			}
		})
	}
	// A day later the message has expired (signed at the core's time).
	f.clock.Advance(25 * time.Hour)
	status, body := f.rawCall(decoder, "sts", "Action=DecodeAuthorizationMessage&Version=2011-06-15&EncodedMessage="+enc, f.clock.Now())
	if code, _ := errorOf(t, body); status != 400 || code != "InvalidAuthorizationMessageException" {
		t.Errorf("a day later: %d %s", status, body)
	}
	// Another account's core (another key) cannot read the message.
	g := newFixture(t)
	other := g.user("decoder", map[string]string{"decode": decoderPolicy})
	_, err = g.client(other).DecodeAuthorizationMessage(g.ctx, &awssts.DecodeAuthorizationMessageInput{EncodedMessage: &enc})
	assertAPIErrorContains(t, err, "InvalidAuthorizationMessageException", "")
}

func TestAssumeRoot(t *testing.T) {
	f := newFixture(t)
	const rootPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoot","Resource":"arn:aws:iam::*:root"}]}`
	admin := f.user("admin", map[string]string{"root": rootPolicy})
	nobody := f.user("nobody", nil)
	var root aws.Credentials
	f.update(func(tx *store.Tx) error {
		k, err := tx.CreateAccessKey(account.RootUserName)
		root = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	})
	audit := "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
	cases := map[string]struct {
		creds        aws.Credentials
		target, task string
		code, msg    string
	}{
		"allowed, but no organization": {admin, "111122223333", audit, "AccessDenied",
			"User: arn:aws:iam::123456789012:user/admin is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::111122223333:root"},
		"no policy": {nobody, "111122223333", audit, "AccessDenied",
			"User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::111122223333:root"},
		"root user":           {root, "111122223333", audit, "AccessDenied", "You cannot use root user credentials to call AssumeRoot."},
		"not a task policy":   {admin, "111122223333", "arn:aws:iam::aws:policy/AdministratorAccess", "InvalidParameterValue", "is not a root task policy"},
		"not an account":      {admin, "user/someone", audit, "ValidationError", "Member must be a 12-digit account id"},
		"duration over limit": {admin, "111122223333", audit, "", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := &awssts.AssumeRootInput{TargetPrincipal: aws.String(c.target), TaskPolicyArn: &types.PolicyDescriptorType{Arn: aws.String(c.task)}}
			if c.code == "" {
				in.DurationSeconds = aws.Int32(901)
				c.code, c.msg = "ValidationError", "Member must have value less than or equal to 900"
			}
			_, err := f.client(c.creds).AssumeRoot(f.ctx, in)
			assertAPIErrorContains(t, err, c.code, c.msg)
		})
	}
}

func TestGetDelegatedAccessToken(t *testing.T) {
	f := newFixture(t)
	u := f.user("u", nil)
	_, err := f.client(u).GetDelegatedAccessToken(f.ctx, &awssts.GetDelegatedAccessTokenInput{TradeInToken: aws.String("made-up")})
	assertAPIErrorContains(t, err, "InvalidParameterValue", "The trade-in token is not valid")
}

// assertAPIErrorContains checks err's code, and that its message contains msg.
func assertAPIErrorContains(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %s: %q\nwant  %s containing %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// encodedMessage returns the encoded authorization failure message that ends err's.
func encodedMessage(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	_, enc, ok := strings.Cut(ae.ErrorMessage(), "Encoded authorization failure message: ")
	if !ok || enc == "" {
		t.Fatalf("no encoded message in %q", ae.ErrorMessage())
	}
	return enc
}

func mustB64(t *testing.T, enc *base64.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
