// Package oidctest runs an OpenID Connect issuer for tests: a TLS server publishing a
// discovery document and a key set, and tokens signed with its keys, shaped like
// GitHub Actions' or GitLab CI's.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credbroker/credbroker/sts/oidc"
)

// Key is one signing key of an Issuer.
type Key struct {
	ID     string
	Signer crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
}

// NewRSAKey returns a 2048-bit RSA key named id.
func NewRSAKey(t testing.TB, id string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: id, Signer: k}
}

// NewECKey returns a P-256 key named id.
func NewECKey(t testing.TB, id string) Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: id, Signer: k}
}

// Issuer is an OIDC issuer on an httptest TLS server.
type Issuer struct {
	Server *httptest.Server
	// Fetches counts the key set requests.
	Fetches atomic.Int32

	mu        sync.Mutex
	published []Key
}

// NewIssuer starts an issuer publishing keys; it stops at the end of the test.
func NewIssuer(t testing.TB, keys ...Key) *Issuer {
	iss := &Issuer{published: keys}
	mux := http.NewServeMux()
	iss.Server = httptest.NewTLSServer(mux)
	t.Cleanup(iss.Server.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.URL(), "jwks_uri": iss.URL() + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		iss.Fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(iss.JWKS())
	})
	return iss
}

// URL is the issuer's URL (https://127.0.0.1:PORT).
func (i *Issuer) URL() string { return i.Server.URL }

// Client is an HTTP client that trusts the issuer's certificate.
func (i *Issuer) Client() *http.Client { return i.Server.Client() }

// Publish replaces the published keys (a key rotation).
func (i *Issuer) Publish(keys ...Key) {
	i.mu.Lock()
	i.published = keys
	i.mu.Unlock()
}

// JWKS returns the published key set.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	return JWKS(i.published...)
}

// JWKS renders keys as a JSON Web Key Set.
func JWKS(keys ...Key) []byte {
	pubs := make([]oidc.PublicKey, len(keys))
	for i, k := range keys {
		alg := "RS256"
		if _, ok := k.Signer.(*ecdsa.PrivateKey); ok {
			alg = "ES256"
		}
		pubs[i] = oidc.PublicKey{ID: k.ID, Alg: alg, Key: k.Signer.Public()}
	}
	b, err := oidc.MarshalJWKS(pubs...)
	if err != nil {
		panic(err) // test keys are RSA or ECDSA
	}
	return b
}

// Sign returns a token with claims signed by k.
func Sign(t testing.TB, k Key, claims map[string]any) string {
	t.Helper()
	var method jwt.SigningMethod = jwt.SigningMethodRS256
	if _, ok := k.Signer.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	tok.Header["kid"] = k.ID
	s, err := tok.SignedString(k.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// GitHubClaims are claims shaped like a GitHub Actions ID token's, for issuer iss.
func GitHubClaims(iss, repo, ref string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": "sts.amazonaws.com",
		"sub":        "repo:" + repo + ":ref:" + ref,
		"repository": repo, "ref": ref, "repository_owner": "octo-org", "workflow": "deploy",
		"event_name": "push", "job_workflow_ref": repo + "/.github/workflows/deploy.yml@" + ref,
		"runner_environment": "github-hosted",
		"iat":                now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "example-id",
	}
}

// GitLabClaims are claims shaped like a GitLab CI ID token's (id_tokens with aud).
func GitLabClaims(iss, aud, project, branch string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "aud": aud,
		"sub":          "project_path:" + project + ":ref_type:branch:ref:" + branch,
		"project_path": project, "namespace_path": "mygroup", "ref": branch, "ref_type": "branch",
		"pipeline_source": "push", "user_login": "alice",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "glid",
	}
}
