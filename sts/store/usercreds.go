package store

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/credbroker/credbroker/sts/account"
)

// userCredRecord is a user's SSH public key, signing certificate or service-specific
// credential as stored: a service-specific password sealed.
type userCredRecord struct {
	account.UserCredential
	SealedSecret []byte `json:"secret,omitempty"`
}

const (
	bUserCreds = "usercreds" // SSH public keys, signing certificates, service-specific credentials
	rUserCred  = "uc"        // relation: user id → credential kind letter + credential id
	// rCertDigest relates a signing certificate's SHA-256 to its id (account-wide).
	rCertDigest              = "cd"
	purposeServiceCredential = "service-credential"
)

// credKinds describes each kind of user credential: its quota and IAM's messages.
var credKinds = map[account.CredentialKind]struct {
	quota                 int
	quotaName, notFound   string
	deleteConflict, label string
}{
	account.CredSSHPublicKey: {account.MaxSSHPublicKeysPerUser, "SSHPublicKeysPerUser",
		"The Public Key with id %s cannot be found.", "Cannot delete entity, must delete SSH public keys first.", "SSH public key"},
	account.CredSigningCertificate: {account.MaxSigningCertificatesPerUser, "SigningCertificatesPerUser",
		"The Certificate with id %s cannot be found.", "Cannot delete entity, must delete signing certificates first.", "signing certificate"},
	account.CredServiceSpecific: {account.MaxServiceCredentialsPerService, "ServiceSpecificCredentialsPerUserPerService",
		"No such credential %s exists.", "Cannot delete entity, must delete service specific credentials first.", "service-specific credential"},
}

func credRel(kind account.CredentialKind, id string) string { return string(kind) + id }

// AddUserCredential stores c (Kind, Body, Digest, service fields and Secret set by the
// caller; an ID is made) for the user userName (account.RootUserName: root, for signing
// certificates), active, checking IAM's quotas and duplicates in the same transaction.
func (tx *Tx) AddUserCredential(userName string, c account.UserCredential) (account.UserCredential, error) {
	if err := tx.checkWritable(); err != nil {
		return account.UserCredential{}, err
	}
	k, ok := credKinds[c.Kind]
	if !ok {
		return account.UserCredential{}, account.Errorf(account.InvalidInput, "Unknown credential kind %q.", c.Kind)
	}
	u, err := tx.User(userName)
	if err != nil {
		return account.UserCredential{}, err
	}
	if u.IsRoot() && c.Kind != account.CredSigningCertificate {
		return account.UserCredential{}, account.Errorf(account.InvalidInput, "The root user cannot have a %s.", k.label)
	}
	mine, err := tx.userCredentials(u, c.Kind)
	if err != nil {
		return account.UserCredential{}, err
	}
	n := 0
	for _, m := range mine {
		if c.Kind == account.CredSSHPublicKey && m.Digest == c.Digest {
			return account.UserCredential{}, account.Errorf(account.DuplicateSSHPublicKey, "The public key is already associated with the user %s.", u.Name)
		}
		if c.Kind != account.CredServiceSpecific || m.ServiceName == c.ServiceName {
			n++
		}
	}
	if n >= k.quota {
		return account.UserCredential{}, limitExceeded("Cannot exceed quota for %s: %d", k.quotaName, k.quota)
	}
	if c.Kind == account.CredSigningCertificate {
		if ids, err := tx.relList(rCertDigest, c.Digest); err != nil || len(ids) > 0 {
			return account.UserCredential{}, orErr(err, account.Errorf(account.DuplicateCertificate, "The certificate is already associated with a user in this account."))
		}
	}
	if c.ID, err = tx.newCredentialID(c.Kind); err != nil {
		return account.UserCredential{}, err
	}
	c.UserID, c.UserName, c.Status, c.Created = u.ID, u.Name, account.KeyActive, tx.createdAt(c.Created)
	if err := tx.putUserCredential(c); err != nil {
		return account.UserCredential{}, err
	}
	if c.Kind == account.CredSigningCertificate {
		if err := tx.relAdd(rCertDigest, c.Digest, c.ID); err != nil {
			return account.UserCredential{}, err
		}
	}
	return c, tx.relAdd(rUserCred, u.ID, credRel(c.Kind, c.ID))
}

func (tx *Tx) newCredentialID(kind account.CredentialKind) (string, error) {
	for {
		var id string
		var err error
		switch kind {
		case account.CredSSHPublicKey:
			id, err = account.NewAccessKeyID(account.PrefixSSHPublicKey, tx.s.accountID, tx.s.o.Rand)
		case account.CredServiceSpecific:
			id, err = account.NewUniqueID(account.PrefixServiceCredential, tx.s.accountID, tx.s.o.Rand)
		default:
			id, err = account.NewSigningCertificateID(tx.s.o.Rand)
		}
		if err != nil {
			return "", err
		}
		if dup, err := tx.kv.Get(bUserCreds, []byte(id)); err != nil || dup == nil {
			return id, err
		}
	}
}

// putUserCredential writes c, sealing c.Secret when it is set (a new or reset
// service-specific password) and keeping the sealed one otherwise.
func (tx *Tx) putUserCredential(c account.UserCredential) error {
	rec := userCredRecord{UserCredential: c}
	rec.UserName = ""
	if c.Secret != "" {
		sealed, err := tx.s.sealer.seal(purposeServiceCredential, c.ID, []byte(c.Secret))
		if err != nil {
			return err
		}
		rec.SealedSecret = sealed
	} else if old, ok, err := tx.userCredRecord(c.ID); err != nil {
		return err
	} else if ok {
		rec.SealedSecret = old.SealedSecret
	}
	return tx.put(bUserCreds, []byte(c.ID), rec)
}

