package store

import (
	"slices"

	"github.com/credbroker/credbroker/sts/account"
)

// Account returns the account record: id, creation date (the root user's), aliases and
// password policy.
func (tx *Tx) Account() (account.Account, error) {
	var a account.Account
	ok, err := tx.get(bMeta, []byte(mAccount), &a)
	if err != nil || !ok {
		return a, orErr(err, errMissingAccount)
	}
	return a, nil
}

var errMissingAccount = account.Errorf(account.NoSuchEntity, "The account record is missing.")

func (tx *Tx) updateAccount(fn func(*account.Account) error) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	a, err := tx.Account()
	if err != nil {
		return err
	}
	if err := fn(&a); err != nil {
		return err
	}
	return tx.put(bMeta, []byte(mAccount), a)
}

// SetPasswordPolicy sets the account password policy, or deletes it when p is nil
// (NoSuchEntity when there is none to delete).
func (tx *Tx) SetPasswordPolicy(p *account.PasswordPolicy) error {
	if p != nil {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	return tx.updateAccount(func(a *account.Account) error {
		if p == nil && a.PasswordPolicy == nil {
			return notFound("The Password Policy with domain name %s cannot be found.", a.ID)
		}
		if p != nil {
			cp := *p
			p = &cp
		}
		a.PasswordPolicy = p
		return nil
	})
}

// CreateAccountAlias sets the account's alias (an account has at most one; creating the
// same alias again is not an error).
func (tx *Tx) CreateAccountAlias(alias string) error {
	if err := account.RuleAccountAlias.Check("accountAlias", alias); err != nil {
		return err
	}
	return tx.updateAccount(func(a *account.Account) error {
		if slices.Contains(a.Aliases, alias) {
			return nil
		}
		if len(a.Aliases) >= account.MaxAccountAliases {
			return limitExceeded("Cannot exceed quota for AccountAliasesPerAccount: %d", account.MaxAccountAliases)
		}
		a.Aliases = append(a.Aliases, alias)
		return nil
	})
}

// DeleteAccountAlias removes the account's alias.
func (tx *Tx) DeleteAccountAlias(alias string) error {
	return tx.updateAccount(func(a *account.Account) error {
		i := slices.Index(a.Aliases, alias)
		if i < 0 {
			return notFound("The account alias %s cannot be found.", alias)
		}
		a.Aliases = slices.Delete(a.Aliases, i, i+1)
		return nil
	})
}
