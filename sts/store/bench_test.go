package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
		s, err := Open(ctx, db, testKey(), func(o *Options) { o.AccountID = testAccount; o.UsageFlushInterval = -1 })
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		var key account.AccessKey
		err = s.Update(ctx, func(tx *Tx) error {
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
