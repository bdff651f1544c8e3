package sts

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/store"
)

// sessionKeyPrefix names the store secrets that hold the session-token keys:
// sessionKeyPrefix + kid, 32 random bytes each. The kid starts with the key's creation
// time, so the last one by name is the newest, which signs; the others still verify.
const sessionKeyPrefix = "sts/session-key/"

// openSealer returns the session sealer with the keys kept in the store, making the
// first key when there is none.
func (c *Core) openSealer(ctx context.Context) (*session.Sealer, error) {
	var keys []session.Key
	load := func(tx *store.Tx) error {
		keys = keys[:0]
		names, err := tx.SecretNames(sessionKeyPrefix)
		if err != nil {
			return err
		}
		for _, n := range names {
			v, err := tx.Secret(n)
			if err != nil {
				return err
			}
			keys = append(keys, session.Key{ID: strings.TrimPrefix(n, sessionKeyPrefix), Secret: v})
		}
		return nil
	}
	if err := c.st.View(ctx, load); err != nil {
		return nil, fmt.Errorf("core: reading session keys: %w", err)
	}
	if len(keys) == 0 {
		err := c.st.Update(ctx, func(tx *store.Tx) error {
			if err := load(tx); err != nil || len(keys) > 0 {
				return err
			}
			k, err := c.newSessionKey()
			if err != nil {
				return err
			}
			keys = append(keys, k)
			return tx.PutSecret(sessionKeyPrefix+k.ID, k.Secret)
		})
		if err != nil {
			return nil, fmt.Errorf("core: making the session key: %w", err)
		}
		c.log.Info("made a new session-token signing key", "kid", keys[0].ID)
	}
	signing := keys[len(keys)-1]
	return session.New(signing, func(o *session.Options) {
		o.VerifyKeys = keys[:len(keys)-1]
		o.Now = c.now
		o.LookupCacheSize = c.o.SessionCacheSize
	})
}

func (c *Core) newSessionKey() (session.Key, error) {
	var b [32 + 4]byte
	if _, err := io.ReadFull(c.rand, b[:]); err != nil {
		return session.Key{}, err
	}
	kid := c.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[32:])
	return session.Key{ID: kid, Secret: b[:32]}, nil
}
