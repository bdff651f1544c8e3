package session

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/credbroker/credbroker/signer"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func testKey(id string, fill byte) Key { return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, 32)} }

// typicalPolicy is a session policy of about 500 characters once compacted.
//
//go:embed testdata/typical-policy.json
var typicalPolicy string

// typicalClaims is a role session with a session policy, three tags and a source
// identity, as AssumeRole makes it.
func typicalClaims() *Claims {
	return &Claims{
		Kind:              KindAssumedRole,
		AccountID:         "123456789012",
		PrincipalARN:      "arn:aws:sts::123456789012:assumed-role/deploy-production/ci-run-4711",
		IdentityARN:       "arn:aws:iam::123456789012:role/deploy-production",
		UniqueID:          "AROA3XFRBF535PLBIFPI4:ci-run-4711",
		AccessKeyID:       "ASIA3XFRBF53QWERTYUI",
		IssuedAt:          t0,
		Expiry:            t0.Add(time.Hour),
		SessionPolicy:     typicalPolicy,
		PolicyARNs:        []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		Tags:              []Tag{{"Project", "credbroker"}, {"CostCenter", "12345"}, {"Team", "platform-engineering"}},
		TransitiveTagKeys: []string{"Project"},
		SourceIdentity:    "alice@example.com",
		MFAAuthTime:       t0.Add(-time.Minute),
		CallerARN:         "arn:aws:iam::123456789012:user/alice",
	}
}

