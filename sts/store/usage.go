package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// "Last used" data changes on every request that uses a key or assumes a role, so it is
// not written per request: Record… keeps the newest use in memory, and FlushUsage (every
// UsageFlushInterval, and at Close) writes it in one transaction that does not move the
// generation. Reads merge what is pending.

type usageKind byte

const (
	usageKey      usageKind = 'k' // access key id
	usageRole     usageKind = 'r' // role id
	usagePassword usageKind = 'p' // user id (account id: root)
	usageAccess   usageKind = 'a' // principal (user or role) id + "/" + action
)

type usageRecord struct {
	Date    time.Time `json:"date"`
	Service string    `json:"service,omitempty"`
	Region  string    `json:"region,omitempty"`
}

type usageLog struct {
	mu      sync.Mutex
	pending map[string]usageRecord
}

func usageID(kind usageKind, id string) string { return string(kind) + "/" + id }

func (s *Store) record(kind usageKind, id string, r usageRecord) {
	s.recordKey(usageID(kind, id), r)
}

// recordKey is record with the usage key k made by the caller.
func (s *Store) recordKey(k string, r usageRecord) {
	r.Date = r.Date.UTC().Truncate(time.Second)
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	if old, ok := s.usage.pending[k]; !ok || r.Date.After(old.Date) || r.Date.Equal(old.Date) {
		s.usage.pending[k] = r
	}
}

// RecordAccessKeyUse notes that access key id was used at at, for service in region
// (GetAccessKeyLastUsed, the credential report). It costs a map write, no I/O.
func (s *Store) RecordAccessKeyUse(id, service, region string, at time.Time) {
	s.record(usageKey, id, usageRecord{Date: at, Service: service, Region: region})
}

// RecordRoleUse notes that the role with unique id roleID was assumed at at in region
// (RoleLastUsed).
func (s *Store) RecordRoleUse(roleID, region string, at time.Time) {
	s.record(usageRole, roleID, usageRecord{Date: at, Region: region})
}

// RecordPasswordUse notes a console sign-in of the user with unique id userID
// (PasswordLastUsed).
func (s *Store) RecordPasswordUse(userID string, at time.Time) {
	s.record(usagePassword, userID, usageRecord{Date: at})
}

// RecordServiceAccess notes that the user or role with unique id principalID was
// allowed action ("s3:GetObject") at at in region: the last-accessed data of
// GetServiceLastAccessedDetails. It costs a map write, no I/O.
func (s *Store) RecordServiceAccess(principalID, action, region string, at time.Time) {
	// One concatenation: this runs on every allowed request.
	s.recordKey(string(usageAccess)+"/"+principalID+"/"+action, usageRecord{Date: at, Region: region})
}

// ServiceAccess is one action a principal was last allowed, when and where.
type ServiceAccess struct {
	Action string // "s3:GetObject", as authorized
	Date   time.Time
	Region string
}

// ServiceAccesses returns the actions the user or role principalID was allowed, each
// with its last use (stored and pending merged), sorted by action.
func (tx *Tx) ServiceAccesses(principalID string) ([]ServiceAccess, error) {
	prefix := usageID(usageAccess, principalID+"/")
	seen := map[string]usageRecord{}
	err := tx.kv.Scan(bUsage, []byte(prefix), nil, func(k, v []byte) bool {
		var r usageRecord
		if json.Unmarshal(v, &r) == nil {
			seen[string(k)] = r
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	tx.s.usage.mu.Lock()
	for k, r := range tx.s.usage.pending {
		if strings.HasPrefix(k, prefix) && r.Date.After(seen[k].Date) {
			seen[k] = r
		}
	}
	tx.s.usage.mu.Unlock()
	out := make([]ServiceAccess, 0, len(seen))
	for k, r := range seen {
		out = append(out, ServiceAccess{Action: k[len(prefix):], Date: r.Date, Region: r.Region})
	}
	slices.SortFunc(out, func(a, b ServiceAccess) int { return strings.Compare(a.Action, b.Action) })
	return out, nil
}

// usage returns the newest of the stored and the pending use.
func (tx *Tx) usage(kind usageKind, id string) usageRecord {
	k := usageID(kind, id)
	var stored usageRecord
	if b, _ := tx.kv.Get(bUsage, []byte(k)); b != nil {
		_ = json.Unmarshal(b, &stored) // a damaged usage record reads as "never used"
	}
	tx.s.usage.mu.Lock()
	p, ok := tx.s.usage.pending[k]
	tx.s.usage.mu.Unlock()
	if ok && p.Date.After(stored.Date) {
		return p
	}
	return stored
}

func (tx *Tx) putUsage(kind usageKind, id string, r usageRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.kv.Put(bUsage, []byte(usageID(kind, id)), b)
}

func (tx *Tx) deleteUsage(kind usageKind, id string) error {
	return tx.kv.Delete(bUsage, []byte(usageID(kind, id)))
}

// deleteAccessUsage deletes the last-accessed records of a deleted user or role.
func (tx *Tx) deleteAccessUsage(principalID string) error {
	prefix := []byte(usageID(usageAccess, principalID+"/"))
	var keys [][]byte
	if err := tx.kv.Scan(bUsage, prefix, nil, func(k, _ []byte) bool {
		keys = append(keys, bytes.Clone(k))
		return true
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.kv.Delete(bUsage, k); err != nil {
			return err
		}
	}
	return nil
}

// putQuiet writes a record without moving the generation (usage-like data).
func (tx *Tx) putQuiet(bucket string, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", bucket, key, err)
	}
	return tx.kv.Put(bucket, key, b)
}

// FlushUsage writes the pending "last used" data. Uses of entities deleted meanwhile
// are dropped.
func (s *Store) FlushUsage(ctx context.Context) error {
	s.usage.mu.Lock()
	batch := make(map[string]usageRecord, len(s.usage.pending))
	for k, v := range s.usage.pending {
		batch[k] = v
	}
	s.usage.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := s.db.Update(ctx, func(t kv.Tx) error {
		tx := &Tx{s: s, kv: t, writable: true}
		for k, r := range batch {
			kind, id := usageKind(k[0]), k[2:]
			var bucket string
			switch kind {
			case usageKey:
				bucket = bKeys
			case usageRole:
				bucket = bRoles
			case usagePassword:
				bucket = bUsers
				if id == s.accountID {
					bucket = bMeta
					id = mAccount
				}
			case usageAccess:
				id, _, _ = strings.Cut(id, "/")
				bucket = bUsers
				if strings.HasPrefix(id, account.PrefixRole) {
					bucket = bRoles
				}
			}
			if v, err := t.Get(bucket, []byte(id)); err != nil || v == nil {
				if err != nil {
					return err
				}
				continue
			}
			if cur := tx.usage(kind, k[2:]); cur.Date.After(r.Date) {
				continue
			}
			if err := tx.putUsage(kind, k[2:], r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing last-used data: %w", err)
	}
	s.usage.mu.Lock()
	for k, r := range batch {
		if cur, ok := s.usage.pending[k]; ok && cur == r {
			delete(s.usage.pending, k)
		}
	}
	s.usage.mu.Unlock()
	return nil
}

func (s *Store) flushLoop(interval time.Duration) {
	defer close(s.flushDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopFlush:
			return
		case <-t.C:
			if err := s.FlushUsage(context.Background()); err != nil {
				s.o.Logger.Warn("could not write last-used data", "error", err)
			}
		}
	}
}
