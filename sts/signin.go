package sts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Console sign-in durations: a console session is short (AWS's console signs a
// password user out after 12 hours; the core's default is one hour).
const (
	consoleSessionDefault = time.Hour
	consoleSessionMax     = 12 * time.Hour
)

// SignInError is a refused or unfinished sign-in. Its text is written for the
// person signing in, and never says whether the name or the password was wrong.
type SignInError string

func (e SignInError) Error() string { return string(e) }

// Sign-in outcomes other than success.
const (
	// ErrSignInFailed is every failed sign-in: unknown user, no console password,
	// wrong password, wrong or replayed MFA code.
	ErrSignInFailed SignInError = "Your authentication information is incorrect. Please try again."
	// ErrMFARequired says the password was right and the user has an MFA device:
	// sign in again with MFACode.
	ErrMFARequired SignInError = "Enter the code from your MFA device."
	// ErrPasswordExpired says the password expired under a policy with HardExpiry:
	// an administrator must reset it.
	ErrPasswordExpired SignInError = "Your password has expired. Ask your administrator to reset it."
)

// SignInInput is one console sign-in attempt.
type SignInInput struct {
	// UserName is the IAM user's name, or account.RootUserName for the root user.
	UserName string
	Password string
	// MFACode is the TOTP code of the user's MFA device, when it has one.
	MFACode string
	// SourceIP is the browser's address, for the audit trail.
	SourceIP netip.Addr
	// Duration of the session (default one hour, at most 12).
	Duration time.Duration
}

// SessionCredentials are temporary credentials the core minted.
type SessionCredentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
}

// SignInResult is a successful sign-in.
type SignInResult struct {
	// Credentials of the console session: the console signs every IAM call it
	// makes for the user with them.
	Credentials SessionCredentials
	// ARN of the user (root's ARN for root).
	ARN string
	// PasswordResetRequired says the user must change the password (IAM
	// ChangePassword) before anything else: an administrator asked for it, or the
	// password expired.
	PasswordResetRequired bool
}

// dummyHash is verified when the user has no console password, so that a sign-in
// takes as long whether the user exists or not.
var dummyHash = sync.OnceValue(func() string {
	h, err := account.DefaultArgon2id().Hash("credbroker-not-a-password", rand.Reader)
	if err != nil {
		return ""
	}
	return h
})

// SignIn checks a console password (and the MFA code, when the user has an
// enabled MFA device) of the root user or an IAM user, and mints a console
// session: temporary credentials of that user, which may call IAM. Every attempt
// is an audit line. Failures are ErrSignInFailed, ErrMFARequired or
// ErrPasswordExpired; other errors are the store's.
func (c *Core) SignIn(ctx context.Context, in SignInInput) (*SignInResult, error) {
	now := c.now().UTC()
	res, err := c.signIn(ctx, in, now)
	outcome := "success"
	switch {
	case err == nil:
	case errors.Is(err, ErrMFARequired):
		outcome = "mfa-required"
	case errors.Is(err, ErrSignInFailed), errors.Is(err, ErrPasswordExpired):
		outcome = "failure"
	default:
		outcome = "error"
		c.log.Error("console sign-in failed", "user", in.UserName, "error", err)
	}
	src := "-"
	if in.SourceIP.IsValid() {
		src = in.SourceIP.String()
	}
	c.audit.Info("console sign-in", "user", auditAction(in.UserName), "outcome", outcome, "mfa", in.MFACode != "", "source_ip", src)
	return res, err
}

func (c *Core) signIn(ctx context.Context, in SignInInput, now time.Time) (*SignInResult, error) {
	var u account.User
	var lp account.LoginProfile
	var pp *account.PasswordPolicy
	var devices []account.VirtualMFADevice
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.User(in.UserName); err != nil {
			return err
		}
		if lp, err = tx.LoginProfile(u.Name); err != nil {
			return err
		}
		acct, err := tx.Account()
		if err != nil {
			return err
		}
		pp = acct.PasswordPolicy
		devices, err = tx.MFADevices(u.Name)
		return err
	})
	if errors.Is(err, account.ErrNoSuchEntity) || (err == nil && lp.PasswordHash == "") {
		_, _ = account.VerifyPassword(dummyHash(), in.Password)
		return nil, ErrSignInFailed
	}
	if err != nil {
		return nil, fmt.Errorf("reading the login profile of %q: %w", in.UserName, err)
	}
	good, err := account.VerifyPassword(lp.PasswordHash, in.Password)
	if err != nil {
		return nil, fmt.Errorf("verifying the password of %s: %w", u.Name, err)
	}
	if !good {
		return nil, ErrSignInFailed
	}
	reset := lp.PasswordResetRequired
	if pp != nil && pp.MaxPasswordAge > 0 && now.After(lp.PasswordChanged.Add(time.Duration(pp.MaxPasswordAge)*24*time.Hour)) {
		if pp.HardExpiry {
			return nil, ErrPasswordExpired
		}
		reset = true
	}
	var mfaTime time.Time
	if dev, ok := enabledDevice(devices); ok {
		if in.MFACode == "" {
			return nil, ErrMFARequired
		}
		owner := u.ID
		if u.IsRoot() {
			owner = c.st.AccountID()
		}
		if mfaTime, err = c.acceptCode(ctx, dev.Serial, owner, in.MFACode, now, ErrSignInFailed, ErrSignInFailed); err != nil {
			return nil, err
		}
	}
	dur := in.Duration
	if dur <= 0 {
		dur = consoleSessionDefault
	}
	dur = min(dur, consoleSessionMax)
	creds, err := c.mintUserSession(session.KindConsole, u.ARN, u.ID, now, dur, mfaTime)
	if err != nil {
		return nil, err
	}
	return &SignInResult{
		Credentials: SessionCredentials{AccessKeyID: creds.akid, SecretAccessKey: creds.secret,
			SessionToken: creds.token, Expiration: creds.expiry},
		ARN: u.ARN, PasswordResetRequired: reset,
	}, nil
}

