package sts

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Outbound web identity federation: GetWebIdentityToken returns a JWT that names the
// caller, signed by the core, and the core publishes the verification keys the way an
// OpenID Connect issuer does, at ISSUER/.well-known/openid-configuration and
// ISSUER/.well-known/jwks.json, on its own listener, without authentication.

// Paths of the issuer's discovery document and key set.
const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/.well-known/jwks.json"
)

// awsClaimsNamespace holds the AWS-specific claims of an outbound token, as AWS's.
const awsClaimsNamespace = "https://sts.amazonaws.com/"

// webTokenKeyPrefix names the store secrets holding the token signing keys:
// webTokenKeyPrefix + ALG + "/" + kid, PKCS #8 DER.
const webTokenKeyPrefix = "sts/web-token-key/"

// webTokenAlgs are the signing algorithms of GetWebIdentityToken, as AWS's.
var webTokenAlgs = map[string]jwt.SigningMethod{"RS256": jwt.SigningMethodRS256, "ES384": jwt.SigningMethodES384}

// webTokenKey is one signing key of the outbound tokens.
type webTokenKey struct {
	kid, alg string
	signer   crypto.Signer
}

// webTokenKeys holds the signing keys, read from the store (or made) on first use: an
// RSA key costs tens of milliseconds to make, which a core that never issues a token
// should not pay.
type webTokenKeys struct {
	mu   sync.Mutex
	keys map[string]webTokenKey // by algorithm
}

