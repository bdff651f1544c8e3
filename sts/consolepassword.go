package sts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// SetConsolePassword gives user (account.RootUserName for the root user) the
// console password: checked against the account's password policy (AWS's default
// rules when there is none) and hashed as IAM's CreateLoginProfile hashes it
// (account.DefaultArgon2id). An existing password is replaced, the old hash kept
// in the history as the policy's reuse prevention asks, and a forced change or an
// expiry is cleared unless reset asks for a change at the next sign-in.
//
// It is the host administrator's way in, with no IAM credentials: `core init`
// and `core root-password` call it (the equivalent of AWS's root password
// recovery). The error never holds the password.
func SetConsolePassword(ctx context.Context, st Store, user, password string, reset bool) error {
	var pp *account.PasswordPolicy
	if err := st.View(ctx, func(tx *store.Tx) error {
		acct, err := tx.Account()
		pp = acct.PasswordPolicy
		return err
	}); err != nil {
		return fmt.Errorf("reading the account's password policy: %w", err)
	}
	if err := account.CheckPassword(pp, password); err != nil {
		return err
	}
	// Hashing is slow: outside the transaction.
	hash, err := account.DefaultArgon2id().Hash(password, rand.Reader)
	if err != nil {
		return fmt.Errorf("hashing the console password: %w", err)
	}
	keep := 0
	if pp != nil {
		keep = pp.PasswordReusePrevention
	}
	return st.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.UpdateLoginProfile(user, func(lp *account.LoginProfile) error {
			lp.SetPassword(hash, time.Now(), keep)
			lp.PasswordResetRequired = reset
			return nil
		})
		if errors.Is(err, account.ErrNoSuchEntity) {
			_, err = tx.CreateLoginProfile(account.LoginProfile{UserName: user, PasswordHash: hash, PasswordResetRequired: reset})
		}
		if err != nil {
			return fmt.Errorf("setting %s's console password: %w", user, err)
		}
		return nil
	})
}
