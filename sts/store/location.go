package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/credbroker/credbroker/sts/store/kv"
)

// CredentialPasswordName is the systemd credential that holds the PostgreSQL password
// when no password file is configured ($CREDENTIALS_DIRECTORY/core-store-password).
const CredentialPasswordName = "core-store-password"

// IsPostgres reports whether a store location is a PostgreSQL URL rather than a path.
func IsPostgres(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// PasswordFile returns the file holding the PostgreSQL password: file when set, else
// the systemd credential core-store-password when present, else "".
func PasswordFile(file string) string {
	if file != "" {
		return file
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		p := filepath.Join(dir, CredentialPasswordName)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// OpenDB opens the backend at loc: a postgres:// URL (password from passwordFile, see
// PasswordFile) or a bbolt file's path.
func OpenDB(ctx context.Context, loc, passwordFile string) (kv.DB, error) {
	if IsPostgres(loc) {
		return kv.OpenPostgres(ctx, loc, func(o *kv.PostgresOptions) { o.PasswordFile = PasswordFile(passwordFile) })
	}
	return kv.OpenBolt(loc)
}

// Exists reports whether db holds a store (a file or database with no store is empty).
func Exists(ctx context.Context, db kv.DB) (bool, error) {
	var found bool
	err := db.View(ctx, func(t kv.Tx) error {
		v, err := t.Get(bMeta, []byte(mSchema))
		found = v != nil
		return err
	})
	return found, err
}

// Copy copies every record of the store in src into dst, which must hold no store, in
// one transaction of dst: everything is copied or nothing is. Records move as they are,
// secrets still sealed (PostgreSQL or the file never sees one in clear), so the copy
// opens under the same master key and loses nothing: entities, indexes, keys, MFA
// seeds, signing keys, usage. It returns the number of records copied.
func Copy(ctx context.Context, dst, src kv.DB) (int, error) {
	if ok, err := Exists(ctx, src); err != nil {
		return 0, fmt.Errorf("reading the source store: %w", err)
	} else if !ok {
		return 0, errors.New("the source holds no store")
	}
	n := 0
	err := src.View(ctx, func(st kv.Tx) error {
		return dst.Update(ctx, func(dt kv.Tx) error {
			if v, err := dt.Get(bMeta, []byte(mSchema)); err != nil {
				return err
			} else if v != nil {
				return errors.New("the destination already holds a store: copy into an empty one")
			}
			lister, ok := st.(kv.BucketLister)
			if !ok {
				return errors.New("the source backend cannot list its buckets")
			}
			buckets, err := lister.Buckets()
			if err != nil {
				return err
			}
			for _, b := range buckets {
				var perr error
				err := st.Scan(b, nil, nil, func(k, v []byte) bool {
					perr = dt.Put(b, k, v)
					n++
					return perr == nil
				})
				if err = errors.Join(err, perr); err != nil {
					return fmt.Errorf("copying bucket %s: %w", b, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
