package store

import (
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

func (tx *Tx) newID(prefix, given string) (string, error) {
	if given != "" {
		if err := account.RuleAccessKeyID.Check("id", given); err != nil { // idType: 16–128 \w
			return "", err
		}
		return given, nil
	}
	return account.NewUniqueID(prefix, tx.s.accountID, tx.s.o.Rand)
}

func (tx *Tx) createdAt(t time.Time) time.Time {
	if t.IsZero() {
		return tx.s.now()
	}
	return t.UTC().Truncate(time.Second)
}

// CreateUser creates u. Name is required; Path defaults to "/"; ID and Created are set
// unless given (an import keeps AWS's). Attached policies and the boundary must exist.
func (tx *Tx) CreateUser(u account.User) (account.User, error) {
	if err := tx.checkWritable(); err != nil {
		return account.User{}, err
	}
	if err := users.claim(tx, &u, func() error { return tx.checkAttachable(u.ManagedPolicies, u.PermissionsBoundary) }); err != nil {
		return account.User{}, err
	}
	u.Created = tx.createdAt(u.Created)
	u.InlinePolicies = sortedInline(u.InlinePolicies)
	if err := insertAttached(tx, users, &u, account.UserRef(u.Name), &u.ManagedPolicies, &u.PermissionsBoundary); err != nil {
		return account.User{}, err
	}
	return tx.User(u.Name)
}

// User returns the user called name (without regard to case), or the root user for
// account.RootUserName.
func (tx *Tx) User(name string) (account.User, error) {
	if name == account.RootUserName {
		return tx.rootUser()
	}
	id, err := users.id(tx, name)
	if err != nil {
		return account.User{}, err
	}
	return tx.UserByID(id)
}

// UserByID returns the user with unique id id (the account id: the root user).
func (tx *Tx) UserByID(id string) (account.User, error) {
	if id == tx.s.accountID {
		return tx.rootUser()
	}
	u, err := users.byID(tx, id)
	if err != nil {
		return account.User{}, err
	}
	return tx.withPasswordLastUsed(u), nil
}

// withPasswordLastUsed adds the user's last console sign-in to its record.
func (tx *Tx) withPasswordLastUsed(u account.User) account.User {
	u.PasswordLastUsed = tx.usage(usagePassword, u.ID).Date
	return u
}

func (tx *Tx) rootUser() (account.User, error) {
	a, err := tx.Account()
	if err != nil {
		return account.User{}, err
	}
	return tx.withPasswordLastUsed(account.RootUser(a.ID, a.Created)), nil
}

// Users lists users whose path starts with pathPrefix ("" for all), by name.
func (tx *Tx) Users(pathPrefix string, p Page) ([]account.User, string, error) {
	return listNamed(tx, users, pathPrefix, p, func(u account.User) (account.User, bool, error) {
		return tx.withPasswordLastUsed(u), true, nil
	})
}

// UpdateUser renames and/or moves the user called name, as IAM's UpdateUser (NewUserName,
// NewPath); "" leaves a field unchanged.
func (tx *Tx) UpdateUser(name, newName, newPath string) (account.User, error) {
	u, err := change(tx, tx.User, name)
	if err != nil {
		return account.User{}, err
	}
	if u.IsRoot() {
		return account.User{}, account.Errorf(account.InvalidInput, "The root user cannot be renamed or moved.")
	}
	if err := users.move(tx, &u, newName, newPath, account.RuleUserName, "newUserName"); err != nil {
		return account.User{}, err
	}
	// Access key records carry their owner's name and path for the lookup hot path.
	keys, err := tx.relList(rUserKey, u.ID)
	if err != nil {
		return account.User{}, err
	}
	for _, id := range keys {
		r, err := tx.userKeyRecord(u, id)
		if err != nil {
			return account.User{}, err
		}
		r.UserName, r.UserPath = u.Name, u.Path
		if err := tx.putKeyRecord(id, r); err != nil {
			return account.User{}, err
		}
	}
	return tx.UserByID(u.ID)
}

// DeleteUser deletes the user called name. As IAM, it refuses (DeleteConflict) while the
// user has access keys, a login profile, MFA devices, policies or group memberships.
func (tx *Tx) DeleteUser(name string) error {
	u, err := change(tx, tx.User, name)
	if err != nil {
		return err
	}
	if u.IsRoot() {
		return account.Errorf(account.InvalidInput, "The root user cannot be deleted.")
	}
	checks := []struct {
		rel, msg string
	}{
		{rUserKey, "Cannot delete entity, must delete access keys first."},
		{rUserMFA, "Cannot delete entity, must delete MFA device first."},
		{rUserGroup, "Cannot delete entity, must remove user from all groups first."},
	}
	for _, c := range checks {
		if n, err := tx.relCount(c.rel, u.ID); err != nil || n > 0 {
			return orErr(err, conflict("%s", c.msg))
		}
	}
	if err := tx.userCredentialConflict(u.ID); err != nil {
		return err
	}
	if lp, err := tx.kv.Get(bLogins, []byte(u.ID)); err != nil || lp != nil {
		return orErr(err, conflict("Cannot delete entity, must delete login profile first."))
	}
	if err := tx.dropPolicies(nUser, u.ID, u.InlinePolicies, u.ManagedPolicies, u.PermissionsBoundary); err != nil {
		return err
	}
	if err := tx.deleteUsage(usagePassword, u.ID); err != nil {
		return err
	}
	if err := tx.deleteAccessUsage(u.ID); err != nil {
		return err
	}
	return users.remove(tx, u)
}

// orErr returns err when it is not nil, else alt.
func orErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
