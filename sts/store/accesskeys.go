package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// keyRecord is an access key as stored. The owner's name and path are copied in (and
// kept current by UpdateUser) so that the SigV4 lookup reads one record; it is encoded
// compactly (encode/decodeKeyRecord) because that lookup runs on every request.
type keyRecord struct {
	UserID   string
	UserName string
	UserPath string
	Status   account.KeyStatus
	Created  time.Time
	Secret   []byte // sealed
}

const keyRecordV1 = 1

// encodeKeyRecord writes version 1: a version byte, then UserID, UserName, UserPath and
// Status as uvarint-length-prefixed strings, Created as a varint of Unix seconds, and the
// sealed secret length-prefixed.
func encodeKeyRecord(r keyRecord) []byte {
	b := make([]byte, 0, 64+len(r.UserName)+len(r.UserPath)+len(r.Secret))
	b = append(b, keyRecordV1)
	for _, f := range []string{r.UserID, r.UserName, r.UserPath, string(r.Status)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendVarint(b, r.Created.Unix())
	b = binary.AppendUvarint(b, uint64(len(r.Secret)))
	return append(b, r.Secret...)
}

func decodeKeyRecord(b []byte) (keyRecord, error) {
	var r keyRecord
	bad := errors.New("malformed access key record")
	if len(b) == 0 || b[0] != keyRecordV1 {
		return r, bad
	}
	b = b[1:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, true
	}
	var fs [4][]byte
	for i := range fs {
		f, ok := field()
		if !ok {
			return r, bad
		}
		fs[i] = f
	}
	created, k := binary.Varint(b)
	if k <= 0 {
		return r, bad
	}
	b = b[k:]
	secret, ok := field()
	if !ok || len(b) != 0 {
		return r, bad
	}
	r.UserID, r.UserName, r.UserPath, r.Status = string(fs[0]), string(fs[1]), string(fs[2]), account.KeyStatus(fs[3])
	r.Created = time.Unix(created, 0).UTC()
	r.Secret = bytes.Clone(secret)
	return r, nil
}

func (tx *Tx) keyRecord(id string) (keyRecord, bool, error) {
	b, err := tx.kv.Get(bKeys, []byte(id))
	if err != nil || b == nil {
		return keyRecord{}, false, err
	}
	r, err := decodeKeyRecord(b)
	if err != nil {
		return r, false, fmt.Errorf("access key %s: %w", id, err)
	}
	return r, true, nil
}

// userKeyRecord reads the record of the access key id of user u (a key the user's
// relation lists: a missing record is damage, not NoSuchEntity).
func (tx *Tx) userKeyRecord(u account.User, id string) (keyRecord, error) {
	r, ok, err := tx.keyRecord(id)
	if err != nil || !ok {
		return r, orErr(err, fmt.Errorf("access key %s of user %s has no record", id, u.ID))
	}
	return r, nil
}

func (tx *Tx) putKeyRecord(id string, r keyRecord) error {
	return tx.putRaw(bKeys, []byte(id), encodeKeyRecord(r))
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
	if err := tx.putKeyRecord(k.ID, rec); err != nil {
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
	k := tx.keyFromRecordNoUsage(id, r)
	u := tx.usage(usageKey, id)
	k.LastUsed = account.AccessKeyLastUsed{Date: u.Date, Service: u.Service, Region: u.Region}
	return k
}

func (tx *Tx) keyFromRecordNoUsage(id string, r keyRecord) account.AccessKey {
	k := account.AccessKey{ID: id, UserID: r.UserID, UserName: r.UserName, Status: r.Status, Created: r.Created}
	if r.UserID == tx.s.accountID {
		k.UserARN = account.RootARN(tx.s.accountID)
	} else {
		k.UserARN = account.UserARN(tx.s.accountID, r.UserPath, r.UserName)
	}
	return k
}

// AccessKey returns the key id, with its secret, owner and last use.
func (tx *Tx) AccessKey(id string) (account.AccessKey, error) {
	k, err := tx.accessKey(id)
	if err == nil {
		u := tx.usage(usageKey, id)
		k.LastUsed = account.AccessKeyLastUsed{Date: u.Date, Service: u.Service, Region: u.Region}
	}
	return k, err
}

// accessKey is AccessKey without the last use.
func (tx *Tx) accessKey(id string) (account.AccessKey, error) {
	r, ok, err := tx.keyRecord(id)
	if err != nil || !ok {
		return account.AccessKey{}, orErr(err, notFound("The Access Key with id %s cannot be found.", id))
	}
	secret, err := tx.s.sealer.open(purposeAccessKey, id, r.Secret)
	if err != nil {
		return account.AccessKey{}, err
	}
	k := tx.keyFromRecordNoUsage(id, r)
	k.Secret = string(secret)
	return k, nil
}

// AccessKeys returns a user's (or root's) keys, oldest first, without their secrets.
func (tx *Tx) AccessKeys(userName string) ([]account.AccessKey, error) {
	u, err := tx.User(userName)
	if err != nil {
		return nil, err
	}
	out, err := related(tx, rUserKey, u.ID, func(id string) (account.AccessKey, error) {
		r, err := tx.userKeyRecord(u, id)
		return tx.keyFromRecord(id, r), err
	})
	slices.SortFunc(out, func(a, b account.AccessKey) int { return a.Created.Compare(b.Created) })
	return out, err
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
	r, ok, err := tx.keyRecord(id)
	if err != nil || !ok {
		return orErr(err, notFound("The Access Key with id %s cannot be found.", id))
	}
	r.Status = status
	return tx.putKeyRecord(id, r)
}

// DeleteAccessKey deletes a key.
func (tx *Tx) DeleteAccessKey(id string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	r, ok, err := tx.keyRecord(id)
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
