package rolesanywhere

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts/store"
)

// entities are the account's Roles Anywhere entities as CreateSession reads them,
// loaded once per store generation: no decryption or JSON on the hot path.
type entities struct {
	gen      uint64
	anchors  map[string]*anchorEntry
	profiles map[string]*profile
	crls     map[string][]*x509.RevocationList // by trust anchor ARN, enabled ones only
}

type anchorEntry struct {
	anchor
	roots *x509.CertPool
	// key identifies the anchor's content in the chain cache.
	key [sha256.Size]byte
}

// generationStore is what the cache needs of the core's store.
type generationStore interface {
	storeView
	Generation() uint64
}

// entityCache holds the entities of the latest generation seen.
type entityCache struct {
	mu  sync.Mutex
	cur *entities
}

func (c *entityCache) get(ctx context.Context, st generationStore) (*entities, error) {
	gen := st.Generation()
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur != nil && cur.gen == gen {
		return cur, nil
	}
	e := &entities{anchors: map[string]*anchorEntry{}, profiles: map[string]*profile{}, crls: map[string][]*x509.RevocationList{}}
	err := st.View(ctx, func(tx *store.Tx) error {
		var err error
		if e.gen, err = tx.Generation(); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	anchors, err := list[anchor](ctx, st, kindAnchor)
	if err != nil {
		return nil, err
	}
	for _, r := range anchors {
		a := &anchorEntry{anchor: r.Entity, roots: x509.NewCertPool()}
		a.roots.AppendCertsFromPEM([]byte(a.Source.SourceData.X509CertificateData))
		a.key = sha256.Sum256([]byte(a.ARN + "\x00" + a.Source.SourceData.X509CertificateData))
		e.anchors[a.ID] = a
	}
	profiles, err := list[profile](ctx, st, kindProfile)
	if err != nil {
		return nil, err
	}
	for i := range profiles {
		e.profiles[profiles[i].Entity.ID] = &profiles[i].Entity
	}
	crls, err := list[crl](ctx, st, kindCRL)
	if err != nil {
		return nil, err
	}
	for _, r := range crls {
		if !r.Entity.Enabled {
			continue
		}
		if rl, err := parseCRL(r.Entity.Data); err == nil {
			e.crls[r.Entity.TrustAnchorARN] = append(e.crls[r.Entity.TrustAnchorARN], rl)
		}
	}
	c.mu.Lock()
	if c.cur == nil || c.cur.gen <= e.gen {
		c.cur = e
	}
	c.mu.Unlock()
	return e, nil
}

// chainCache remembers chains that verified to an anchor, keyed by the anchor's
// content and the certificates sent, so that a client that comes back skips the
// signature checks of its chain. Validity periods are checked at every use.
type chainCache struct {
	mu  sync.Mutex
	max int
	m   map[[sha256.Size]byte][]*x509.Certificate
}

func chainKey(a *anchorEntry, leaf *x509.Certificate, chain []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	h.Write(a.key[:])
	h.Write(leaf.Raw)
	for _, c := range chain {
		h.Write(c.Raw)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (c *chainCache) get(k [sha256.Size]byte, now time.Time) ([]*x509.Certificate, bool) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	for _, cert := range v {
		if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return nil, false
		}
	}
	return v, true
}

func (c *chainCache) put(k [sha256.Size]byte, v []*x509.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = map[[sha256.Size]byte][]*x509.Certificate{} // drop all: simple and bounded
	}
	c.m[k] = v
}
