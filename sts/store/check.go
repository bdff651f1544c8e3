package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// Check verifies the store: the backend's own structure (bbolt's page check), that every
// record decodes, that every name index entry and every entity agree, that relations
// join existing entities, and that every sealed secret opens with this master key. It
// reads everything, so it is for `credbroker core check` and tests, not the hot path.
func (s *Store) Check(ctx context.Context) error {
	var errs []error
	if c, ok := s.db.(kv.Checker); ok {
		if err := c.Check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("backend: %w", err))
		}
	}
	err := s.View(ctx, func(tx *Tx) error {
		errs = append(errs, tx.check()...)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 20 {
		errs = append(errs[:20], fmt.Errorf("… and %d more problems", len(errs)-20))
	}
	return errors.Join(errs...)
}

func (tx *Tx) check() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	scan := func(bucket string, prefix []byte, fn func(k, v []byte)) {
		if err := tx.kv.Scan(bucket, prefix, nil, func(k, v []byte) bool { fn(k, v); return true }); err != nil {
			bad("scanning %s: %v", bucket, err)
		}
	}
	if _, err := tx.Generation(); err != nil {
		bad("%v", err)
	}
	if _, err := tx.Account(); err != nil {
		bad("account: %v", err)
	}
	// Entities and their names, both ways.
	type named struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	kinds := []entityIndex{users.entityIndex, groups.entityIndex, roles.entityIndex, policies.entityIndex,
		profiles.entityIndex, serverCerts.entityIndex}
	ids := map[string]bool{tx.s.accountID: true}
	for _, k := range kinds {
		scan(k.bucket, nil, func(key, v []byte) {
			var n named
			if err := json.Unmarshal(v, &n); err != nil || n.ID != string(key) {
				bad("%s/%s: undecodable or mismatched record", k.bucket, key)
				return
			}
			ids[n.ID] = true
			if id, _ := tx.lookupName(k.index, n.Name); id != n.ID {
				bad("%s/%s (%s): name index points to %q", k.bucket, key, n.Name, id)
			}
		})
		scan(bNames, []byte{k.index, '/'}, func(key, v []byte) {
			if b, _ := tx.kv.Get(k.bucket, v); b == nil {
				bad("name %s: points to missing %s/%s", key, k.bucket, v)
			}
		})
	}
	// Full decoding of each entity (resolving its references).
	checkAll := func(what string, err error) {
		if err != nil {
			bad("%s: %v", what, err)
		}
	}
	_, err := allPages(1000, func(p Page) ([]account.User, string, error) { return tx.Users("", p) })
	checkAll("users", err)
	_, err = allPages(1000, func(p Page) ([]account.Group, string, error) { return tx.Groups("", p) })
	checkAll("groups", err)
	_, err = allPages(1000, func(p Page) ([]account.Role, string, error) { return tx.Roles("", p) })
	checkAll("roles", err)
	_, err = allPages(1000, func(p Page) ([]account.InstanceProfile, string, error) { return tx.InstanceProfiles("", p) })
	checkAll("instance profiles", err)
	pols, err := allPages(1000, func(p Page) ([]account.ManagedPolicy, string, error) { return tx.Policies(PolicyFilter{}, p) })
	checkAll("policies", err)
	for _, pol := range pols {
		vs, verr := tx.PolicyVersions(pol.ARN)
		switch {
		case verr != nil:
			bad("policy %s versions: %v", pol.ARN, verr)
		case len(vs) == 0 || len(vs) > account.MaxPolicyVersions:
			bad("policy %s has %d versions", pol.ARN, len(vs))
		default:
			if _, err := tx.PolicyVersion(pol.ARN, pol.DefaultVersion); err != nil {
				bad("policy %s default version: %v", pol.ARN, err)
			}
		}
	}
	// Secrets open; keys and devices belong to existing users.
	scan(bKeys, nil, func(k, _ []byte) {
		key, err := tx.AccessKey(string(k))
		if err != nil {
			bad("access key %s: %v", k, err)
			return
		}
		if !ids[key.UserID] {
			bad("access key %s: owner %s is missing", k, key.UserID)
		}
		if ok, _ := tx.relHas(rUserKey, key.UserID, key.ID); !ok {
			bad("access key %s: not indexed under its owner", k)
		}
	})
	scan(bMFA, nil, func(k, _ []byte) {
		if _, err := tx.VirtualMFADevice(string(k)); err != nil {
			bad("MFA device %s: %v", k, err)
		}
	})
	scan(bServerCerts, nil, func(k, _ []byte) {
		rec, err := serverCerts.byID(tx, string(k))
		if err == nil {
			_, err = tx.s.sealer.open(purposeServerKey, rec.ID, rec.SealedKey)
		}
		if err != nil {
			bad("server certificate %s: %v", k, err)
		}
	})
	scan(bUserCreds, nil, func(k, _ []byte) {
		c, _, err := tx.userCredRecord(string(k))
		switch {
		case err != nil:
			bad("credential %s: %v", k, err)
		case !ids[c.UserID]:
			bad("credential %s: owner %s is missing", k, c.UserID)
		case c.SealedSecret != nil:
			if _, err := tx.UserCredentialSecret(c.ID); err != nil {
				bad("credential %s: %v", k, err)
			}
		}
	})
	scan(bSecrets, nil, func(k, _ []byte) {
		if _, err := tx.Secret(string(k)); err != nil {
			bad("secret %s: %v", k, err)
		}
	})
	scan(bLogins, nil, func(k, _ []byte) {
		if !ids[string(k)] {
			bad("login profile of missing user %s", k)
		}
	})
	// Relations join existing things.
	scan(bRel, nil, func(k, _ []byte) {
		parts := bytes.SplitN(k, []byte{relSeparator}, 3)
		if len(parts) != 3 {
			bad("relation %q is malformed", k)
			return
		}
		rel, a, b := string(parts[0]), string(parts[1]), string(parts[2])
		switch rel {
		case rGroupMember, rUserGroup, rRoleProfile:
			if !ids[a] || !ids[b] {
				bad("relation %s %s→%s joins a missing entity", rel, a, b)
			}
		case rAttached, rBoundary:
			if len(b) < 2 || !ids[b[1:]] {
				bad("relation %s %s→%s joins a missing entity", rel, a, b)
			}
			if !account.IsAWSManagedPolicyARN(a) {
				if _, err := tx.Policy(a); err != nil {
					bad("relation %s: policy %s: %v", rel, a, err)
				}
			}
		case rUserKey:
			if v, _ := tx.kv.Get(bKeys, []byte(b)); v == nil || !ids[a] {
				bad("relation %s %s→%s joins a missing entity", rel, a, b)
			}
		case rUserMFA:
			if v, _ := tx.kv.Get(bMFA, []byte(b)); v == nil || !ids[a] {
				bad("relation %s %s→%s joins a missing entity", rel, a, b)
			}
		case rUserCred:
			if len(b) < 2 {
				bad("relation %s %s→%s is malformed", rel, a, b)
			} else if c, ok, _ := tx.userCredRecord(b[1:]); !ok || !ids[a] || c.UserID != a || byte(c.Kind) != b[0] {
				bad("relation %s %s→%s joins a missing entity", rel, a, b)
			}
		case rCertDigest:
			if c, ok, _ := tx.userCredRecord(b); !ok || c.Digest != a {
				bad("relation %s %s→%s joins a missing certificate", rel, a, b)
			}
		default:
			bad("relation %q is of unknown kind", k)
		}
	})
	return errs
}
