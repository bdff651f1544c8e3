// Package oidc verifies OpenID Connect ID tokens for STS AssumeRoleWithWebIdentity, as
// AWS does for an account's IAM OIDC providers: the token's signature against the
// issuer's published keys (JWKS, found through the issuer's
// /.well-known/openid-configuration over HTTPS, cached, and fetched again, at a
// bounded rate, when a token names a key id not yet seen), or against keys pinned in
// the configuration for offline use; its issuer against the provider's URL; its
// audience against the provider's client ids; its expiry.
//
// Failures are *Error values whose Kind the STS API maps to AWS's codes:
// InvalidIdentityToken, ExpiredTokenException, IDPCommunicationError. Messages never
// include the token.
package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
)

// MaxTokenLength is the longest web identity token accepted (STS's limit).
const MaxTokenLength = 20000

// maxDocument bounds a fetched discovery document or key set.
const maxDocument = 1 << 20

// Kind classifies a verification failure.
type Kind int

// The kinds of failure.
const (
	// Invalid: malformed, wrongly signed, wrong issuer or audience, not yet valid.
	Invalid Kind = iota + 1
	// Expired: past its exp.
	Expired
	// Communication: the issuer's keys could not be fetched.
	Communication
)

// Error is a verification failure: Message is for the client, Err (if any) for the log.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

// Error returns the message, and the internal cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

func invalid(msg string) *Error { return &Error{Kind: Invalid, Message: msg} }

// CommunicationMessage is AWS's message when the identity provider's keys cannot be
// retrieved.
const CommunicationMessage = "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"

// Options configure a Verifier.
type Options struct {
	// HTTPClient fetches discovery documents and key sets (default: a client with a
	// 10-second timeout and the system's CAs).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives fetch events (default: none).
	Logger hclog.Logger
	// PinnedKeys are JWKS documents by issuer URL ("https://token.actions.githubusercontent.com"):
	// such an issuer's tokens are verified with these keys only, and nothing is fetched.
	PinnedKeys map[string][]byte
	// KeysTTL is how long fetched keys are used before they are fetched again (default
	// one hour).
	KeysTTL time.Duration
	// MinRefetchInterval is the least time between two fetches for one issuer, however
	// many tokens name unknown key ids (default one minute).
	MinRefetchInterval time.Duration
	// Leeway tolerates clock skew for nbf and iat (default one minute). Expiry is
	// strict, as AWS's.
	Leeway time.Duration
}

// Provider is an account's OIDC provider, as the token must match it.
type Provider struct {
	// URL is the issuer URL as registered (https://host/path).
	URL string
	// ClientIDs are the accepted audiences.
	ClientIDs []string
}

// Token is a verified ID token.
type Token struct {
	Issuer          string
	Subject         string
	Audience        []string
	AuthorizedParty string // azp
	Expiry          time.Time
	IssuedAt        time.Time
	// Claims are all of the token's claims, as JSON decodes them.
	Claims map[string]any
}

// Verifier verifies ID tokens. It is safe for concurrent use.
type Verifier struct {
	o      Options
	parser *jwt.Parser

	mu   sync.Mutex
	sets map[string]*keySet // by issuer URL
}

// keySet is one issuer's keys.
type keySet struct {
	mu          sync.Mutex // serializes fetches
	keys        []key
	fetched     time.Time
	lastAttempt time.Time
	pinned      bool
}

type key struct {
	kid string
	alg string
	pub crypto.PublicKey
}

// New returns a Verifier.
func New(optFns ...func(*Options)) *Verifier {
	o := Options{KeysTTL: time.Hour, MinRefetchInterval: time.Minute, Leeway: time.Minute}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	v := &Verifier{o: o, sets: map[string]*keySet{}}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}),
		jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	for iss, doc := range o.PinnedKeys {
		keys, err := parseJWKS(doc)
		ks := &keySet{pinned: true, keys: keys}
		if err != nil {
			o.Logger.Error("pinned OIDC keys do not parse; tokens of this issuer will fail", "issuer", iss, "error", err)
		}
		v.sets[trimSlash(iss)] = ks
	}
	return v
}

// Close releases idle connections.
func (v *Verifier) Close() { v.o.HTTPClient.CloseIdleConnections() }

