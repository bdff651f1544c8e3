package sts

import (
	"sync"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
)

// maxGenEntries bounds each map of a generation cache; past it the map starts over
// (entries are rebuilt from the store on demand).
const maxGenEntries = 16384

// genCache holds what the core derived from the store at one generation: long-term
// access keys, principals with their compiled policies, roles with their compiled
// trust policies, customer managed policies and OIDC providers. The store's
// Generation moves with every change that can affect authorization; the core then
// starts a new genCache, so nothing here is ever stale. Its size is bounded by the
// number of entities, never by the number of sessions.
type genCache struct {
	gen        uint64
	keys       boundedCache[string, account.AccessKey]
	principals boundedCache[string, *principalEntry]
	roles      boundedCache[string, *roleEntry]
	managed    boundedCache[string, *policy.Policy]
	providers  boundedCache[string, *account.OIDCProvider]
}

func newGenCache(gen uint64) *genCache {
	g := &genCache{gen: gen}
	g.keys.max, g.principals.max, g.roles.max, g.managed.max, g.providers.max = maxGenEntries, maxGenEntries, maxGenEntries, maxGenEntries, maxGenEntries
	return g
}

// genCache returns the cache of the store's current generation.
func (c *Core) genCache() *genCache {
	gen := c.st.Generation()
	cur := c.cache.Load()
	for cur == nil || cur.gen < gen {
		next := newGenCache(gen)
		if c.cache.CompareAndSwap(cur, next) {
			return next
		}
		cur = c.cache.Load()
	}
	return cur
}

// boundedCache is a map that starts over when it holds max entries. It suits caches
// whose entries are cheap to rebuild and whose working set is usually far smaller
// than max. The zero value with max 0 keeps nothing.
type boundedCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func (b *boundedCache[K, V]) get(k K) (V, bool) {
	b.mu.RLock()
	v, ok := b.m[k]
	b.mu.RUnlock()
	return v, ok
}

func (b *boundedCache[K, V]) put(k K, v V) {
	if b.max <= 0 {
		return
	}
	b.mu.Lock()
	if b.m == nil || len(b.m) >= b.max {
		b.m = make(map[K]V)
	}
	b.m[k] = v
	b.mu.Unlock()
}

// roleEntry is a role as AssumeRole needs it: its settings and compiled trust policy.
type roleEntry struct {
	role  account.Role
	trust *policy.Policy // nil when the stored trust policy does not parse: nobody may assume it
}
