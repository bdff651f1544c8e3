package account

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// PasswordPolicy is the account password policy, with the fields of IAM's PasswordPolicy.
type PasswordPolicy struct {
	MinimumPasswordLength      int  `json:"min_length"`
	RequireSymbols             bool `json:"symbols,omitempty"`
	RequireNumbers             bool `json:"numbers,omitempty"`
	RequireUppercaseCharacters bool `json:"upper,omitempty"`
	RequireLowercaseCharacters bool `json:"lower,omitempty"`
	AllowUsersToChangePassword bool `json:"allow_change,omitempty"`
	MaxPasswordAge             int  `json:"max_age,omitempty"`          // days; 0: passwords never expire
	PasswordReusePrevention    int  `json:"reuse_prevention,omitempty"` // previous passwords refused; 0: off
	HardExpiry                 bool `json:"hard_expiry,omitempty"`
}

// ExpirePasswords is IAM's derived field: passwords expire when MaxPasswordAge is set.
func (p PasswordPolicy) ExpirePasswords() bool { return p.MaxPasswordAge > 0 }

// Validate checks the ranges UpdateAccountPasswordPolicy enforces.
func (p PasswordPolicy) Validate() error {
	var v Violations
	v.Int("minimumPasswordLength", p.MinimumPasswordLength, 6, 128)
	if p.MaxPasswordAge != 0 {
		v.Int("maxPasswordAge", p.MaxPasswordAge, 1, 1095)
	}
	if p.PasswordReusePrevention != 0 {
		v.Int("passwordReusePrevention", p.PasswordReusePrevention, 1, 24)
	}
	return v.Err()
}

// PasswordSymbols are the characters IAM counts as symbols.
const PasswordSymbols = "!@#$%^&*()_+-=[]{}|'"

// CheckPassword checks password against policy, or against AWS's default rules (at least
// 8 characters, three of the four character classes) when policy is nil. The error is a
// PasswordPolicyViolation naming every rule broken; it never contains the password.
// Reuse prevention needs the user's history: see PasswordReused.
func CheckPassword(policy *PasswordPolicy, password string) error {
	if err := RulePassword.Check("password", password); err != nil {
		return err
	}
	var upper, lower, digit, symbol bool
	n := 0
	for _, r := range password {
		n++
		switch {
		case unicode.IsUpper(r) && r < 0x80:
			upper = true
		case unicode.IsLower(r) && r < 0x80:
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(PasswordSymbols, r):
			symbol = true
		}
	}
	var broken []string
	if policy == nil {
		classes := 0
		for _, b := range []bool{upper, lower, digit, symbol} {
			if b {
				classes++
			}
		}
		if n < 8 {
			broken = append(broken, "Password should have a minimum length of 8")
		}
		if classes < 3 {
			broken = append(broken, "Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols")
		}
	} else {
		if n < policy.MinimumPasswordLength {
			broken = append(broken, fmt.Sprintf("Password should have a minimum length of %d", policy.MinimumPasswordLength))
		}
		if policy.RequireUppercaseCharacters && !upper {
			broken = append(broken, "Password should have at least one uppercase letter")
		}
		if policy.RequireLowercaseCharacters && !lower {
			broken = append(broken, "Password should have at least one lowercase letter")
		}
		if policy.RequireNumbers && !digit {
			broken = append(broken, "Password should have at least one number")
		}
		if policy.RequireSymbols && !symbol {
			broken = append(broken, "Password should have at least one symbol")
		}
	}
	if len(broken) > 0 {
		return &Error{Code: PasswordPolicyViolation, Message: strings.Join(broken, "; ")}
	}
	return nil
}

// PasswordReused reports whether password matches one of the hashes in history (a
// LoginProfile's current hash followed by its History, newest first).
func PasswordReused(history []string, password string) (bool, error) {
	for _, h := range history {
		ok, err := VerifyPassword(h, password)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// Argon2id holds argon2id parameters for password hashes (RFC 9106). The hash is written
// in PHC string form with its parameters, so changing them affects only new hashes.
type Argon2id struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2id returns OWASP's recommended minimum for argon2id: 19 MiB, 2 passes, 1 lane.
func DefaultArgon2id() Argon2id { return Argon2id{Time: 2, MemoryKiB: 19 * 1024, Threads: 1} }

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

var b64raw = base64.RawStdEncoding

// Hash returns the PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash) of password with a
// random salt.
func (a Argon2id) Hash(password string, rand io.Reader) (string, error) {
	if a.Time == 0 || a.MemoryKiB == 0 || a.Threads == 0 {
		return "", fmt.Errorf("argon2id parameters are incomplete (time %d, memory %d KiB, threads %d)", a.Time, a.MemoryKiB, a.Threads)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("reading a password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, a.Time, a.MemoryKiB, a.Threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.MemoryKiB, a.Time, a.Threads,
		b64raw.EncodeToString(salt), b64raw.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded (from Argon2id.Hash), comparing
// in constant time. The error reports a malformed or out-of-bounds hash string.
func VerifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, fmt.Errorf("password hash is not an argon2id v19 PHC string")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("password hash parameters %q: %w", parts[3], err)
	}
	if m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 || p > 16 {
		return false, fmt.Errorf("password hash parameters %q are out of bounds", parts[3])
	}
	salt, err := b64raw.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return false, fmt.Errorf("password hash salt is malformed")
	}
	want, err := b64raw.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, fmt.Errorf("password hash digest is malformed")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