func enabledDevice(ds []account.VirtualMFADevice) (account.VirtualMFADevice, bool) {
	for _, d := range ds {
		if !d.Enabled.IsZero() {
			return d, true
		}
	}
	return account.VirtualMFADevice{}, false
}

// acceptCode checks a TOTP code of device serial, enabled for the user of id owner,
// and records its time step, so that the code is not accepted again. A device that
// is not the owner's answers errDevice, a wrong or replayed code errCode.
func (c *Core) acceptCode(ctx context.Context, serial, owner, code string, now time.Time, errDevice, errCode error) (time.Time, error) {
	err := c.st.Update(ctx, func(tx *store.Tx) error {
		d, err := tx.VirtualMFADevice(serial)
		if errors.Is(err, account.ErrNoSuchEntity) {
			return errDevice
		}
		if err != nil {
			return err
		}
		if d.UserID != owner || d.Enabled.IsZero() {
			return errDevice
		}
		step, ok := MatchTOTP(d.Seed, code, now, 1)
		if !ok {
			return errCode
		}
		fresh, err := tx.AcceptMFAStep(d.Serial, step)
		if err != nil {
			return err
		}
		if !fresh {
			return errCode
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return now, nil
}

// AccountAliases returns the account's aliases (at most one, as IAM's), for the
// console's sign-in URL.
func (c *Core) AccountAliases(ctx context.Context) ([]string, error) {
	var out []string
	err := c.st.View(ctx, func(tx *store.Tx) error {
		acct, err := tx.Account()
		out = acct.Aliases
		return err
	})
	return out, err
}

// enableSkew is how many time steps either side of now EnableRootMFA accepts, as
// IAM's EnableMFADevice.
const rootEnableSkew = 2

// EnableRootMFA assigns the unassigned virtual MFA device serial (made with
// CreateVirtualMFADevice) to the root user, checking two consecutive codes of it.
// AWS lets only its console do this (no API can enable the root user's MFA), and so
// does the core: creds must be a live console session of the root user itself.
// Errors are *query.Error in IAM's codes; the attempt is an audit line.
func (c *Core) EnableRootMFA(ctx context.Context, creds SessionCredentials, serial, code1, code2 string, src netip.Addr) error {
	err := c.enableRootMFA(ctx, creds, serial, code1, code2)
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	s := "-"
	if src.IsValid() {
		s = src.String()
	}
	c.audit.Info("console root MFA", "serial", auditAction(serial), "outcome", outcome, "access_key_id", creds.AccessKeyID, "source_ip", s)
	return err
}

func (c *Core) enableRootMFA(ctx context.Context, creds SessionCredentials, serial, code1, code2 string) error {
	acct := c.st.AccountID()
	claims, secret, err := c.sealer.Load().Lookup(creds.AccessKeyID, creds.SessionToken)
	if err != nil || subtle.ConstantTimeCompare([]byte(secret), []byte(creds.SecretAccessKey)) != 1 ||
		claims.Kind != session.KindConsole || claims.PrincipalARN != account.RootARN(acct) {
		return query.NewError(query.CodeAccessDenied, "Only the root user, signed in to the console, can assign the root user's MFA device.")
	}
	now := c.now()
	return c.st.Update(ctx, func(tx *store.Tx) error {
		d, err := tx.VirtualMFADevice(serial)
		if err != nil {
			return err
		}
		if d.UserID != "" {
			return account.Errorf(account.EntityAlreadyExists, "MFA Device is already in use.")
		}
		step, ok := MatchConsecutiveTOTP(d.Seed, code1, code2, TOTPStep(now), rootEnableSkew)
		if !ok {
			return query.NewError("InvalidAuthenticationCode", "Authentication code for device is not valid.")
		}
		if err := tx.EnableMFADevice(account.RootUserName, d.Serial); err != nil {
			return err
		}
		if _, err := tx.AcceptMFAStep(d.Serial, step+1); err != nil {
			return err
		}
		return nil
	})
}
