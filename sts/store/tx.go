package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// Tx is one transaction on the store. Its methods take and return account types. Errors
// meant for clients are *account.Error with IAM's code and message, and a method that
// returns one has written nothing, so an Update may go on after it; any other error is an
// internal failure that should fail the whole Update. A Tx must not be used after its
// View or Update returns.
type Tx struct {
	s        *Store
	kv       kv.Tx
	writable bool
	changed  bool // an authorization-relevant write happened: bump the generation
}

// AccountID returns the store's account id.
func (tx *Tx) AccountID() string { return tx.s.accountID }

// Generation returns the generation this transaction reads (see Store.Generation); a
// cache built inside the transaction is valid for exactly this generation.
func (tx *Tx) Generation() (uint64, error) {
	b, err := tx.kv.Get(bMeta, []byte(mGen))
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("store generation record is malformed")
	}
	return binary.BigEndian.Uint64(b), nil
}

func (tx *Tx) get(bucket string, key []byte, v any) (bool, error) {
	b, err := tx.kv.Get(bucket, key)
	if err != nil {
		return false, fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

func (tx *Tx) put(bucket string, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", bucket, key, err)
	}
	return tx.putRaw(bucket, key, b)
}

func (tx *Tx) putRaw(bucket string, key, value []byte) error {
	tx.changed = true
	if err := tx.kv.Put(bucket, key, value); err != nil {
		return fmt.Errorf("writing %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (tx *Tx) del(bucket string, key []byte) error {
	tx.changed = true
	if err := tx.kv.Delete(bucket, key); err != nil {
		return fmt.Errorf("deleting %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Name index kinds.
const (
	nUser    = 'u'
	nGroup   = 'g'
	nRole    = 'r'
	nPolicy  = 'p'
	nProfile = 'i'
)

// lookupName returns the id indexed under name, or "".
func (tx *Tx) lookupName(kind byte, name string) (string, error) {
	b, err := tx.kv.Get(bNames, nameKey(kind, name))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Relations: keys rel\0a\0b with a one-byte value, scanned by prefix.
const (
	rGroupMember  = "gm" // group id → user id
	rUserGroup    = "ug" // user id → group id
	rAttached     = "pa" // policy ARN → holder (kind letter + id)
	rBoundary     = "pb" // policy ARN → holder
	rRoleProfile  = "rp" // role id → instance profile id
	rUserKey      = "uk" // user id (account id for root) → access key id
	rUserMFA      = "um" // user id → lower-case MFA serial
	relSeparator  = 0
	relPresentVal = 1
)

func relKey(rel, a, b string) []byte {
	k := make([]byte, 0, len(rel)+len(a)+len(b)+2)
	k = append(k, rel...)
	k = append(k, relSeparator)
	k = append(k, a...)
	k = append(k, relSeparator)
	return append(k, b...)
}

func (tx *Tx) relAdd(rel, a, b string) error {
	return tx.putRaw(bRel, relKey(rel, a, b), []byte{relPresentVal})
}

func (tx *Tx) relDel(rel, a, b string) error { return tx.del(bRel, relKey(rel, a, b)) }

func (tx *Tx) relHas(rel, a, b string) (bool, error) {
	v, err := tx.kv.Get(bRel, relKey(rel, a, b))
	return v != nil, err
}

// relList returns the b's related to a, in key order.
func (tx *Tx) relList(rel, a string) ([]string, error) {
	prefix := relKey(rel, a, "")
	var out []string
	err := tx.kv.Scan(bRel, prefix, nil, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return true
	})
	return out, err
}

func (tx *Tx) relCount(rel, a string) (int, error) { return tx.count(bRel, relKey(rel, a, "")) }

// count returns how many records bucket holds under prefix.
func (tx *Tx) count(bucket string, prefix []byte) (int, error) {
	n := 0
	err := tx.kv.Scan(bucket, prefix, nil, func(_, _ []byte) bool { n++; return true })
	return n, err
}

// Page selects one page of a list, as IAM's Marker and MaxItems do.
type Page struct {
	// Marker is the previous page's next marker; "" starts at the beginning.
	Marker string
	// MaxItems is the page size; 0 means 100 (IAM's default), more than 1000 means 1000.
	MaxItems int
}

func (p Page) limit() int {
	switch {
	case p.MaxItems <= 0:
		return 100
	case p.MaxItems > 1000:
		return 1000
	}
	return p.MaxItems
}

// allPages lists every page of list, from the first on, pages of size items, and
// returns all the items in order (with those read before an error).
func allPages[T any](size int, list func(Page) ([]T, string, error)) ([]T, error) {
	var out []T
	p := Page{MaxItems: size}
	for {
		items, next, err := list(p)
		out = append(out, items...)
		if err != nil || next == "" {
			return out, err
		}
		p.Marker = next
	}
}

// A marker is the last key of the page before, with a check of the list it
// came from (the bucket) and of the key, so that a marker the store did not
// issue for this list (garbled, made up, or another list's) is refused as IAM
// refuses it. The check is not a secret: a caller who forges one only starts a
// list it may read anyway at a place of its choosing.
const markerCheckLen = 6

func markerCheck(bucket string, key []byte) []byte {
	h := sha256.New()
	h.Write([]byte(bucket))
	h.Write([]byte{0})
	h.Write(key)
	return h.Sum(nil)[:markerCheckLen]
}

func encodeMarker(bucket string, key []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), key...), markerCheck(bucket, key)...))
}

func decodeMarker(m, bucket string, prefix []byte) ([]byte, error) {
	if m == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(raw) <= markerCheckLen {
		return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
	}
	k, check := raw[:len(raw)-markerCheckLen], raw[len(raw)-markerCheckLen:]
	if !bytes.HasPrefix(k, prefix) || !bytes.Equal(check, markerCheck(bucket, k)) {
		return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
	}
	return append(k, 0), nil // strictly after the marker's key
}

// listIndex walks the keys of bucket under prefix from p's marker, calling include with
// each value; items for which it returns true count towards the page. It returns the
// marker of the next page, or "" when there is none.
func (tx *Tx) listIndex(bucket string, prefix []byte, p Page, include func(key, value []byte) (bool, error)) (string, error) {
	start, err := decodeMarker(p.Marker, bucket, prefix)
	if err != nil {
		return "", err
	}
	n, limit := 0, p.limit()
	var last []byte
	var next string
	var ierr error
	err = tx.kv.Scan(bucket, prefix, start, func(k, v []byte) bool {
		if n == limit {
			next = encodeMarker(bucket, last) // one more item exists
			return false
		}
		ok, err := include(k, v)
		if err != nil {
			ierr = err
			return false
		}
		if !ok {
			return true
		}
		n++
		last = append(last[:0], k...)
		return true
	})
	if err != nil {
		return "", err
	}
	return next, ierr
}

// listByName lists ids of the name index kind (sorted by lower-case name).
func (tx *Tx) listByName(kind byte, p Page, include func(id string) (bool, error)) (string, error) {
	return tx.listIndex(bNames, []byte{kind, '/'}, p, func(_, v []byte) (bool, error) { return include(string(v)) })
}

func hasPathPrefix(path, prefix string) bool { return prefix == "" || strings.HasPrefix(path, prefix) }

func notFound(format string, args ...any) error {
	return account.Errorf(account.NoSuchEntity, format, args...)
}

func exists(format string, args ...any) error {
	return account.Errorf(account.EntityAlreadyExists, format, args...)
}

func conflict(format string, args ...any) error {
	return account.Errorf(account.DeleteConflict, format, args...)
}

func limitExceeded(format string, args ...any) error {
	return account.Errorf(account.LimitExceeded, format, args...)
}

func (tx *Tx) checkWritable() error {
	if !tx.writable {
		return kv.ErrReadOnly
	}
	return nil
}

// sortByName sorts s by name without regard to case, as IAM lists.
func sortByName[T any](s []T, name func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))) })
}
