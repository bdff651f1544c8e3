package oidc_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/oidc/oidctest"
)

func kindOf(err error) oidc.Kind {
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return 0
}

func TestVerifyDiscovery(t *testing.T) {
	k1 := oidctest.NewRSAKey(t, "k1")
	ec := oidctest.NewECKey(t, "ec1")
	iss := oidctest.NewIssuer(t, k1, ec)
	clk := clocktest.New(time.Now().Truncate(time.Second))
	v := oidc.New(func(o *oidc.Options) { o.HTTPClient = iss.Client(); o.Now = clk.Now })
	defer v.Close()
	ctx := context.Background()
	prov := oidc.Provider{URL: iss.URL(), ClientIDs: []string{"https://gitlab.example.com", "other"}}
	claims := oidctest.GitLabClaims(iss.URL(), "https://gitlab.example.com", "mygroup/myproject", "main", clk.Now())

	tok, err := v.Verify(ctx, oidctest.Sign(t, k1, claims), prov)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Subject != "project_path:mygroup/myproject:ref_type:branch:ref:main" || tok.Issuer != iss.URL() ||
		len(tok.Audience) != 1 || tok.Claims["project_path"] != "mygroup/myproject" {
		t.Errorf("token %+v", tok)
	}
	if _, err := v.Verify(ctx, oidctest.Sign(t, ec, claims), prov); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	if n := iss.Fetches.Load(); n != 1 {
		t.Errorf("%d key set fetches, want 1 (cached)", n)
	}

	other := oidctest.NewRSAKey(t, "k1") // same kid, another key
	bad := func(mut func(m map[string]any)) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		mut(c)
		return c
	}
	cases := map[string]struct {
		token string
		prov  oidc.Provider
		kind  oidc.Kind
		msg   string
	}{
		"forged signature": {oidctest.Sign(t, other, claims), prov, oidc.Invalid, ""},
		"wrong audience":   {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["aud"] = "nope" })), prov, oidc.Invalid, "Incorrect token audience"},
		"audience list":    {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["aud"] = []any{"x", "other"} })), prov, 0, ""},
		"expired": {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["exp"] = clk.Now().Add(-time.Second).Unix() })), prov, oidc.Expired,
			"Token expired: current date/time " + itoa(clk.Now().Unix()) + " must be before the expiration date/time " + itoa(clk.Now().Add(-time.Second).Unix())},
		"no expiry":         {oidctest.Sign(t, k1, bad(func(m map[string]any) { delete(m, "exp") })), prov, oidc.Invalid, ""},
		"not yet valid":     {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["nbf"] = clk.Now().Add(time.Hour).Unix() })), prov, oidc.Invalid, ""},
		"other issuer":      {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["iss"] = "https://evil.example" })), prov, oidc.Invalid, ""},
		"no subject":        {oidctest.Sign(t, k1, bad(func(m map[string]any) { delete(m, "sub") })), prov, oidc.Invalid, ""},
		"not a JWT":         {"abc", prov, oidc.Invalid, ""},
		"too long":          {strings.Repeat("a", oidc.MaxTokenLength+1), prov, oidc.Invalid, ""},
		"alg none":          {noneToken(t, claims), prov, oidc.Invalid, ""},
		"alg HS256":         {hsToken(t, claims), prov, oidc.Invalid, ""},
		"trailing slash ok": {oidctest.Sign(t, k1, bad(func(m map[string]any) { m["iss"] = iss.URL() + "/" })), prov, 0, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(ctx, c.token, c.prov)
			if c.kind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if kindOf(err) != c.kind {
				t.Fatalf("err %v, want kind %d", err, c.kind)
			}
			var oe *oidc.Error
			errors.As(err, &oe)
			if c.msg != "" && oe.Message != c.msg {
				t.Errorf("message %q, want %q", oe.Message, c.msg)
			}
			if strings.Contains(err.Error(), c.token) && len(c.token) > 20 {
				t.Error("error repeats the token")
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func noneToken(t *testing.T, claims map[string]any) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims))
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hsToken(t *testing.T, claims map[string]any) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims))
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString([]byte("a shared secret of thirty-two bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// An unknown kid makes the verifier fetch the key set again, at most once per
// MinRefetchInterval: a stream of forged kids costs the issuer one request a minute.
func TestRefetchOnUnknownKidIsRateLimited(t *testing.T) {
	k1, k2 := oidctest.NewRSAKey(t, "k1"), oidctest.NewRSAKey(t, "k2")
	iss := oidctest.NewIssuer(t, k1)
	clk := clocktest.New(time.Now().Truncate(time.Second))
	v := oidc.New(func(o *oidc.Options) {
		o.HTTPClient = iss.Client()
		o.Now = clk.Now
		o.MinRefetchInterval = time.Minute
	})
	ctx := context.Background()
	prov := oidc.Provider{URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}}
	sign := func(k oidctest.Key) string {
		return oidctest.Sign(t, k, oidctest.GitHubClaims(iss.URL(), "octo-org/octo-repo", "refs/heads/main", clk.Now()))
	}
	if _, err := v.Verify(ctx, sign(k1), prov); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates to k2; the first k2 token within the minute is refused
	// without a fetch, then one fetch a minute later finds it.
	iss.Publish(k1, k2)
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, sign(k2), prov); kindOf(err) != oidc.Invalid {
			t.Fatalf("unknown kid within the interval: %v", err)
		}
	}
	if n := iss.Fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
	clk.Advance(61 * time.Second)
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, sign(k2), prov); err != nil {
			t.Fatalf("after the interval: %v", err)
		}
	}
	if n := iss.Fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// Keys past their TTL are fetched again; an outage then keeps the old keys.
	clk.Advance(2 * time.Hour)
	iss.Server.Close()
	if _, err := v.Verify(ctx, sign(k1), prov); err != nil {
		t.Fatalf("known key through an outage: %v", err)
	}
}

