package kv

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// Memory is a DB held in memory only. Readers share a lock that an Update holds
// exclusively while it runs; a failed Update is undone from its undo log.
type Memory struct {
	mu      sync.RWMutex
	closed  bool
	buckets map[string]*memBucket
}

type memBucket struct {
	keys [][]byte          // sorted
	vals map[string][]byte // by string(key)
}

// NewMemory returns an empty in-memory DB.
func NewMemory() *Memory { return &Memory{buckets: map[string]*memBucket{}} }

// View implements DB.
func (m *Memory) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return fn(&memTx{m: m})
}

// Update implements DB.
func (m *Memory) Update(ctx context.Context, fn func(Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	tx := &memTx{m: m, writable: true}
	committed := false
	defer func() {
		if !committed {
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// Close implements DB.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.buckets = nil
	return nil
}

type undo struct {
	bucket  string
	key     []byte
	old     []byte
	existed bool
}

type memTx struct {
	m        *Memory
	writable bool
	log      []undo
}

func (t *memTx) rollback() {
	for i := len(t.log) - 1; i >= 0; i-- {
		u := t.log[i]
		if u.existed {
			t.set(u.bucket, u.key, u.old)
		} else {
			t.del(u.bucket, u.key)
		}
	}
	t.log = nil
}

func (t *memTx) Get(bucket string, key []byte) ([]byte, error) {
	b := t.m.buckets[bucket]
	if b == nil {
		return nil, nil
	}
	return b.vals[string(key)], nil
}

func (t *memTx) Put(bucket string, key, value []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	old, existed := t.lookup(bucket, key)
	t.log = append(t.log, undo{bucket: bucket, key: slices.Clone(key), old: old, existed: existed})
	t.set(bucket, key, slices.Clone(value))
	return nil
}

func (t *memTx) Delete(bucket string, key []byte) error {
	if !t.writable {
		return ErrReadOnly
	}
	old, existed := t.lookup(bucket, key)
	if !existed {
		return nil
	}
	t.log = append(t.log, undo{bucket: bucket, key: slices.Clone(key), old: old, existed: true})
	t.del(bucket, key)
	return nil
}

func (t *memTx) lookup(bucket string, key []byte) ([]byte, bool) {
	b := t.m.buckets[bucket]
	if b == nil {
		return nil, false
	}
	v, ok := b.vals[string(key)]
	return v, ok
}

func (t *memTx) set(bucket string, key, value []byte) {
	b := t.m.buckets[bucket]
	if b == nil {
		b = &memBucket{vals: map[string][]byte{}}
		t.m.buckets[bucket] = b
	}
	if value == nil {
		value = []byte{}
	}
	if _, ok := b.vals[string(key)]; !ok {
		i, _ := slices.BinarySearchFunc(b.keys, key, bytes.Compare)
		b.keys = slices.Insert(b.keys, i, slices.Clone(key))
	}
	b.vals[string(key)] = value
}

func (t *memTx) del(bucket string, key []byte) {
	b := t.m.buckets[bucket]
	if b == nil {
		return
	}
	if _, ok := b.vals[string(key)]; !ok {
		return
	}
	delete(b.vals, string(key))
	if i, found := slices.BinarySearchFunc(b.keys, key, bytes.Compare); found {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
}

func (t *memTx) Scan(bucket string, prefix, start []byte, fn func(k, v []byte) bool) error {
	b := t.m.buckets[bucket]
	if b == nil {
		return nil
	}
	if bytes.Compare(start, prefix) < 0 {
		start = prefix
	}
	i, _ := slices.BinarySearchFunc(b.keys, start, bytes.Compare)
	for ; i < len(b.keys) && bytes.HasPrefix(b.keys[i], prefix); i++ {
		k := b.keys[i]
		if !fn(k, b.vals[string(k)]) {
			return nil
		}
	}
	return nil
}

func (t *memTx) Buckets() ([]string, error) {
	var out []string
	for name, b := range t.m.buckets {
		if len(b.keys) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
