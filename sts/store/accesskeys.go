package store

import (
	"fmt"
	"slices"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// keyRecord is an access key as stored. The owner's name and path are copied in (and
// kept current by UpdateUser) so that the SigV4 lookup reads one record.
type keyRecord struct {
	UserID   string            `json:"user_id"`
	UserName string            `json:"user_name"`
	UserPath string            `json:"user_path"`
	Status   account.KeyStatus `json:"status"`
	Created  time.Time         `json:"created"`
	Secret   []byte            `json:"secret"` // sealed
}

const purposeAccessKey = "access-key"

// CreateAccessKey makes a new access key (AKIA…, with a random 40-character secret) for
// a user, or for the root user with account.RootUserName. A user has at most two.
func (tx *Tx) CreateAccessKey(userName string) (account.AccessKey, error) {
	if err := tx.checkWritable(); err != nil {
		return account.AccessKey{}, err
	}
	var k account.AccessKey
	for {
		id, err := account.NewAccessKeyID(account.PrefixAccessKey, tx.s.accountID, tx.s.o.Rand)
		if err != nil {
			return k, err
		}
		if dup, err := tx.kv.Get(bKeys, []byte(id)); err != nil || dup == nil {
			if err != nil {
				return k, err
			}
			k.ID = id
			break
		}
	}
	secret, err := account.NewSecretAccessKey(tx.s.o.Rand)
	if err != nil {
		return k, err
	}
	k.UserName, k.Secret, k.Status = userName, secret, account.KeyActive
	return tx.PutAccessKey(k)
}

// PutAccessKey stores a key whose id and secret are given (an import, or `serve --dev`'s
// key): UserName, ID and Secret are required; Status defaults to Active and Created to
// now.
func (tx *Tx) PutAccessKey(k account.AccessKey) (account.AccessKey, error) {
	if err := tx.checkWritable(); err != nil {
		return account.AccessKey{}, err
	}
	if k.Status == "" {
		k.Status = account.KeyActive
	}
	if err := k.Validate(); err != nil {
		return account.AccessKey{}, err
	}
	if k.Secret == "" {
		return account.AccessKey{}, account.Errorf(account.InvalidInput, "An access key needs its secret.")
	}
	u, err := tx.User(k.UserName)
	if err != nil {
		return account.AccessKey{}, err
	}
	if dup, err := tx.kv.Get(bKeys, []byte(k.ID)); err != nil || dup != nil {
		return account.AccessKey{}, orErr(err, exists("Access key %s already exists.", k.ID))
	}
	if n, err := tx.relCount(rUserKey, u.ID); err != nil || n >= account.MaxAccessKeysPerUser {
		return account.AccessKey{}, orErr(err, limitExceeded("Cannot exceed quota for AccessKeysPerUser: %d", account.MaxAccessKeysPerUser))
	}
	sealed, err := tx.s.sealer.seal(purposeAccessKey, k.ID, []byte(k.Secret))
	if err != nil {
		return account.AccessKey{}, err
	}
	rec := keyRecord{UserID: u.ID, UserName: u.Name, UserPath: u.Path, Status: k.Status, Created: tx.createdAt(k.Created), Secret: sealed}
	if err := tx.put(bKeys, []byte(k.ID), rec); err != nil {
		return account.AccessKey{}, err
	}
	if err := tx.relAdd(rUserKey, u.ID, k.ID); err != nil {
		return account.AccessKey{}, err
	}
	out := tx.keyFromRecord(k.ID, rec)
	out.Secret = k.Secret
	return out, nil
}

func (tx *Tx) keyFromRecord(id string, r keyRecord) account.AccessKey {
	k := account.AccessKey{ID: id, UserID: r.UserID, UserName: r.UserName, Status: r.Status, Created: r.Created}
	if r.UserID == tx.s.accountID {
		k.UserARN = account.RootARN(tx.s.accountID)
	} else {
		k.UserARN = account.UserARN(tx.s.accountID, r.UserPath, r.UserName)
	}
	u := tx.usage(usageKey, id)
	k.LastUsed = account.AccessKeyLastUsed{Date: u.Date, Service: u.Service, Region: u.Region}
	return k
}

// AccessKey returns the key id, with its secret, owner and last use.
func (tx *Tx) AccessKey(id string) (account.AccessKey, error) {
	var r keyRecord
	ok, err := tx.get(bKeys, []byte(id), &r)
	if err != nil || !ok {
		return account.AccessKey{}, orErr(err, notFound("The Access Key with id %s cannot be found.", id))
	}
	secret, err := tx.s.sealer.open(purposeAccessKey, id, r.Secret)
	if err != nil {
		return account.AccessKey{}, err
	}
	k := tx.keyFromRecord(id, r)
	k.Secret = string(secret)
	return k, nil
}

// AccessKeys returns a user's (or root's) keys, oldest first, without their secrets.
func (tx *Tx) AccessKeys(userName string) ([]account.AccessKey, error) {
	u, err := tx.User(userName)
	if err != nil {
		return nil, err
	}
	ids, err := tx.relList(rUserKey, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]account.AccessKey, 0, len(ids))
	for _, id := range ids {
		var r keyRecord
		if ok, err := tx.get(bKeys, []byte(id), &r); err != nil || !ok {
			return nil, orErr(err, fmt.Errorf("access key %s of user %s has no record", id, u.ID))
		}
		out = append(out, tx.keyFromRecord(id, r))
	}
	slices.SortFunc(out, func(a, b account.AccessKey) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// UpdateAccessKey sets a key's status: an Inactive key stops authenticating at once.
func (tx *Tx) UpdateAccessKey(id string, status account.KeyStatus) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if status != account.KeyActive && status != account.KeyInactive {
		var v account.Violations
		v.Add("status", string(status), "Member must satisfy enum value set: [Active, Inactive]")
		return v.Err()
	}
	var r keyRecord
	ok, err := tx.get(bKeys, []byte(id), &r)
	if err != nil || !ok {
		return orErr(err, notFound("The Access Key with id %s cannot be found.", id))
	}
	r.Status = status
	return tx.put(bKeys, []byte(id), r)
}

// DeleteAccessKey deletes a key.
func (tx *Tx) DeleteAccessKey(id string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	var r keyRecord
	ok, err := tx.get(bKeys, []byte(id), &r)
	if err != nil || !ok {
		return orErr(err, notFound("The Access Key with id %s cannot be found.", id))
	}
	if err := tx.relDel(rUserKey, r.UserID, id); err != nil {
		return err
	}
	if err := tx.deleteUsage(usageKey, id); err != nil {
		return err
	}
	return tx.del(bKeys, []byte(id))
}
