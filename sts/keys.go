package sts

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/store"
)

// sessionKeyPrefix names the store secrets that hold the session-token keys:
// sessionKeyPrefix + kid, 32 random bytes each. The kid starts with the key's creation
// time, so the last one by name is the newest, which signs; the others still verify.
const sessionKeyPrefix = "sts/session-key/"

// sessionKeyKeep is how long a rotated-out key still verifies: the longest session
// (GetSessionToken and GetFederationToken: 36 hours).
const sessionKeyKeep = 36 * time.Hour

// readSessionKeys returns the session keys the store holds, oldest first.
func readSessionKeys(tx *store.Tx) ([]session.Key, error) {
	names, err := tx.SecretNames(sessionKeyPrefix)
	if err != nil {
		return nil, err
	}
	keys := make([]session.Key, 0, len(names))
	for _, n := range names {
		v, err := tx.Secret(n)
		if err != nil {
			return nil, err
		}
		keys = append(keys, session.Key{ID: strings.TrimPrefix(n, sessionKeyPrefix), Secret: v})
	}
	return keys, nil
}

// loadSealer (re)builds the session sealer from the keys kept in the store, making the
// first key when there is none. Every replica on one database reads the same keys, so a
// token sealed by one opens on the others.
func (c *Core) loadSealer(ctx context.Context) error {
	var keys []session.Key
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		keys, err = readSessionKeys(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("core: reading session keys: %w", err)
	}
	if len(keys) == 0 {
		err := c.st.Update(ctx, func(tx *store.Tx) error {
			var err error
			if keys, err = readSessionKeys(tx); err != nil || len(keys) > 0 {
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
			return fmt.Errorf("core: making the session key: %w", err)
		}
		c.log.Info("made a new session-token signing key", "kid", keys[len(keys)-1].ID)
	}
	signing := keys[len(keys)-1]
	sl, err := session.New(signing, func(o *session.Options) {
		o.VerifyKeys = keys[:len(keys)-1]
		o.Now = c.now
		o.LookupCacheSize = c.o.SessionCacheSize
	})
	if err != nil {
		return err
	}
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.ID
	}
	joined := strings.Join(kids, ",")
	c.sealer.Store(sl)
	c.sealKIDs.Store(&joined)
	return nil
}

// followSessionKeys reloads the sealer after a change of the store (here or, on a
// shared database, on another replica) that changed the set of session keys.
func (c *Core) followSessionKeys(ctx context.Context) {
	for {
		changed := c.st.Changed()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		var names []string
		err := c.st.View(ctx, func(tx *store.Tx) error {
			var err error
			names, err = tx.SecretNames(sessionKeyPrefix)
			return err
		})
		if err != nil {
			continue // the store is unreachable: the keys in memory keep serving
		}
		for i := range names {
			names[i] = strings.TrimPrefix(names[i], sessionKeyPrefix)
		}
		if cur := c.sealKIDs.Load(); cur != nil && *cur == strings.Join(names, ",") {
			continue
		}
		if err := c.loadSealer(ctx); err != nil {
			c.log.Warn("reloading the session keys", "error", err)
			continue
		}
		c.log.Info("session-token signing keys changed", "kids", len(names))
	}
}

// RotateSessionKey makes a new session-token signing key, which signs from now on (on
// every replica of a shared database, within the time a change takes to reach them); the
// previous keys keep verifying for 36 hours, the longest session, and are then removed.
// It returns the new key's id.
func (c *Core) RotateSessionKey(ctx context.Context) (string, error) {
	k, err := c.newSessionKey()
	if err != nil {
		return "", err
	}
	err = c.st.Update(ctx, func(tx *store.Tx) error {
		keys, err := readSessionKeys(tx)
		if err != nil {
			return err
		}
		if n := len(keys); n > 0 && k.ID <= keys[n-1].ID {
			// Made in the same second as the newest key, with a smaller random part: the
			// newest by name must be the new one, which signs.
			k.ID = keys[n-1].ID + "." // longer, so greater; "." is allowed in a kid
		}
		cutoff := c.now().Add(-sessionKeyKeep).UTC().Format(kidTime)
		// Key i signed until key i+1 was made: once that is older than the longest
		// session, no token of key i is valid any more. The newest key, which signed
		// until now, always stays.
		for i, old := range keys {
			if i+1 < len(keys) && keys[i+1].ID < cutoff {
				if err := tx.DeleteSecret(sessionKeyPrefix + old.ID); err != nil {
					return err
				}
			}
		}
		return tx.PutSecret(sessionKeyPrefix+k.ID, k.Secret)
	})
	if err != nil {
		return "", fmt.Errorf("core: rotating the session key: %w", err)
	}
	if err := c.loadSealer(ctx); err != nil {
		return "", err
	}
	c.log.Info("rotated the session-token signing key", "kid", k.ID)
	return k.ID, nil
}

// kidTime is the layout of the time that starts a key id.
const kidTime = "20060102T150405Z"

func (c *Core) newSessionKey() (session.Key, error) {
	var b [32 + 4]byte
	if _, err := io.ReadFull(c.rand, b[:]); err != nil {
		return session.Key{}, err
	}
	kid := c.now().UTC().Format(kidTime) + "-" + hex.EncodeToString(b[32:])
	return session.Key{ID: kid, Secret: b[:32]}, nil
}