func TestCommunicationErrors(t *testing.T) {
	k1 := oidctest.NewRSAKey(t, "k1")
	iss := oidctest.NewIssuer(t, k1)
	ctx := context.Background()
	claims := oidctest.GitHubClaims(iss.URL(), "octo-org/octo-repo", "refs/heads/main", time.Now())
	// A client that does not trust the issuer's certificate cannot fetch.
	v := oidc.New()
	_, err := v.Verify(ctx, oidctest.Sign(t, k1, claims), oidc.Provider{URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}})
	if kindOf(err) != oidc.Communication || !strings.HasPrefix(err.Error(), oidc.CommunicationMessage) {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// Plain HTTP issuers are refused.
	claims["iss"] = "http://127.0.0.1:1"
	_, err = v.Verify(ctx, oidctest.Sign(t, k1, claims), oidc.Provider{URL: "http://127.0.0.1:1", ClientIDs: []string{"sts.amazonaws.com"}})
	if kindOf(err) != oidc.Communication {
		t.Fatalf("http issuer: %v", err)
	}
}

func TestPinnedKeys(t *testing.T) {
	k := oidctest.NewECKey(t, "gh1")
	const gh = "https://token.actions.githubusercontent.com"
	v := oidc.New(func(o *oidc.Options) {
		o.PinnedKeys = map[string][]byte{gh: oidctest.JWKS(k)}
		o.HTTPClient = nil // no network: nothing must be fetched
	})
	claims := oidctest.GitHubClaims(gh, "octo-org/octo-repo", "refs/heads/main", time.Now())
	tok, err := v.Verify(context.Background(), oidctest.Sign(t, k, claims), oidc.Provider{URL: gh, ClientIDs: []string{"sts.amazonaws.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Subject != "repo:octo-org/octo-repo:ref:refs/heads/main" {
		t.Errorf("sub %q", tok.Subject)
	}
	_, err = v.Verify(context.Background(), oidctest.Sign(t, oidctest.NewECKey(t, "gh2"), claims), oidc.Provider{URL: gh, ClientIDs: []string{"sts.amazonaws.com"}})
	if kindOf(err) != oidc.Invalid {
		t.Fatalf("a kid not pinned: %v", err)
	}
}
