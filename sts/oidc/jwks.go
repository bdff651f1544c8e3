package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// PublicKey is one key of a published key set: its id, the algorithm it signs with
// ("RS256", "ES384", …) and the public key (*rsa.PublicKey or *ecdsa.PublicKey).
type PublicKey struct {
	ID  string
	Alg string
	Key crypto.PublicKey
}

// MarshalJWKS renders keys as a JSON Web Key Set (RFC 7517), every key for signing:
// what an issuer publishes at its jwks_uri, and what parseJWKS reads.
func MarshalJWKS(keys ...PublicKey) ([]byte, error) {
	type jwk struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n,omitempty"`
		E   string `json:"e,omitempty"`
		Crv string `json:"crv,omitempty"`
		X   string `json:"x,omitempty"`
		Y   string `json:"y,omitempty"`
	}
	enc := base64.RawURLEncoding.EncodeToString
	out := make([]jwk, 0, len(keys))
	for _, k := range keys {
		j := jwk{Kid: k.ID, Use: "sig", Alg: k.Alg}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			j.Kty, j.N, j.E = "RSA", enc(pub.N.Bytes()), enc(big.NewInt(int64(pub.E)).Bytes())
		case *ecdsa.PublicKey:
			raw, err := pub.Bytes()
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k.ID, err)
			}
			size := (len(raw) - 1) / 2
			j.Kty, j.Crv = "EC", pub.Curve.Params().Name
			j.X, j.Y = enc(raw[1:1+size]), enc(raw[1+size:])
		default:
			return nil, fmt.Errorf("key %s: unsupported key type %T", k.ID, k.Key)
		}
		out = append(out, j)
	}
	return json.Marshal(map[string]any{"keys": out})
}
