package kv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// BoltOptions configure OpenBolt.
type BoltOptions struct {
	// LockTimeout bounds the wait for the file lock that another process holds
	// (default 2 s); the error then says the store is in use.
	LockTimeout time.Duration
}

// Bolt is a DB in one bbolt file.
type Bolt struct {
	db   *bolt.DB
	path string
}

// OpenBolt opens (creating when absent, mode 0600, its directory 0700) the bbolt file at
// path. Only one process may hold it open.
func OpenBolt(path string, optFns ...func(*BoltOptions)) (*Bolt, error) {
	o := BoltOptions{LockTimeout: 2 * time.Second}
	for _, fn := range optFns {
		fn(&o)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating store directory %s: %w", dir, err)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        o.LockTimeout,
		NoFreelistSync: true, // the freelist is rebuilt on open: fewer pages written per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening store %s: it is locked by another process (is another credbroker running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	if created {
		// The new file's directory entry must be durable too, or a crash could lose the
		// whole file after its first acknowledged write.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return &Bolt{db: db, path: path}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing store directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing store directory %s: %w", dir, err)
	}
	return nil
}

// Path returns the file's path.
func (b *Bolt) Path() string { return b.path }

// View implements DB.
func (b *Bolt) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
	return boltErr(err)
}

// Update implements DB.
func (b *Bolt) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
	return boltErr(err)
}

func boltErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Close implements DB.
func (b *Bolt) Close() error { return b.db.Close() }

// Check verifies the file's page structure (bbolt's consistency check).
func (b *Bolt) Check(ctx context.Context) error {
	return b.View(ctx, func(t Tx) error {
		var errs []error
		for err := range t.(boltTx).tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Get(bucket string, key []byte) ([]byte, error) {
	bk := t.tx.Bucket([]byte(bucket))
	if bk == nil {
		return nil, nil
	}
	return bk.Get(key), nil
}

func (t boltTx) Put(bucket string, key, value []byte) error {
	if !t.tx.Writable() {
		return ErrReadOnly
	}
	bk, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return bk.Put(key, value)
}

func (t boltTx) Delete(bucket string, key []byte) error {
	if !t.tx.Writable() {
		return ErrReadOnly
	}
	bk := t.tx.Bucket([]byte(bucket))
	if bk == nil {
		return nil
	}
	return bk.Delete(key)
}

func (t boltTx) Scan(bucket string, prefix, start []byte, fn func(k, v []byte) bool) error {
	bk := t.tx.Bucket([]byte(bucket))
	if bk == nil {
		return nil
	}
	if bytes.Compare(start, prefix) < 0 {
		start = prefix
	}
	c := bk.Cursor()
	for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !fn(k, v) {
			return nil
		}
	}
	return nil
}

func (t boltTx) Buckets() ([]string, error) {
	var out []string
	err := t.tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		if k, _ := b.Cursor().First(); k != nil {
			out = append(out, string(name))
		}
		return nil
	})
	return out, err
}
