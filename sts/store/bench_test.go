package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// BenchmarkLookupAccessKey measures the SigV4 hot path (read the key record, decrypt the
// secret) on both backends, with two same-run baselines: a bare bbolt read of the same
// record (the floor of any lookup), and the SigV4 signing-key derivation plus signature
// that a verifier computes for every request anyway (what the lookup is to be cheap
// relative to).
func BenchmarkLookupAccessKey(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B, db kv.DB) (*Store, account.AccessKey) {
		s := openTestStore(b, db, func(o *Options) { o.AccountID = testAccount })
		var key account.AccessKey
		err := s.Update(ctx, func(tx *Tx) error {
			// Some neighbours, so the lookup is not in a one-record tree.
			for i := range 500 {
				name := "user" + string(rune('a'+i%26)) + itoa(i)
				if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
					return err
				}
				k, err := tx.CreateAccessKey(name)
				if err != nil {
					return err
				}
				if i == 250 {
					key = k
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return s, key
	}
	bolt := func(b *testing.B) kv.DB {
		db, err := kv.OpenBolt(filepath.Join(b.TempDir(), "core.db"))
		if err != nil {
			b.Fatal(err)
		}
		return db
	}
	for _, backend := range []string{"bolt", "memory"} {
		b.Run(backend, func(b *testing.B) {
			var db kv.DB = kv.NewMemory()
			if backend == "bolt" {
				db = bolt(b)
			}
			s, key := setup(b, db)
			b.ReportAllocs()
			for b.Loop() {
				k, err := s.LookupAccessKey(ctx, key.ID)
				if err != nil || k.Secret != key.Secret {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("baseline=bolt-get", func(b *testing.B) {
		db := bolt(b)
		s, key := setup(b, db)
		_ = s
		b.ReportAllocs()
		for b.Loop() {
			err := db.View(ctx, func(t kv.Tx) error {
				v, err := t.Get(bKeys, []byte(key.ID))
				if v == nil {
					b.Fatal("no record")
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline=sigv4-signing-key", func(b *testing.B) {
		secret := []byte("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
		sts := []byte("AWS4-HMAC-SHA256\n20240501T120000Z\n20240501/us-east-1/sts/aws4_request\n" +
			"3511de7e95d28ecd39e9513b642aee07e54f4941150d8df8bf94b328ef7e55e2")
		mac := func(key, data []byte) []byte { h := hmac.New(sha256.New, key); h.Write(data); return h.Sum(nil) }
		b.ReportAllocs()
		for b.Loop() {
			k := mac(mac(mac(mac(secret, []byte("20240501")), []byte("us-east-1")), []byte("sts")), []byte("aws4_request"))
			if len(mac(k, sts)) != 32 {
				b.Fatal("bad mac")
			}
		}
	})
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// BenchmarkPoliciesFor reads what the policy engine evaluates for a role (two inline,
// three managed, a boundary) — the core's cache-miss path — against the same-run baseline
// of reading the role alone.
func BenchmarkPoliciesFor(b *testing.B) {
	ctx := context.Background()
	s, err := OpenMemory(ctx, testAccount, func(o *Options) { o.UsageFlushInterval = -1 })
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	err = s.Update(ctx, func(tx *Tx) error {
		var arns []string
		for _, n := range []string{"a", "b", "c", "boundary"} {
			p, err := tx.CreatePolicy(account.ManagedPolicy{Name: n}, allowS3)
			if err != nil {
				return err
			}
			arns = append(arns, p.ARN)
		}
		_, err := tx.CreateRole(account.Role{Name: "app", AssumeRolePolicy: trustEC2, ManagedPolicies: arns[:3], PermissionsBoundary: arns[3],
			InlinePolicies: account.InlinePolicies{{Name: "x", Document: allowS3}, {Name: "y", Document: denyAll}}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	benchView(b, s, "role+policies", func(tx *Tx) error {
		set, err := tx.PoliciesFor(account.RoleRef("app"))
		if err == nil && (len(set.Identity) != 5 || set.Boundary == nil) {
			err = fmt.Errorf("policy set %+v", set)
		}
		return err
	})
	benchView(b, s, "baseline=role", func(tx *Tx) error { _, err := tx.Role("app"); return err })
}

// benchView runs fn in a read transaction of s as the sub-benchmark name.
func benchView(b *testing.B, s *Store, name string, fn func(tx *Tx) error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.View(context.Background(), fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListUsers lists one page of 100 from 10,000 users in a bbolt file (IAM's
// ListUsers), against the baseline of one GetUser.
func BenchmarkListUsers(b *testing.B) {
	ctx := context.Background()
	db, err := kv.OpenBolt(filepath.Join(b.TempDir(), "core.db"))
	if err != nil {
		b.Fatal(err)
	}
	s := openTestStore(b, db, func(o *Options) { o.AccountID = testAccount })
	err = s.Update(ctx, func(tx *Tx) error {
		for i := range 10000 {
			if _, err := tx.CreateUser(account.User{Name: "user" + itoa(i), Path: "/staff/", Tags: account.Tags{{Key: "team", Value: "t" + itoa(i%50)}}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var marker string
	_ = s.View(ctx, func(tx *Tx) error { _, marker, err = tx.Users("", Page{Marker: "", MaxItems: 5000}); return err })
	benchView(b, s, "page-of-100", func(tx *Tx) error {
		users, next, err := tx.Users("", Page{Marker: marker, MaxItems: 100})
		if err == nil && (len(users) != 100 || next == "") {
			err = fmt.Errorf("%d users, next %q", len(users), next)
		}
		return err
	})
	benchView(b, s, "baseline=get-user", func(tx *Tx) error { _, err := tx.User("user5000"); return err })
}