// webTokenKeys returns the signing keys, one per algorithm.
func (c *Core) webTokenKeys(ctx context.Context) (map[string]webTokenKey, error) {
	k := &c.webKeys
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil {
		return k.keys, nil
	}
	keys := map[string]webTokenKey{}
	err := c.st.Update(ctx, func(tx *store.Tx) error {
		clear(keys)
		names, err := tx.SecretNames(webTokenKeyPrefix)
		if err != nil {
			return err
		}
		for _, n := range names {
			alg, kid, ok := strings.Cut(strings.TrimPrefix(n, webTokenKeyPrefix), "/")
			if _, known := webTokenAlgs[alg]; !ok || !known {
				continue
			}
			der, err := tx.Secret(n)
			if err != nil {
				return err
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return fmt.Errorf("web identity token key %s: %w", kid, err)
			}
			signer, ok := priv.(crypto.Signer)
			if !ok {
				return fmt.Errorf("web identity token key %s is a %T", kid, priv)
			}
			keys[alg] = webTokenKey{kid: kid, alg: alg, signer: signer} // the newest by name wins
		}
		for alg := range webTokenAlgs {
			if _, ok := keys[alg]; ok {
				continue
			}
			nk, der, err := c.newWebTokenKey(alg)
			if err != nil {
				return err
			}
			if err := tx.PutSecret(webTokenKeyPrefix+alg+"/"+nk.kid, der); err != nil {
				return err
			}
			keys[alg] = nk
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web identity token keys: %w", err)
	}
	k.keys = keys
	return keys, nil
}

// newWebTokenKey makes a signing key for alg and its PKCS #8 encoding.
func (c *Core) newWebTokenKey(alg string) (webTokenKey, []byte, error) {
	var signer crypto.Signer
	var err error
	switch alg {
	case "RS256":
		signer, err = rsa.GenerateKey(c.rand, 2048)
	case "ES384":
		signer, err = ecdsa.GenerateKey(elliptic.P384(), c.rand)
	default:
		err = fmt.Errorf("unknown algorithm %s", alg)
	}
	if err != nil {
		return webTokenKey{}, nil, fmt.Errorf("making a %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return webTokenKey{}, nil, err
	}
	var id [8]byte
	if _, err := io.ReadFull(c.rand, id[:]); err != nil {
		return webTokenKey{}, nil, err
	}
	kid := c.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(id[:])
	return webTokenKey{kid: kid, alg: alg, signer: signer}, der, nil
}

// issuerURL is the iss of outbound tokens: Options.WebIdentityIssuer, or the URL the
// request reached the core at.
func (c *Core) issuerURL(host string, tls bool) string {
	if c.o.WebIdentityIssuer != "" {
		return strings.TrimRight(c.o.WebIdentityIssuer, "/")
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + host
}

// serveWellKnown answers the issuer's discovery document and key set; ok is false for
// any other request.
func (c *Core) serveWellKnown(w http.ResponseWriter, r *http.Request) (ok bool) {
	if r.URL.Path != discoveryPath && r.URL.Path != jwksPath {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	var body []byte
	var err error
	if r.URL.Path == jwksPath {
		body, err = c.JWKS(r.Context())
	} else {
		iss := c.issuerURL(r.Host, r.TLS != nil)
		body, err = json.Marshal(map[string]any{
			"issuer": iss, "jwks_uri": iss + jwksPath,
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES384"},
		})
	}
	if err != nil {
		c.log.Error("serving the web identity key set", "error", err)
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(body)
	return true
}

// JWKS returns the key set that verifies GetWebIdentityToken's tokens.
func (c *Core) JWKS(ctx context.Context) ([]byte, error) {
	keys, err := c.webTokenKeys(ctx)
	if err != nil {
		return nil, err
	}
	pubs := make([]oidc.PublicKey, 0, len(keys))
	for _, alg := range []string{"RS256", "ES384"} {
		k := keys[alg]
		pubs = append(pubs, oidc.PublicKey{ID: k.kid, Alg: alg, Key: k.signer.Public()})
	}
	return oidc.MarshalJWKS(pubs...)
}

// webIdentityTokenResult is GetWebIdentityToken's result.
type webIdentityTokenResult struct {
	token   string
	expires time.Time
}

// MarshalQueryXML writes the result's elements.
func (r *webIdentityTokenResult) MarshalQueryXML(w *query.XMLWriter) {
	w.String("WebIdentityToken", r.token)
	w.Time("Expiration", r.expires)
}

// Limits of GetWebIdentityToken.
const (
	webTokenDefault    = 300 * time.Second
	maxWebTokenPayload = 8192 // bytes of JSON claims; AWS does not document its limit
)

// getWebIdentityToken is STS GetWebIdentityToken: a JWT naming the caller (sub: the
// user's or role's ARN), for the audiences asked, with the AWS claims (account,
// region, principal tags) and the request's tags under "https://sts.amazonaws.com/".
// The caller needs sts:GetWebIdentityToken, decided with sts:IdentityTokenAudience,
// sts:DurationSeconds, sts:SigningAlgorithm and the request tags.
func (c *Core) getWebIdentityToken(ctx context.Context, call *Call) (any, error) {
	p, cl := call.Params, call.Caller
	alg := p.String("SigningAlgorithm")
	method, ok := webTokenAlgs[alg]
	if !ok {
		var v account.Violations
		v.Add("signingAlgorithm", alg, "Member must satisfy enum value set: [RS256, ES384]")
		return nil, v.Err()
	}
	audiences := p.Strings("Audience")
	dur := readDuration(p, webTokenDefault)
	var in sessionInput
	if err := readSessionTags(p, nil, &in, false); err != nil {
		return nil, err
	}
	opts := []AuthzOption{WithContextKeys(
		policy.ContextKey{Name: "sts:IdentityTokenAudience", Values: audiences},
		policy.ContextKey{Name: "sts:DurationSeconds", Values: []string{fmt.Sprint(int64(dur / time.Second))}},
		policy.ContextKey{Name: "sts:SigningAlgorithm", Values: []string{alg}},
	)}
	if len(in.tags) > 0 {
		opts = append(opts, WithRequestTags(policyTags(in.tags)))
	}
	if err := call.Authorize("sts:GetWebIdentityToken", "*", opts...); err != nil {
		return nil, err
	}
	if err := c.outboundEnabled(ctx); err != nil {
		return nil, err
	}
	now := call.Now.UTC().Truncate(time.Second)
	exp := now.Add(dur)
	if s := cl.Session; s != nil && exp.After(s.Expiry) {
		return nil, query.NewError("SessionDurationEscalationException",
			"The requested token duration would extend the session beyond its original expiration time.")
	}
	keys, err := c.webTokenKeys(ctx)
	if err != nil {
		return nil, err
	}
	key := keys[alg]
	claims := jwt.MapClaims{
		"iss":              c.issuerURL(call.Host, call.SecureTransport),
		"sub":              subjectARN(cl),
		"iat":              now.Unix(),
		"exp":              exp.Unix(),
		"jti":              call.RequestID,
		awsClaimsNamespace: outboundAWSClaims(call, in.tags),
	}
	if len(audiences) == 1 {
		claims["aud"] = audiences[0]
	} else {
		claims["aud"] = audiences
	}
	if payload, err := json.Marshal(claims); err != nil || len(payload) > maxWebTokenPayload {
		return nil, query.NewError("JWTPayloadSizeExceededException",
			"The requested token payload size exceeds the maximum allowed size.")
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = key.kid
	signed, err := tok.SignedString(key.signer)
	if err != nil {
		return nil, fmt.Errorf("signing a web identity token: %w", err)
	}
	return &webIdentityTokenResult{token: signed, expires: exp}, nil
}

// outboundEnabled answers OutboundWebIdentityFederationDisabledException unless the
// account enabled outbound web identity federation (IAM
// EnableOutboundWebIdentityFederation), as AWS does. The tokens' iss stays the core's
// own URL, where the keys that verify them are published.
func (c *Core) outboundEnabled(ctx context.Context) error {
	var acct account.Account
	if err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		acct, err = tx.Account()
		return err
	}); err != nil {
		return err
	}
	if acct.OutboundWebIdentityIssuer == "" {
		return query.NewError("OutboundWebIdentityFederationDisabledException",
			"The outbound web identity federation feature is not enabled for this account: enable it with iam enable-outbound-web-identity-federation.")
	}
	return nil
}

// subjectARN is the sub of a caller's outbound token: the role's ARN for a role
// session (as AWS's), the user's (or root's) otherwise, the federated user's ARN for
// a GetFederationToken session.
func subjectARN(cl *Caller) string {
	if s := cl.Session; s != nil && s.Kind == session.KindAssumedRole {
		return s.IdentityARN
	}
	return cl.ARN
}

// outboundAWSClaims are the claims under awsClaimsNamespace.
func outboundAWSClaims(call *Call, requestTags []session.Tag) map[string]any {
	out := map[string]any{"aws_account": call.AccountID()}
	if call.Region != "" {
		out["source_region"] = call.Region
	}
	if tags := call.Caller.Principal.Tags; len(tags) > 0 {
		m := make(map[string]string, len(tags))
		for _, t := range tags {
			m[t.Key] = t.Value
		}
		out["principal_tags"] = m
	}
	if len(requestTags) > 0 {
		m := make(map[string]string, len(requestTags))
		for _, t := range requestTags {
			m[t.Key] = t.Value
		}
		out["request_tags"] = m
	}
	return out
}