// Issuer returns the iss claim of a token without verifying anything: STS finds the
// provider by it before verifying.
func Issuer(raw string) (string, error) {
	if len(raw) > MaxTokenLength {
		return "", invalid("The web identity token is too long.")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", invalid("The web identity token is not a JWT.")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", invalid("The web identity token is not a JWT.")
	}
	var c struct {
		Iss any `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", invalid("The web identity token is not a JWT.")
	}
	iss, ok := c.Iss.(string)
	if !ok || iss == "" {
		return "", invalid("The web identity token has no issuer.")
	}
	return iss, nil
}

// Verify checks raw against p and returns its claims.
func (v *Verifier) Verify(ctx context.Context, raw string, p Provider) (*Token, error) {
	iss, err := Issuer(raw)
	if err != nil {
		return nil, err
	}
	if trimSlash(iss) != trimSlash(p.URL) {
		return nil, invalid("Issuer of the web identity token does not match the provider.")
	}
	claims := jwt.MapClaims{}
	var keyErr error
	_, err = v.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		k, err := v.keyFor(ctx, p.URL, t)
		keyErr = err
		return k, err
	})
	if keyErr != nil {
		return nil, keyErr
	}
	if err != nil {
		return nil, &Error{Kind: Invalid, Message: "The web identity token's signature could not be verified.", Err: err}
	}
	tok := &Token{Issuer: iss, Claims: claims}
	tok.Subject, _ = claims["sub"].(string)
	tok.AuthorizedParty, _ = claims["azp"].(string)
	switch a := claims["aud"].(type) {
	case string:
		tok.Audience = []string{a}
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok {
				tok.Audience = append(tok.Audience, s)
			}
		}
	}
	now := v.o.Now()
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return nil, invalid("The web identity token has no expiration time.")
	}
	tok.Expiry = exp
	if !now.Before(exp) {
		return nil, &Error{Kind: Expired, Message: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), exp.Unix())}
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Add(v.o.Leeway).Before(nbf) {
		return nil, invalid("The web identity token is not valid yet.")
	}
	if iat, ok := numericDate(claims["iat"]); ok {
		tok.IssuedAt = iat
		if now.Add(v.o.Leeway).Before(iat) {
			return nil, invalid("The web identity token was issued in the future.")
		}
	}
	if tok.Subject == "" {
		return nil, invalid("The web identity token has no subject.")
	}
	if !audienceMatches(tok, p.ClientIDs) {
		return nil, invalid("Incorrect token audience")
	}
	return tok, nil
}

func audienceMatches(t *Token, clientIDs []string) bool {
	for _, id := range clientIDs {
		for _, a := range t.Audience {
			if a == id {
				return true
			}
		}
		if t.AuthorizedParty != "" && t.AuthorizedParty == id {
			return true
		}
	}
	return false
}

func numericDate(v any) (time.Time, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(int64(f), 0).UTC(), true
	case float64:
		return time.Unix(int64(n), 0).UTC(), true
	}
	return time.Time{}, false
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }

// keyFor finds the key that signed t: by kid, fetching the issuer's keys when they are
// missing, stale, or do not have the kid (at most once per MinRefetchInterval).
func (v *Verifier) keyFor(ctx context.Context, issuer string, t *jwt.Token) (crypto.PublicKey, error) {
	kid, _ := t.Header["kid"].(string)
	v.mu.Lock()
	ks, ok := v.sets[trimSlash(issuer)]
	if !ok {
		ks = &keySet{}
		v.sets[trimSlash(issuer)] = ks
	}
	v.mu.Unlock()

	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := v.o.Now()
	if k := ks.find(kid, t.Method.Alg()); k != nil && (ks.pinned || now.Sub(ks.fetched) < v.o.KeysTTL) {
		return k, nil
	}
	if ks.pinned {
		return nil, invalid("No key of the web identity token's issuer matches its key id.")
	}
	if !ks.lastAttempt.IsZero() && now.Sub(ks.lastAttempt) < v.o.MinRefetchInterval {
		if k := ks.find(kid, t.Method.Alg()); k != nil {
			return k, nil // stale, but not fetched again so soon
		}
		if len(ks.keys) == 0 {
			return nil, &Error{Kind: Communication, Message: CommunicationMessage}
		}
		return nil, invalid("No key of the web identity token's issuer matches its key id.")
	}
	ks.lastAttempt = now
	keys, err := v.fetch(ctx, issuer)
	if err != nil {
		v.o.Logger.Warn("fetching OIDC keys failed", "issuer", issuer, "error", err)
		if k := ks.find(kid, t.Method.Alg()); k != nil {
			return k, nil // keep serving the keys we have through an outage
		}
		return nil, &Error{Kind: Communication, Message: CommunicationMessage, Err: err}
	}
	ks.keys, ks.fetched = keys, now
	v.o.Logger.Debug("fetched OIDC keys", "issuer", issuer, "keys", len(keys))
	if k := ks.find(kid, t.Method.Alg()); k != nil {
		return k, nil
	}
	return nil, invalid("No key of the web identity token's issuer matches its key id.")
}

// find returns the key with kid (or, for a token without kid, the only key that fits
// alg).
func (ks *keySet) find(kid, alg string) crypto.PublicKey {
	var only crypto.PublicKey
	n := 0
	for _, k := range ks.keys {
		if k.alg != "" && k.alg != alg {
			continue
		}
		if !keyFits(k.pub, alg) {
			continue
		}
		if kid != "" && k.kid == kid {
			return k.pub
		}
		only = k.pub
		n++
	}
	if kid == "" && n == 1 {
		return only
	}
	return nil
}

func keyFits(pub crypto.PublicKey, alg string) bool {
	switch pub.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// fetch reads the issuer's discovery document and its key set, over HTTPS only.
func (v *Verifier) fetch(ctx context.Context, issuer string) ([]key, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("issuer %q is not an https URL", issuer)
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := v.getJSON(ctx, trimSlash(issuer)+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if trimSlash(disc.Issuer) != trimSlash(issuer) {
		return nil, fmt.Errorf("discovery document names issuer %q", disc.Issuer)
	}
	ju, err := url.Parse(disc.JWKSURI)
	if err != nil || ju.Scheme != "https" || ju.Host == "" {
		return nil, fmt.Errorf("jwks_uri %q is not an https URL", disc.JWKSURI)
	}
	body, err := v.get(ctx, disc.JWKSURI)
	if err != nil {
		return nil, err
	}
	return parseJWKS(body)
}

func (v *Verifier) getJSON(ctx context.Context, u string, out any) error {
	body, err := v.get(ctx, u)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return nil
}

func (v *Verifier) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.o.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", u, maxDocument)
	}
	return body, nil
}

// parseJWKS reads a JSON Web Key Set (RFC 7517): RSA, EC (P-256, P-384, P-521) and
// Ed25519 signing keys. Keys for encryption and keys of other types are skipped.
func parseJWKS(doc []byte) ([]key, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var out []key
	var errs []error
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var pub crypto.PublicKey
		var err error
		switch k.Kty {
		case "RSA":
			pub, err = rsaKey(k.N, k.E)
		case "EC":
			pub, err = ecKey(k.Crv, k.X, k.Y)
		case "OKP":
			pub, err = edKey(k.Crv, k.X)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (%q): %w", i, k.Kid, err))
			continue
		}
		out = append(out, key{kid: k.Kid, alg: k.Alg, pub: pub})
	}
	if len(out) == 0 {
		return nil, errors.Join(append([]error{errors.New("key set has no usable signing key")}, errs...)...)
	}
	return out, nil
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func rsaKey(n, e string) (*rsa.PublicKey, error) {
	nb, err := b64(n)
	if err != nil || len(nb) < 256 || len(nb) > 1024 {
		return nil, errors.New("RSA modulus must be 2048 to 8192 bits")
	}
	eb, err := b64(e)
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("bad RSA exponent")
	}
	var exp int
	for _, b := range eb {
		exp = exp<<8 | int(b)
	}
	if exp < 3 || exp%2 == 0 {
		return nil, errors.New("bad RSA exponent")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: exp}, nil
}

func ecKey(crv, x, y string) (*ecdsa.PublicKey, error) {
	var c elliptic.Curve
	switch crv {
	case "P-256":
		c = elliptic.P256()
	case "P-384":
		c = elliptic.P384()
	case "P-521":
		c = elliptic.P521()
	default:
		return nil, fmt.Errorf("unsupported curve %q", crv)
	}
	xb, err1 := b64(x)
	yb, err2 := b64(y)
	size := (c.Params().BitSize + 7) / 8
	if err1 != nil || err2 != nil || len(xb) != size || len(yb) != size {
		return nil, errors.New("bad EC point")
	}
	// Check the point through the uncompressed encoding, which ecdh validates.
	raw := append(append([]byte{4}, xb...), yb...)
	pub, err := ecdsa.ParseUncompressedPublicKey(c, raw)
	if err != nil {
		return nil, fmt.Errorf("bad EC point: %w", err)
	}
	return pub, nil
}

func edKey(crv, x string) (ed25519.PublicKey, error) {
	if crv != "Ed25519" {
		return nil, fmt.Errorf("unsupported curve %q", crv)
	}
	xb, err := b64(x)
	if err != nil || len(xb) != ed25519.PublicKeySize {
		return nil, errors.New("bad Ed25519 key")
	}
	return ed25519.PublicKey(xb), nil
}
