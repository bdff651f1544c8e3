package imds

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// IMDSv2 session tokens are stateless: version ‖ expiry (Unix seconds,
// big-endian) ‖ HMAC-SHA256 of both under a key drawn when the handler is
// built, base64url without padding. Nothing is stored per token, so there is
// nothing to sweep or evict; a restart invalidates all tokens and the SDKs
// fetch a new one on the 401.
const (
	tokenVersion = 1
	tokenMACLen  = sha256.Size
	tokenRawLen  = 1 + 8 + tokenMACLen
	tokenKeyLen  = 32
)

// tokenEncoding is strict so that a token has exactly one spelling.
var (
	tokenEncoding = base64.RawURLEncoding.Strict()
	tokenEncLen   = tokenEncoding.EncodedLen(tokenRawLen)
)

var (
	errTokenInvalid = errors.New("token is not one this endpoint issued")
	errTokenExpired = errors.New("token has expired")
)

type tokenMinter struct {
	macs sync.Pool // of keyed hash.Hash
}

func newTokenMinter(key []byte) *tokenMinter {
	k := append([]byte(nil), key...)
	m := &tokenMinter{}
	m.macs.New = func() any { return hmac.New(sha256.New, k) }
	return m
}

func (m *tokenMinter) sum(dst, payload []byte) []byte {
	h := m.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(payload)
	dst = h.Sum(dst)
	m.macs.Put(h)
	return dst
}

// mint returns a token valid until expiry, rounded up to the second (a
// token never lives shorter than the TTL asked for).
func (m *tokenMinter) mint(expiry time.Time) string {
	sec := expiry.Unix()
	if expiry.Nanosecond() != 0 {
		sec++
	}
	var raw [tokenRawLen]byte
	raw[0] = tokenVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(sec))
	m.sum(raw[:9], raw[:9])
	return tokenEncoding.EncodeToString(raw[:])
}

// verify checks tok's MAC in constant time, then its expiry against now.
func (m *tokenMinter) verify(tok string, now time.Time) error {
	if len(tok) != tokenEncLen {
		return errTokenInvalid
	}
	var raw [tokenRawLen + 2]byte // DecodedLen may round up
	n, err := tokenEncoding.Decode(raw[:], []byte(tok))
	if err != nil || n != tokenRawLen || raw[0] != tokenVersion {
		return errTokenInvalid
	}
	var mac [tokenMACLen]byte
	if !hmac.Equal(m.sum(mac[:0], raw[:9]), raw[9:tokenRawLen]) {
		return errTokenInvalid
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(raw[1:9])) {
		return errTokenExpired
	}
	return nil
}
