// Package kv is the storage backend under the IAM/STS core's store: a tiny transactional
// key/value interface (buckets of ordered byte keys) with three implementations, an
// embedded bbolt file (OpenBolt), a PostgreSQL database shared by several core replicas
// (OpenPostgres) and memory (NewMemory, for `serve --dev` and tests).
//
// The store keeps all IAM semantics — records, secondary indexes, encryption — above this
// interface, so a networked backend (etcd, a SQL table of keys and values, …) needs only
// these five methods and no knowledge of IAM.
//
// Why bbolt for the file: it is pure Go (CGO_ENABLED=0 builds stay static), one file, and
// every Update is an ACID transaction made durable by fsync before it returns: a
// copy-on-write B+tree whose two meta pages are checksummed, so a process killed at any
// instant reopens at the last committed transaction with no recovery step and no
// write-ahead log to replay. The core's workload suits it: tiny, rare writes (IAM
// changes) and many concurrent reads (every request), which bbolt serves from its mmap
// without locks held across readers. SQLite through a pure-Go driver (modernc.org/sqlite)
// would give SQL we do not need, a much larger dependency (a C-to-Go translation of SQLite)
// and a WAL and journal files beside the database, for no gain in this access pattern.
//
// Why PostgreSQL (through github.com/jackc/pgx/v5, the maintained pure-Go driver with a
// pool and LISTEN/NOTIFY) for several replicas: a database people already run, back up
// and fail over, whose committed transactions are durable, and which serialises the
// core's rare writers with one advisory lock while serving many concurrent snapshot
// readers. The schema is one table of (bucket, key, value); secrets arrive sealed by the
// store above, so the database never holds one in clear.
package kv

import (
	"context"
	"errors"
)

// DB is a transactional key/value store.
type DB interface {
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. When fn returns nil the transaction is
	// committed and durable before Update returns; when fn returns an error (or panics)
	// nothing it wrote is kept. Updates are serialised.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the backend; transactions after Close fail with ErrClosed.
	Close() error
}

// Tx is one transaction. Slices it returns are valid only until the transaction ends and
// must not be modified. Buckets are created by their first Put.
type Tx interface {
	// Get returns the value of key in bucket, or nil when there is none.
	Get(bucket string, key []byte) ([]byte, error)
	// Put sets key to value in bucket (in a read-only transaction: ErrReadOnly).
	Put(bucket string, key, value []byte) error
	// Delete removes key from bucket; removing an absent key is not an error.
	Delete(bucket string, key []byte) error
	// Scan calls fn, in ascending key order, for each key of bucket that has prefix and is
	// not less than start (nil start: from the first key with prefix), until fn returns
	// false. fn must not modify bucket.
	Scan(bucket string, prefix, start []byte, fn func(key, value []byte) bool) error
}

// BucketLister is implemented by the Tx of every backend here: Buckets lists the
// buckets that hold at least one key, in ascending order (for copying a whole DB).
type BucketLister interface {
	Buckets() ([]string, error)
}

// Watcher is implemented by backends that other processes change too (PostgreSQL): fn
// is called, in a goroutine of the backend, after changes committed elsewhere (and
// possibly after the caller's own), until ctx ends or the DB is closed.
type Watcher interface {
	Watch(ctx context.Context, fn func())
}

// Checker is implemented by backends that can verify their own on-disk structure.
type Checker interface {
	Check(ctx context.Context) error
}

// Errors of every backend.
var (
	ErrClosed   = errors.New("kv: database is closed")
	ErrReadOnly = errors.New("kv: write in a read-only transaction")
)
