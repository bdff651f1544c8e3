package sts

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
)

// TOTPPeriod is the time step of virtual MFA devices (RFC 6238, as AWS's).
const TOTPPeriod = 30 * time.Second

// TOTPCode returns the six-digit code of seed for time step step (RFC 6238 with
// SHA-1, as AWS's virtual MFA devices).
func TOTPCode(seed []byte, step uint64) (string, error) {
	return hotp.GenerateCodeCustom(base32.StdEncoding.EncodeToString(seed), step,
		hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// TOTPStep returns the time step of t.
func TOTPStep(t time.Time) uint64 { return uint64(t.Unix()) / uint64(TOTPPeriod/time.Second) }

// MatchTOTP looks for code among the codes of seed for the time steps around at (skew
// steps either way) and returns the step it belongs to. Codes are compared in constant
// time. The caller records the step (store.Tx.AcceptMFAStep) so that a code is good
// once.
func MatchTOTP(seed []byte, code string, at time.Time, skew int) (step uint64, ok bool) {
	if len(code) != 6 {
		return 0, false
	}
	now := TOTPStep(at)
	for d := -skew; d <= skew; d++ {
		s := int64(now) + int64(d)
		if s < 0 {
			continue
		}
		want, err := TOTPCode(seed, uint64(s))
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return uint64(s), true
		}
	}
	return 0, false
}

// errMFASerial is AWS's answer to a serial number that is not the caller's device.
func errMFASerial() error {
	return query.NewError(query.CodeAccessDenied, "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.")
}

// errMFACode is AWS's answer to a wrong (or replayed) code.
func errMFACode() error {
	return query.NewError(query.CodeAccessDenied, "MultiFactorAuthentication failed with invalid MFA one time pass code.")
}

// checkMFA verifies the SerialNumber and TokenCode of an STS call against the calling
// user's enabled device, and records the code's time step so that it is not accepted
// again. It returns when the code was checked.
func (c *Core) checkMFA(ctx context.Context, call *Call, serial, code string) (time.Time, error) {
	cl := call.Caller
	if serial == "" || code == "" {
		return time.Time{}, errMFACode()
	}
	if cl == nil || cl.entry == nil || cl.entry.missing ||
		(cl.Principal.Type != policy.PrincipalUser && cl.Principal.Type != policy.PrincipalRoot) {
		return time.Time{}, errMFASerial()
	}
	userID := cl.entry.id
	if cl.entry.root {
		userID = cl.Account
	}
	return c.acceptCode(ctx, serial, userID, code, call.Now, errMFASerial(), errMFACode())
}

// MatchConsecutiveTOTP finds the time step s, within skew steps of now, at which
// code1 is the code of step s and code2 that of step s+1 (IAM's EnableMFADevice and
// ResyncMFADevice take two consecutive codes). Codes are compared in constant time.
func MatchConsecutiveTOTP(seed []byte, code1, code2 string, now uint64, skew int) (uint64, bool) {
	for d := -skew; d <= skew; d++ {
		s := int64(now) + int64(d)
		if s < 0 {
			continue
		}
		c1, err1 := TOTPCode(seed, uint64(s))
		c2, err2 := TOTPCode(seed, uint64(s)+1)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(c1), []byte(code1)) == 1 && subtle.ConstantTimeCompare([]byte(c2), []byte(code2)) == 1 {
			return uint64(s), true
		}
	}
	return 0, false
}