func (tx *Tx) userCredRecord(id string) (userCredRecord, bool, error) {
	var rec userCredRecord
	ok, err := tx.get(bUserCreds, []byte(id), &rec)
	return rec, ok, err
}

// UserCredential returns the credential id of kind that belongs to userName: NoSuchEntity
// (in IAM's words) when there is none, or it is another user's or another kind.
func (tx *Tx) UserCredential(kind account.CredentialKind, userName, id string) (account.UserCredential, error) {
	u, err := tx.User(userName)
	if err != nil {
		return account.UserCredential{}, err
	}
	rec, ok, err := tx.userCredRecord(id)
	if err != nil || !ok || rec.Kind != kind || rec.UserID != u.ID {
		return account.UserCredential{}, orErr(err, notFound(credKinds[kind].notFound, id))
	}
	rec.UserName = u.Name
	return rec.UserCredential, nil
}

// UserCredentials lists the user's credentials of kind, oldest first (without secrets).
func (tx *Tx) UserCredentials(kind account.CredentialKind, userName string) ([]account.UserCredential, error) {
	u, err := tx.User(userName)
	if err != nil {
		return nil, err
	}
	return tx.userCredentials(u, kind)
}

func (tx *Tx) userCredentials(u account.User, kind account.CredentialKind) ([]account.UserCredential, error) {
	keys, err := tx.relList(rUserCred, u.ID)
	if err != nil {
		return nil, err
	}
	var out []account.UserCredential
	for _, k := range keys {
		if len(k) < 2 || account.CredentialKind(k[0]) != kind {
			continue
		}
		rec, ok, err := tx.userCredRecord(k[1:])
		if err != nil || !ok {
			return nil, orErr(err, notFound(credKinds[kind].notFound, k[1:]))
		}
		rec.UserName = u.Name
		out = append(out, rec.UserCredential)
	}
	slices.SortStableFunc(out, func(a, b account.UserCredential) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// AllUserCredentials lists every user's credentials of kind (ListServiceSpecificCredentials
// with AllUsers), by user name then age.
func (tx *Tx) AllUserCredentials(kind account.CredentialKind) ([]account.UserCredential, error) {
	var out []account.UserCredential
	var derr error
	err := tx.kv.Scan(bUserCreds, nil, nil, func(_, v []byte) bool {
		var rec userCredRecord
		if derr = json.Unmarshal(v, &rec); derr != nil {
			return false
		}
		if rec.Kind != kind {
			return true
		}
		u, err := tx.UserByID(rec.UserID)
		if err != nil {
			derr = err
			return false
		}
		rec.UserName = u.Name
		out = append(out, rec.UserCredential)
		return true
	})
	if err = orErr(err, derr); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b account.UserCredential) int {
		if c := strings.Compare(strings.ToLower(a.UserName), strings.ToLower(b.UserName)); c != 0 {
			return c
		}
		return a.Created.Compare(b.Created)
	})
	return out, nil
}

// UserCredentialSecret returns a service-specific credential's password.
func (tx *Tx) UserCredentialSecret(id string) (string, error) {
	rec, ok, err := tx.userCredRecord(id)
	if err != nil || !ok || rec.SealedSecret == nil {
		return "", orErr(err, notFound(credKinds[account.CredServiceSpecific].notFound, id))
	}
	b, err := tx.s.sealer.open(purposeServiceCredential, id, rec.SealedSecret)
	return string(b), err
}

// UpdateUserCredential changes the credential through fn: its status, or (a reset) its
// secret. Its id, kind, owner and body cannot change.
func (tx *Tx) UpdateUserCredential(kind account.CredentialKind, userName, id string, fn func(*account.UserCredential) error) (account.UserCredential, error) {
	if err := tx.checkWritable(); err != nil {
		return account.UserCredential{}, err
	}
	c, err := tx.UserCredential(kind, userName, id)
	if err != nil {
		return c, err
	}
	next := c
	if err := fn(&next); err != nil {
		return c, err
	}
	if next.Status != account.KeyActive && next.Status != account.KeyInactive {
		var v account.Violations
		v.Add("status", string(next.Status), "Member must satisfy enum value set: [Active, Inactive]")
		return c, v.Err()
	}
	next.ID, next.Kind, next.UserID, next.Body, next.Digest = c.ID, c.Kind, c.UserID, c.Body, c.Digest
	return next, tx.putUserCredential(next)
}

// DeleteUserCredential deletes the credential id of kind of userName.
func (tx *Tx) DeleteUserCredential(kind account.CredentialKind, userName, id string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	c, err := tx.UserCredential(kind, userName, id)
	if err != nil {
		return err
	}
	if kind == account.CredSigningCertificate {
		if err := tx.relDel(rCertDigest, c.Digest, c.ID); err != nil {
			return err
		}
	}
	if err := tx.relDel(rUserCred, c.UserID, credRel(kind, c.ID)); err != nil {
		return err
	}
	return tx.del(bUserCreds, []byte(c.ID))
}

// userCredentialConflict is DeleteUser's DeleteConflict when the user still has
// credentials of some kind, or nil.
func (tx *Tx) userCredentialConflict(userID string) error {
	keys, err := tx.relList(rUserCred, userID)
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, kind := range []account.CredentialKind{account.CredSigningCertificate, account.CredSSHPublicKey, account.CredServiceSpecific} {
		for _, k := range keys {
			if account.CredentialKind(k[0]) == kind {
				return conflict("%s", credKinds[kind].deleteConflict)
			}
		}
	}
	return nil
}
