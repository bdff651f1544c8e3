package oidc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseJWKS: a key set either parses into usable signing keys or fails; never a
// panic, never a key of an unsupported type.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"a","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := parseJWKS(doc)
		if err != nil {
			if len(keys) != 0 {
				t.Fatal("keys with an error")
			}
			return
		}
		for _, k := range keys {
			if !keyFits(k.pub, "RS256") && !keyFits(k.pub, "ES256") && !keyFits(k.pub, "EdDSA") {
				t.Fatalf("unusable key %T", k.pub)
			}
		}
	})
}

// FuzzVerify: any token against pinned keys is refused with an *Error (nothing here
// can sign), and the error never repeats the token.
func FuzzVerify(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lzcy5leGFtcGxlIiwic3ViIjoieCIsImF1ZCI6ImEiLCJleHAiOjk5OTk5OTk5OTl9.c2ln")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lzcy5leGFtcGxlIn0.")
	const iss = "https://iss.example"
	v := New(func(o *Options) {
		o.PinnedKeys = map[string][]byte{iss: []byte(`{"keys":[{"kty":"EC","kid":"k1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`)}
		o.Now = func() time.Time { return time.Unix(1700000000, 0) }
	})
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := v.Verify(context.Background(), raw, Provider{URL: iss, ClientIDs: []string{"a"}})
		var oe *Error
		if !errors.As(err, &oe) {
			t.Fatalf("err %v is not an *Error", err)
		}
		if len(raw) > 16 && strings.Contains(oe.Message, raw) {
			t.Fatal("message repeats the token")
		}
	})
}
