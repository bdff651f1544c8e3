package keystore

import (
	"sort"
	"sync"
	"time"

	"github.com/99designs/keyring"
	"github.com/hashicorp/go-hclog"
)

// BackendMemory names the in-memory backend of NewMemory.
const BackendMemory = "memory"

// NewMemory returns a Store whose keys live only in this process's memory
// and vanish with it: `serve --dev` keeps the demo user's key there, and
// tests use it. It is safe for concurrent use.
func NewMemory() *Store {
	return &Store{kr: &memoryKeyring{items: map[string]keyring.Item{}}, backend: BackendMemory,
		desc: "memory of this process", now: time.Now, log: hclog.NewNullLogger()}
}

// memoryKeyring is a keyring.Keyring in a map, behind a mutex (keyring's
// own ArrayKeyring is not safe for concurrent use).
type memoryKeyring struct {
	mu    sync.Mutex
	items map[string]keyring.Item
}

func (m *memoryKeyring) Get(key string) (keyring.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	it.Data = append([]byte(nil), it.Data...)
	return it, nil
}

func (m *memoryKeyring) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}

func (m *memoryKeyring) Set(it keyring.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it.Data = append([]byte(nil), it.Data...)
	m.items[it.Key] = it
	return nil
}

func (m *memoryKeyring) Remove(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[key]; !ok {
		return keyring.ErrKeyNotFound
	}
	delete(m.items, key)
	return nil
}

func (m *memoryKeyring) Keys() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.items))
	for k := range m.items {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}
