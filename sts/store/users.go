package store

import (
	"fmt"
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
	if u.Path == "" {
		u.Path = "/"
	}
	if err := u.Validate(); err != nil {
		return account.User{}, err
	}
	if id, err := tx.lookupName(nUser, u.Name); err != nil || id != "" {
		return account.User{}, orErr(err, exists("User with name %s already exists.", u.Name))
	}
	if err := tx.checkAttachable(u.ManagedPolicies, u.PermissionsBoundary); err != nil {
		return account.User{}, err
	}
	var err error
	if u.ID, err = tx.newID(account.PrefixUser, u.ID); err != nil {
		return account.User{}, err
	}
	if dup, err := tx.kv.Get(bUsers, []byte(u.ID)); err != nil || dup != nil {
		return account.User{}, orErr(err, exists("User with id %s already exists.", u.ID))
	}
	u.Created = tx.createdAt(u.Created)
	u.InlinePolicies = sortedInline(u.InlinePolicies)
	managed, boundary := u.ManagedPolicies, u.PermissionsBoundary
	u.ManagedPolicies, u.PermissionsBoundary = nil, ""
	if err := tx.put(bUsers, []byte(u.ID), u); err != nil {
		return account.User{}, err
	}
	if err := tx.putRaw(bNames, nameKey(nUser, u.Name), []byte(u.ID)); err != nil {
		return account.User{}, err
	}
	if err := tx.attachAll(account.UserRef(u.Name), managed, boundary); err != nil {
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
	id, err := tx.lookupName(nUser, name)
	if err != nil {
		return account.User{}, err
	}
	if id == "" {
		return account.User{}, notFound("The user with name %s cannot be found.", name)
	}
	return tx.UserByID(id)
}

// UserByID returns the user with unique id id (the account id: the root user).
func (tx *Tx) UserByID(id string) (account.User, error) {
	if id == tx.s.accountID {
		return tx.rootUser()
	}
	u, ok, err := tx.userRecord(id)
	if err != nil {
		return account.User{}, err
	}
	if !ok {
		return account.User{}, notFound("The user with id %s cannot be found.", id)
	}
	u.PasswordLastUsed = tx.usage(usagePassword, u.ID).Date
	return u, nil
}

func (tx *Tx) userRecord(id string) (account.User, bool, error) {
	var u account.User
	ok, err := tx.get(bUsers, []byte(id), &u)
	if ok {
		u.ARN = account.UserARN(tx.s.accountID, u.Path, u.Name)
	}
	return u, ok, err
}

func (tx *Tx) rootUser() (account.User, error) {
	a, err := tx.Account()
	if err != nil {
		return account.User{}, err
	}
	u := account.RootUser(a.ID, a.Created)
	u.PasswordLastUsed = tx.usage(usagePassword, a.ID).Date
	return u, nil
}

// Users lists users whose path starts with pathPrefix ("" for all), by name.
func (tx *Tx) Users(pathPrefix string, p Page) ([]account.User, string, error) {
	var out []account.User
	next, err := tx.listByName(nUser, p, func(id string) (bool, error) {
		u, ok, err := tx.userRecord(id)
		if err != nil || !ok || !hasPathPrefix(u.Path, pathPrefix) {
			return false, err
		}
		u.PasswordLastUsed = tx.usage(usagePassword, u.ID).Date
		out = append(out, u)
		return true, nil
	})
	return out, next, err
}

// UpdateUser renames and/or moves the user called name, as IAM's UpdateUser (NewUserName,
// NewPath); "" leaves a field unchanged.
func (tx *Tx) UpdateUser(name, newName, newPath string) (account.User, error) {
	if err := tx.checkWritable(); err != nil {
		return account.User{}, err
	}
	u, err := tx.User(name)
	if err != nil {
		return account.User{}, err
	}
	if u.IsRoot() {
		return account.User{}, account.Errorf(account.InvalidInput, "The root user cannot be renamed or moved.")
	}
	var v account.Violations
	if newName != "" {
		v.Check(account.RuleUserName, "newUserName", newName)
	}
	if newPath != "" {
		v.Check(account.RulePath, "newPath", newPath)
	}
	if err := v.Err(); err != nil {
		return account.User{}, err
	}
	old := u.Name
	if newName != "" && newName != u.Name {
		if other, err := tx.lookupName(nUser, newName); err != nil || (other != "" && other != u.ID) {
			return account.User{}, orErr(err, exists("User with name %s already exists.", newName))
		}
		if err := tx.del(bNames, nameKey(nUser, old)); err != nil {
			return account.User{}, err
		}
		if err := tx.putRaw(bNames, nameKey(nUser, newName), []byte(u.ID)); err != nil {
			return account.User{}, err
		}
		u.Name = newName
	}
	if newPath != "" {
		u.Path = newPath
	}
	if err := tx.put(bUsers, []byte(u.ID), u); err != nil {
		return account.User{}, err
	}
	// Access key records carry their owner's name and path for the lookup hot path.
	keys, err := tx.relList(rUserKey, u.ID)
	if err != nil {
		return account.User{}, err
	}
	for _, id := range keys {
		r, ok, err := tx.keyRecord(id)
		if err != nil || !ok {
			return account.User{}, orErr(err, fmt.Errorf("access key %s of user %s has no record", id, u.ID))
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
	if err := tx.checkWritable(); err != nil {
		return err
	}
	u, err := tx.User(name)
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
	if len(u.InlinePolicies) > 0 {
		return conflict("Cannot delete entity, must delete policies first.")
	}
	if len(u.ManagedPolicies) > 0 {
		return conflict("Cannot delete entity, must detach all policies first.")
	}
	if u.PermissionsBoundary != "" {
		if err := tx.relDel(rBoundary, u.PermissionsBoundary, holderKey(nUser, u.ID)); err != nil {
			return err
		}
	}
	if err := tx.del(bNames, nameKey(nUser, u.Name)); err != nil {
		return err
	}
	if err := tx.deleteUsage(usagePassword, u.ID); err != nil {
		return err
	}
	if err := tx.deleteAccessUsage(u.ID); err != nil {
		return err
	}
	return tx.del(bUsers, []byte(u.ID))
}

// orErr returns err when it is not nil, else alt.
func orErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
