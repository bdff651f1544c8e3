package account

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// ID prefixes, as AWS uses them for unique ids and access key ids.
const (
	PrefixUser            = "AIDA" // IAM user unique id
	PrefixRole            = "AROA" // role unique id (and the first half of an assumed role's)
	PrefixGroup           = "AGPA" // group unique id
	PrefixPolicy          = "ANPA" // customer managed policy id
	PrefixInstanceProfile = "AIPA" // instance profile id
	PrefixAccessKey       = "AKIA" // long-term access key id
	PrefixSessionKey      = "ASIA" // temporary (STS) access key id
)

const (
	accessKeyIDLen = 20 // AKIA + 16
	uniqueIDLen    = 21 // AIDA + 17
	secretBytes    = 30 // 40 base64 characters, as AWS's secrets
	// accountMask selects the account id bits in the first six decoded bytes of an id.
	accountMask = 0x7fffffffff80
)

// b32 is RFC 4648 base32 without padding: AWS ids use the alphabet A–Z, 2–7.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newIDBody returns 16 base32 characters that encode accountID the way AWS does since
// 2019 (GetAccessKeyInfo decodes it back): bits 7–46 of the first six bytes hold the
// account id, the rest is random.
func newIDBody(accountID string, rand io.Reader) (string, error) {
	acct, err := parseAccountID(accountID)
	if err != nil {
		return "", err
	}
	var b [10]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness for an id: %w", err)
	}
	z := acct<<7 | uint64(b[5]&0x7f)
	var head [8]byte
	binary.BigEndian.PutUint64(head[:], z)
	copy(b[:6], head[2:])
	return b32.EncodeToString(b[:]), nil
}

// NewAccessKeyID returns a 20-character access key id with prefix (PrefixAccessKey or
// PrefixSessionKey) that encodes accountID.
func NewAccessKeyID(prefix, accountID string, rand io.Reader) (string, error) {
	body, err := newIDBody(accountID, rand)
	if err != nil {
		return "", err
	}
	return prefix + body, nil
}

// NewUniqueID returns a 21-character unique id with prefix (PrefixUser, PrefixRole, …)
// that encodes accountID.
func NewUniqueID(prefix, accountID string, rand io.Reader) (string, error) {
	body, err := newIDBody(accountID, rand)
	if err != nil {
		return "", err
	}
	var extra [1]byte
	if _, err := io.ReadFull(rand, extra[:]); err != nil {
		return "", fmt.Errorf("reading randomness for an id: %w", err)
	}
	return prefix + body + string(b32Alphabet[extra[0]&31]), nil
}

const b32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// AccountFromID decodes the account id that AWS encodes in access key ids and unique ids
// made since 2019 (and that NewAccessKeyID and NewUniqueID encode). ok is false when id
// is too short or not base32; older AWS ids decode to an arbitrary number.
func AccountFromID(id string) (accountID string, ok bool) {
	if len(id) < accessKeyIDLen {
		return "", false
	}
	var b [10]byte
	n, err := b32.Decode(b[:], []byte(id[4:accessKeyIDLen]))
	if err != nil || n != len(b) {
		return "", false
	}
	var head [8]byte
	copy(head[2:], b[:6])
	acct := (binary.BigEndian.Uint64(head[:]) & accountMask) >> 7
	if acct > 999_999_999_999 {
		return "", false
	}
	return fmt.Sprintf("%012d", acct), true
}

// NewSecretAccessKey returns a 40-character secret access key (base64 of 30 random bytes).
func NewSecretAccessKey(rand io.Reader) (string, error) {
	var b [secretBytes]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness for a secret access key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func parseAccountID(id string) (uint64, error) {
	if err := ValidateAccountID(id); err != nil {
		return 0, err
	}
	return strconv.ParseUint(id, 10, 64)
}

// ValidateAccountID reports whether id is a 12-digit AWS account id.
func ValidateAccountID(id string) error {
	if len(id) != 12 {
		return Errorf(InvalidInput, "Account ID %q is not valid: it must be 12 digits.", id)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return Errorf(InvalidInput, "Account ID %q is not valid: it must be 12 digits.", id)
		}
	}
	return nil
}
