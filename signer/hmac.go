package signer

import (
	"crypto/sha256"
	"unsafe"
)

const blockSize = 64 // SHA-256 block size

// hmacPrefixed computes HMAC-SHA256(key, buf[blockSize:]) without allocating: the caller
// leaves the first blockSize bytes of buf free for the inner pad, so that the message
// (the string to sign) is written once, in place. len(key) <= blockSize.
func hmacPrefixed(key []byte, buf []byte) [sha256.Size]byte {
	var pad [blockSize]byte
	copy(pad[:], key)
	for i := range pad {
		buf[i] = pad[i] ^ 0x36
	}
	inner := sha256.Sum256(buf)
	var outer [blockSize + sha256.Size]byte
	for i := range pad {
		outer[i] = pad[i] ^ 0x5c
	}
	copy(outer[blockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// hmacSmall computes HMAC-SHA256(key, msg) for the short messages of key derivation.
func hmacSmall(key []byte, msg string) [sha256.Size]byte {
	if len(key) > blockSize {
		k := sha256.Sum256(key)
		key = k[:]
	}
	var buf [blockSize + 64]byte
	b := buf[:blockSize]
	if len(msg) > len(buf)-blockSize {
		b = make([]byte, blockSize, blockSize+len(msg))
	}
	b = append(b, msg...)
	return hmacPrefixed(key, b)
}

// deriveSigningKey is SigV4's key derivation:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveSigningKey(secret string, s Scope) [sha256.Size]byte {
	var kb [4 + 60]byte
	k := append(kb[:0], "AWS4"...)
	k = append(k, secret...) // may spill to the heap for secrets over 60 bytes; AWS's are 40
	key := hmacSmall(k, s.Date)
	clear(kb[:])
	key = hmacSmall(key[:], s.Region)
	key = hmacSmall(key[:], s.Service)
	return hmacSmall(key[:], terminator)
}

// unsafeString views b as a string; b must not change while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unsafeBytes views s as a byte slice for read-only use.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
