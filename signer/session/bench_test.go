package session

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkSealOpen seals a typical role session (the size test's claims: a session
// policy of about 500 characters, three tags, a source identity) and opens it again.
func BenchmarkSealOpen(b *testing.B) {
	benchSealOpen(b, typicalClaims())
}

// BenchmarkSealOpenPlain is the broker's everyday session: AssumeRole with no session
// policy, tags or source identity.
func BenchmarkSealOpenPlain(b *testing.B) {
	benchSealOpen(b, plainClaims())
}

func plainClaims() *Claims {
	c := typicalClaims()
	c.SessionPolicy, c.PolicyARNs, c.Tags, c.TransitiveTagKeys, c.SourceIdentity = "", nil, nil, nil, ""
	c.MFAAuthTime = time.Time{}
	return c
}

func benchSealOpen(b *testing.B, c *Claims) {
	s := newSealer(b, t0.Add(time.Minute))
	b.ReportAllocs()
	for b.Loop() {
		token, _, err := s.Seal(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen is what a session's first request costs: Open and the secret's
// derivation (Lookup without its cache).
func BenchmarkOpen(b *testing.B) {
	s := newSealer(b, t0.Add(time.Minute))
	token, _ := seal(b, s, typicalClaims())
	b.ReportAllocs()
	for b.Loop() {
		c, err := s.Open(token)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Secret(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupCached is what a session's later requests cost.
func BenchmarkLookupCached(b *testing.B) {
	s := newSealer(b, t0.Add(time.Minute))
	c := typicalClaims()
	token, _ := seal(b, s, c)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Lookup(c.AccessKeyID, token); err != nil {
			b.Fatal(err)
		}
	}
}

// genericClaims holds the same data for golang-jwt's generic, reflective path.
type genericClaims struct {
	Kind        Kind     `json:"knd"`
	Account     string   `json:"acc"`
	Identity    string   `json:"idn"`
	UniqueID    string   `json:"uid"`
	AccessKeyID string   `json:"akid"`
	Policy      string   `json:"pol,omitempty"`
	PolicyARNs  []string `json:"pma,omitempty"`
	Tags        []Tag    `json:"tag,omitempty"`
	Transitive  []string `json:"ttk,omitempty"`
	Source      string   `json:"sid,omitempty"`
	MFAAuthTime int64    `json:"mfa,omitempty"`
	Caller      string   `json:"by,omitempty"`
	jwt.RegisteredClaims
}

func generic(c *Claims) *genericClaims {
	return &genericClaims{
		Kind: c.Kind, Account: c.AccountID, Identity: c.IdentityARN, UniqueID: c.UniqueID,
		AccessKeyID: c.AccessKeyID, Policy: typicalPolicy, PolicyARNs: c.PolicyARNs, Tags: c.Tags,
		Transitive: c.TransitiveTagKeys, Source: c.SourceIdentity, MFAAuthTime: c.MFAAuthTime.Unix(),
		Caller: c.CallerARN,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   c.PrincipalARN,
			IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(c.Expiry),
		},
	}
}

// BenchmarkSealOpenGenericJWT is the same-run baseline for BenchmarkSealOpen: the same
// claims through golang-jwt's NewWithClaims/SignedString and ParseWithClaims.
func BenchmarkSealOpenGenericJWT(b *testing.B) {
	key := derive(testKey("k2", 2)).jwt
	c := generic(typicalClaims())
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return t0.Add(time.Minute) }))
	b.ReportAllocs()
	for b.Loop() {
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		t.Header["kid"] = "k2"
		token, err := t.SignedString(key)
		if err != nil {
			b.Fatal(err)
		}
		var got genericClaims
		if _, err := p.ParseWithClaims(token, &got, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenEd25519 is the other algorithm the package doc weighs: opening the same
// claims signed with EdDSA, through golang-jwt's generic path.
func BenchmarkOpenEd25519(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, generic(typicalClaims())).SignedString(priv)
	if err != nil {
		b.Fatal(err)
	}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(func() time.Time { return t0.Add(time.Minute) }))
	b.ReportAllocs()
	for b.Loop() {
		var got genericClaims
		if _, err := p.ParseWithClaims(token, &got, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyEd25519 is the signature check alone, for the doc's comparison.
func BenchmarkVerifyEd25519(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1200)
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("no")
		}
	}
}
