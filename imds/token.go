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
	macs sync.Pool // of *macState
}

// macState is a keyed HMAC with scratch space, pooled so that minting and
// verifying allocate nothing.
type macState struct {
	h   hash.Hash
	in  [tokenEncLenMax]byte
	out [tokenRawLen + 2]byte
	mac [tokenMACLen]byte
}

// tokenEncLenMax bounds the encoded token (55 characters).
const tokenEncLenMax = (tokenRawLen*8 + 5) / 6

func newTokenMinter(key []byte) *tokenMinter {
	k := append([]byte(nil), key...)
	m := &tokenMinter{}
	m.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return m
}

// sum returns the MAC of payload in st.mac.
func (st *macState) sum(payload []byte) []byte {
	st.h.Reset()
	st.h.Write(payload)
	return st.h.Sum(st.mac[:0])
}

// mint returns a token valid until expiry, rounded up to the second (a
// token never lives shorter than the TTL asked for).
func (m *tokenMinter) mint(expiry time.Time) string {
	sec := expiry.Unix()
	if expiry.Nanosecond() != 0 {
		sec++
	}
	st := m.macs.Get().(*macState)
	defer m.macs.Put(st)
	raw := st.out[:tokenRawLen]
	raw[0] = tokenVersion
	binary.BigEndian.PutUint64(raw[1:9], uint64(sec))
	copy(raw[9:], st.sum(raw[:9]))
	return tokenEncoding.EncodeToString(raw)
}

// verify checks tok's MAC in constant time, then its expiry against now.
func (m *tokenMinter) verify(tok string, now time.Time) error {
	if len(tok) != tokenEncLen {
		return errTokenInvalid
	}
	st := m.macs.Get().(*macState)
	defer m.macs.Put(st)
	n, err := tokenEncoding.Decode(st.out[:], st.in[:copy(st.in[:], tok)])
	raw := st.out[:tokenRawLen]
	if err != nil || n != tokenRawLen || raw[0] != tokenVersion {
		return errTokenInvalid
	}
	if !hmac.Equal(st.sum(raw[:9]), raw[9:]) {
		return errTokenInvalid
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(raw[1:9])) {
		return errTokenExpired
	}
	return nil
}
