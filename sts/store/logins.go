package store

import (
	"strings"

	"github.com/credbroker/credbroker/sts/account"
)

func checkHash(h string) error {
	if !strings.HasPrefix(h, "$argon2id$") {
		// A guard against storing a password where its hash belongs.
		return account.Errorf(account.InvalidInput, "A login profile holds an argon2id password hash (account.Argon2id.Hash), not a password.")
	}
	return nil
}

// CreateLoginProfile gives a user (or root) a console password: lp.UserName and
// lp.PasswordHash (from account.Argon2id.Hash) are required. The store keeps only the
// hash: it is a one-way verifier, not an encrypted secret.
func (tx *Tx) CreateLoginProfile(lp account.LoginProfile) (account.LoginProfile, error) {
	if err := tx.checkWritable(); err != nil {
		return account.LoginProfile{}, err
	}
	if err := checkHash(lp.PasswordHash); err != nil {
		return account.LoginProfile{}, err
	}
	u, err := tx.User(lp.UserName)
	if err != nil {
		return account.LoginProfile{}, err
	}
	if dup, err := tx.kv.Get(bLogins, []byte(u.ID)); err != nil || dup != nil {
		return account.LoginProfile{}, orErr(err, exists("Login Profile for user %s already exists.", u.Name))
	}
	lp.UserID, lp.UserName = u.ID, u.Name
	lp.Created = tx.createdAt(lp.Created)
	if lp.PasswordChanged.IsZero() {
		lp.PasswordChanged = lp.Created
	}
	return lp, tx.put(bLogins, []byte(u.ID), lp)
}

// LoginProfile returns a user's login profile.
func (tx *Tx) LoginProfile(userName string) (account.LoginProfile, error) {
	u, err := tx.User(userName)
	if err != nil {
		return account.LoginProfile{}, err
	}
	var lp account.LoginProfile
	ok, err := tx.get(bLogins, []byte(u.ID), &lp)
	if err != nil || !ok {
		return lp, orErr(err, notFound("Login Profile for User %s cannot be found.", u.Name))
	}
	lp.UserName = u.Name
	return lp, nil
}

// UpdateLoginProfile changes a user's login profile through fn (typically
// lp.SetPassword, or PasswordResetRequired); UserID and Created cannot change.
func (tx *Tx) UpdateLoginProfile(userName string, fn func(*account.LoginProfile) error) (account.LoginProfile, error) {
	lp, err := change(tx, tx.LoginProfile, userName)
	if err != nil {
		return lp, err
	}
	next := lp
	if err := fn(&next); err != nil {
		return lp, err
	}
	if err := checkHash(next.PasswordHash); err != nil {
		return lp, err
	}
	next.UserID, next.UserName, next.Created = lp.UserID, lp.UserName, lp.Created
	next.PasswordChanged = next.PasswordChanged.UTC()
	return next, tx.put(bLogins, []byte(next.UserID), next)
}

// DeleteLoginProfile removes a user's console password (and its history).
func (tx *Tx) DeleteLoginProfile(userName string) error {
	lp, err := change(tx, tx.LoginProfile, userName)
	if err != nil {
		return err
	}
	return tx.del(bLogins, []byte(lp.UserID))
}