func newSealer(t testing.TB, now time.Time, optFns ...func(*Options)) *Sealer {
	t.Helper()
	s, err := New(testKey("k2", 2), append([]func(*Options){func(o *Options) { o.Now = func() time.Time { return now } }}, optFns...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seal seals c with s, failing the test on an error.
func seal(t testing.TB, s *Sealer, c *Claims) (token, secret string) {
	t.Helper()
	token, secret, err := s.Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	return token, secret
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := newSealer(t, t0.Add(time.Minute))
	in := typicalClaims()
	token, secret := seal(t, s, in)
	got, err := s.Open(token)
	if err != nil {
		t.Fatal(err)
	}
	want := *in
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(typicalPolicy)); err != nil {
		t.Fatal(err)
	}
	want.SessionPolicy = compact.String()
	want.KeyID = "k2"
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("Open(Seal(c)) (-want +got):\n%s", diff)
	}
	if !got.MFA() {
		t.Error("MFA() = false for a session with an MFA time")
	}
	if len(secret) != 40 {
		t.Errorf("secret has %d characters, want 40 like AWS's", len(secret))
	}
	if again, _ := s.Secret(got); again != secret {
		t.Error("Secret(Open(token)) differs from the secret Seal returned")
	}
	_, looked, err := s.Lookup(in.AccessKeyID, token)
	if err != nil || looked != secret {
		t.Errorf("Lookup = %v, secret equal %v; want the sealed secret", err, looked == secret)
	}
	if _, _, err := s.Lookup("ASIAOTHERKEY00000000", token); signer.CodeOf(err) != signer.CodeInvalidClientTokenID {
		t.Errorf("Lookup with another key's id: %v, want InvalidClientTokenId", err)
	}
}

func TestTypicalTokenSize(t *testing.T) {
	s := newSealer(t, t0)
	token, _ := seal(t, s, typicalClaims())
	t.Logf("typical token: %d bytes", len(token))
	if len(token) >= 2048 {
		t.Errorf("typical token is %d bytes, want under 2 KiB", len(token))
	}
	// Larger policies are deflated; AWS's 2048-character limit still fits in 3 KiB.
	big := typicalClaims()
	big.SessionPolicy = bigPolicy(2048)
	token, _ = seal(t, s, big)
	if len(token) >= 3072 {
		t.Errorf("token with a 2048-character policy is %d bytes, want under 3 KiB", len(token))
	}
	got, err := s.Open(token)
	if err != nil {
		t.Fatal(err)
	}
	if got.SessionPolicy != big.SessionPolicy {
		t.Error("a deflated policy does not come back as sealed")
	}
}

// bigPolicy returns a compact policy of about n characters.
func bigPolicy(n int) string {
	var stmts []string
	for i := 0; len(strings.Join(stmts, ",")) < n-120; i++ {
		stmts = append(stmts, `{"Sid":"S`+strings.Repeat("x", i%7)+`","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-`+string(rune('a'+i%26))+`/*"}`)
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func TestOpenFailures(t *testing.T) {
	s := newSealer(t, t0.Add(time.Minute))
	token, _ := seal(t, s, typicalClaims())
	header, payload, _ := strings.Cut(token, ".")
	payload, sig, _ := strings.Cut(payload, ".")

	other, err := New(testKey("k9", 9), func(o *Options) { o.Now = s.now })
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Seal(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	sameKidOtherSecret, err := New(Key{ID: "k2", Secret: bytes.Repeat([]byte{3}, 32)}, func(o *Options) { o.Now = s.now })
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := sameKidOtherSecret.Seal(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(payload)
	longer := base64.RawURLEncoding.EncodeToString(bytes.Replace(claims, []byte(`"exp":`), []byte(`"exp":9`), 1))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k2"}`))

	for name, tc := range map[string]struct {
		token string
		now   time.Time
		code  string
	}{
		"empty":                    {"", t0, signer.CodeInvalidClientTokenID},
		"garbage":                  {"AQoDYXdzEPT//////////wEXAMPLE", t0, signer.CodeInvalidClientTokenID},
		"changed payload":          {header + "." + longer + "." + sig, t0, signer.CodeInvalidClientTokenID},
		"changed signature":        {header + "." + payload + "." + flip(sig), t0, signer.CodeInvalidClientTokenID},
		"alg none":                 {none + "." + payload + ".", t0, signer.CodeInvalidClientTokenID},
		"unknown kid":              {foreign, t0, signer.CodeInvalidClientTokenID},
		"known kid, other secret":  {forged, t0, signer.CodeInvalidClientTokenID},
		"expired":                  {token, t0.Add(time.Hour), signer.CodeExpiredToken},
		"tampered and expired":     {header + "." + payload + "." + flip(sig), t0.Add(2 * time.Hour), signer.CodeInvalidClientTokenID},
		"valid one second earlier": {token, t0.Add(time.Hour - time.Second), ""},
	} {
		t.Run(name, func(t *testing.T) {
			s.now = func() time.Time { return tc.now }
			_, err := s.Open(tc.token)
			if got := signer.CodeOf(err); got != tc.code {
				t.Fatalf("Open: %v, want code %q", err, tc.code)
			}
			if err != nil && strings.Contains(err.Error(), "k2") {
				t.Errorf("error %q names a key id", err)
			}
		})
	}
}

func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func TestKeyRotation(t *testing.T) {
	now := t0.Add(time.Minute)
	old := newSealer(t, now) // signs with k2
	token, secret, err := old.Seal(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := New(testKey("k3", 3), func(o *Options) {
		o.Now = func() time.Time { return now }
		o.VerifyKeys = []Key{testKey("k2", 2)}
	})
	if err != nil {
		t.Fatal(err)
	}
	c, got, err := rotated.Lookup(typicalClaims().AccessKeyID, token)
	if err != nil {
		t.Fatalf("token sealed with the previous key: %v", err)
	}
	if c.KeyID != "k2" || got != secret {
		t.Errorf("kid %q, same secret %v; want k2 and the secret sealed with it", c.KeyID, got == secret)
	}
	fresh, freshSecret, err := rotated.Seal(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := rotated.Open(fresh); err != nil || c.KeyID != "k3" {
		t.Errorf("new token: kid %v, err %v; want k3", c, err)
	}
	if freshSecret == secret {
		t.Error("a new signing key derives the same session secret")
	}
	retired, err := New(testKey("k3", 3), func(o *Options) { o.Now = func() time.Time { return now } })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retired.Open(token); signer.CodeOf(err) != signer.CodeInvalidClientTokenID {
		t.Errorf("token of a retired key: %v, want InvalidClientTokenId", err)
	}
}

func TestNewAndSealReject(t *testing.T) {
	for name, fn := range map[string]func() error{
		"short secret": func() error { _, err := New(Key{ID: "k", Secret: make([]byte, 31)}); return err },
		"no kid":       func() error { _, err := New(Key{Secret: make([]byte, 32)}); return err },
		"duplicate kid": func() error {
			_, err := New(testKey("k", 1), func(o *Options) { o.VerifyKeys = []Key{testKey("k", 2)} })
			return err
		},
		"no access key": func() error {
			c := typicalClaims()
			c.AccessKeyID = ""
			_, _, err := newSealer(t, t0).Seal(c)
			return err
		},
		"bad kind": func() error {
			c := typicalClaims()
			c.Kind = "root"
			_, _, err := newSealer(t, t0).Seal(c)
			return err
		},
		"expiry before issue": func() error {
			c := typicalClaims()
			c.Expiry = c.IssuedAt
			_, _, err := newSealer(t, t0).Seal(c)
			return err
		},
		"not UTF-8": func() error {
			c := typicalClaims()
			c.Tags = append(c.Tags, Tag{"k", "\xff"})
			_, _, err := newSealer(t, t0).Seal(c)
			return err
		},
	} {
		if err := fn(); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "\x02\x02\x02") {
			t.Errorf("%s: error shows key material", name)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s := newSealer(f, t0.Add(time.Minute))
	token, _ := seal(f, s, typicalClaims())
	f.Add(token)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Open(tok)
		if err == nil && (c.AccessKeyID == "" || c.KeyID != "k2") {
			t.Fatalf("opened a token without an access key id or with an unknown kid: %+v", c)
		}
		if err != nil && signer.CodeOf(err) == "" {
			t.Fatalf("Open error is not a *signer.Error: %v", err)
		}
	})
}

func TestLookupCache(t *testing.T) {
	now := t0.Add(time.Minute)
	s := newSealer(t, now, func(o *Options) { o.LookupCacheSize = 2 })
	s.now = func() time.Time { return now }
	c := typicalClaims()
	token, secret := seal(t, s, c)
	first, got, err := s.Lookup(c.AccessKeyID, token)
	if err != nil || got != secret {
		t.Fatalf("first Lookup: %v", err)
	}
	again, got, err := s.Lookup(c.AccessKeyID, token)
	if err != nil || got != secret || again != first {
		t.Fatalf("second Lookup: %v, same claims %v; want the cached session", err, again == first)
	}
	// A tampered token under a cached key id is opened, and refused.
	h, rest, _ := strings.Cut(token, ".")
	if _, _, err := s.Lookup(c.AccessKeyID, h+"."+flip(rest)); signer.CodeOf(err) != signer.CodeInvalidClientTokenID {
		t.Errorf("tampered token with a cached key id: %v, want InvalidClientTokenId", err)
	}
	// Another key id presenting the cached token is refused.
	if _, _, err := s.Lookup("ASIAOTHERKEY00000000", token); signer.CodeOf(err) != signer.CodeInvalidClientTokenID {
		t.Errorf("cached token with another key id: %v, want InvalidClientTokenId", err)
	}
	// The cache does not outlive the session.
	now = c.Expiry
	if _, _, err := s.Lookup(c.AccessKeyID, token); signer.CodeOf(err) != signer.CodeExpiredToken {
		t.Errorf("cached session past expiry: %v, want ExpiredToken", err)
	}
}

// TestOneSpelling: a token's last character carries padding bits; changing them must
// not give a second spelling that verifies.
func TestOneSpelling(t *testing.T) {
	s := newSealer(t, t0.Add(time.Minute))
	token, _ := seal(t, s, typicalClaims())
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := token[len(token)-1]
	for i := range len(b64) {
		if b64[i] == last {
			continue
		}
		if _, err := s.Open(token[:len(token)-1] + string(b64[i])); err == nil {
			t.Fatalf("token with last character %q instead of %q opens", b64[i], last)
		}
	}
}

// TestConcurrentLookup shares a Sealer, its HMAC pool and a cache that keeps resetting,
// between goroutines; run with -race.
func TestConcurrentLookup(t *testing.T) {
	s := newSealer(t, t0.Add(time.Minute), func(o *Options) { o.LookupCacheSize = 2 })
	type minted struct{ id, token, secret string }
	var sessions []minted
	for i := range 5 {
		c := typicalClaims()
		c.AccessKeyID = fmt.Sprintf("ASIA3XFRBF53QWERTY%02d", i)
		token, secret, err := s.Seal(c)
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, minted{c.AccessKeyID, token, secret})
	}
	var eg errgroup.Group
	for g := range 8 {
		eg.Go(func() error {
			for i := range 200 {
				m := sessions[(g+i)%len(sessions)]
				_, secret, err := s.Lookup(m.id, m.token)
				if err == nil && secret != m.secret {
					err = fmt.Errorf("session %s: another session's secret", m.id)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactJSON(t *testing.T) {
	for _, src := range []string{
		typicalPolicy, bigPolicy(3000), `{}`, ` { "a" : [ 1 , 2 ] } `, `{"s":"keep  spaces\t and \"quotes\" \\"}`,
		`{"k":"ends with backslash\\\\", "n" : null}`, `{"u":"\u00e9 \ud83d\ude00"}`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(src)); err != nil {
			t.Fatalf("test input %q: %v", src, err)
		}
		if got := compactJSON(nil, src); string(got) != want.String() {
			t.Errorf("compactJSON(%q)\n got %s\nwant %s", src, got, want.String())
		}
	}
	for _, src := range []string{`"unterminated`, `{"a":"\"`, `\`, `"\\"x"`} { // not JSON: no panic
		compactJSON(nil, src)
	}
}
