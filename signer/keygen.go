package signer

import (
	"crypto/rand"
	"fmt"
	"io"
)

// Prefixes of AWS's identifiers, for KeyGenerator.
const (
	PrefixAccessKey        = "AKIA" // an IAM user's long-term access key
	PrefixSessionAccessKey = "ASIA" // a temporary (STS) access key
	PrefixUser             = "AIDA" // an IAM user's unique id
	PrefixRole             = "AROA" // a role's unique id
)

const (
	idAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" // base32: what follows AWS's prefixes
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// KeyGenerator makes identifiers and secrets in AWS's shapes from Rand.
type KeyGenerator struct {
	// Rand is the source of randomness. Nil means crypto/rand.Reader.
	Rand io.Reader
}

// AccessKeyID returns prefix (PrefixAccessKey or PrefixSessionAccessKey) followed by 16
// characters of AWS's alphabet (A-Z, 2-7): 20 characters, 80 random bits.
func (g KeyGenerator) AccessKeyID(prefix string) (string, error) {
	return g.id(prefix, 16)
}

// UniqueID returns prefix (PrefixUser, PrefixRole, …) followed by 17 characters of AWS's
// alphabet: 21 characters, as IAM's unique ids.
func (g KeyGenerator) UniqueID(prefix string) (string, error) {
	return g.id(prefix, 17)
}

// SecretAccessKey returns 40 characters of base64's alphabet (240 random bits), the
// shape of AWS's secret access keys.
func (g KeyGenerator) SecretAccessKey() (string, error) {
	return g.draw("", 40, secretAlphabet)
}

func (g KeyGenerator) id(prefix string, n int) (string, error) {
	if len(prefix) != 4 {
		return "", fmt.Errorf("signer: key id prefix %q: want 4 characters such as %s", prefix, PrefixAccessKey)
	}
	return g.draw(prefix, n, idAlphabet)
}

// draw appends n characters of alphabet (32 or 64 long: no modulo bias) to prefix.
func (g KeyGenerator) draw(prefix string, n int, alphabet string) (string, error) {
	r := g.Rand
	if r == nil {
		r = rand.Reader
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return "", fmt.Errorf("signer: reading randomness: %w", err)
	}
	out := make([]byte, len(prefix), len(prefix)+n)
	copy(out, prefix)
	for _, b := range raw {
		out = append(out, alphabet[int(b)%len(alphabet)])
	}
	clear(raw)
	return string(out), nil
}
