package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// With Options.Store set, sessions are kept in the core's store as its sealed
// secrets (a session holds temporary credentials), under the hash of the session
// id, and so is the cookies' HMAC key: a restart, or another replica on the same
// PostgreSQL store, keeps people signed in. Memory is a cache: a cached session is
// read again whenever the store's generation has moved, so a sign-out on one
// replica ends the session on all of them.
const (
	sessionSecretPrefix = "console/session/"
	cookieKeySecret     = "console/cookie-key"
)

// storedSession is a session as the store keeps it.
type storedSession struct {
	ARN, CSRF                                string
	AccessKeyID, SecretAccessKey, SessionTok string
	Expires                                  time.Time
	ResetRequired                            bool
}

// cookieKey returns the store's cookie key, made on first use.
func cookieKey(ctx context.Context, st sts.Store, rand io.Reader) ([]byte, error) {
	var key []byte
	err := st.Update(ctx, func(tx *store.Tx) error {
		var err error
		if key, err = tx.Secret(cookieKeySecret); !errors.Is(err, account.ErrNoSuchEntity) {
			return err
		}
		key = make([]byte, 32)
		if _, err := io.ReadFull(rand, key); err != nil {
			return err
		}
		return tx.PutSecret(cookieKeySecret, key)
	})
	if err != nil {
		return nil, fmt.Errorf("console: the cookie key in the store: %w", err)
	}
	return key, nil
}

// saveSession writes s under its key (a no-op without a store).
func (c *Console) saveSession(ctx context.Context, s *session) error {
	if c.o.Store == nil {
		return nil
	}
	c.mu.Lock()
	rec := storedSession{ARN: s.arn, CSRF: s.csrf, AccessKeyID: s.creds.AccessKeyID, SecretAccessKey: s.creds.SecretAccessKey,
		SessionTok: s.creds.SessionToken, Expires: s.expires, ResetRequired: s.resetRequired}
	k := s.key
	c.mu.Unlock()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	defer clear(b)
	if err := c.o.Store.Update(ctx, func(tx *store.Tx) error { return tx.PutSecret(sessionSecretPrefix+k, b) }); err != nil {
		return fmt.Errorf("console: keeping the session: %w", err)
	}
	return nil
}

// loadSession reads session k from the store, keeping cached's in-memory state
// (its IAM client, its report) when it is the same session; nil when it is gone.
func (c *Console) loadSession(ctx context.Context, k string, cached *session) *session {
	gen := c.o.Store.Generation()
	var b []byte
	err := c.o.Store.View(ctx, func(tx *store.Tx) error {
		var err error
		b, err = tx.Secret(sessionSecretPrefix + k)
		return err
	})
	var rec storedSession
	if err == nil {
		err = json.Unmarshal(b, &rec)
		clear(b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if !errors.Is(err, account.ErrNoSuchEntity) {
			c.log.Error("reading a console session from the store", "error", err)
		}
		delete(c.sessions, k)
		return nil
	}
	s := cached
	if s == nil || s.creds.AccessKeyID != rec.AccessKeyID {
		s = &session{key: k, creds: aws.Credentials{AccessKeyID: rec.AccessKeyID, SecretAccessKey: rec.SecretAccessKey, SessionToken: rec.SessionTok}}
	}
	s.arn, s.csrf, s.expires, s.resetRequired, s.gen = rec.ARN, rec.CSRF, rec.Expires, rec.ResetRequired, gen
	c.sessions[k] = s
	return s
}

// forgetSession deletes session k from the store (a no-op without a store).
func (c *Console) forgetSession(ctx context.Context, k string) {
	if c.o.Store == nil {
		return
	}
	err := c.o.Store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSecret(sessionSecretPrefix + k); !errors.Is(err, account.ErrNoSuchEntity) {
			return err
		}
		return nil
	})
	if err != nil {
		c.log.Error("deleting a console session from the store", "error", err)
	}
}

// sweepStored deletes the expired sessions from the store, at most every
// sweepEvery.
func (c *Console) sweepStored(ctx context.Context) {
	c.mu.Lock()
	due := c.o.Store != nil && !c.now().Before(c.nextSweep)
	if due {
		c.nextSweep = c.now().Add(sweepEvery)
	}
	c.mu.Unlock()
	if !due {
		return
	}
	now := c.now()
	if _, err := deleteStored(ctx, c.o.Store, func(rec storedSession) bool { return !now.Before(rec.Expires) }); err != nil {
		c.log.Warn("sweeping expired console sessions from the store", "error", err)
	}
}

// sweepEvery is how often the store's expired sessions are swept.
const sweepEvery = 10 * time.Minute

// EndSessions ends, in the store st, every console session of the principal arn
// (the root user's after `core root-password`: a reset password leaves no session
// of the old one behind) and returns how many there were. Running consoles over
// st see it at their next request.
func EndSessions(ctx context.Context, st sts.Store, arn string) (int, error) {
	n, err := deleteStored(ctx, st, func(rec storedSession) bool { return rec.ARN == arn })
	if err != nil {
		return 0, fmt.Errorf("ending the console sessions of %s: %w", arn, err)
	}
	return n, nil
}

// deleteStored deletes the sessions in st that match (and any it cannot read),
// and returns how many.
func deleteStored(ctx context.Context, st sts.Store, match func(storedSession) bool) (int, error) {
	n := 0
	err := st.Update(ctx, func(tx *store.Tx) error {
		names, err := tx.SecretNames(sessionSecretPrefix)
		for i := 0; err == nil && i < len(names); i++ {
			var rec storedSession
			b, serr := tx.Secret(names[i])
			if serr == nil && json.Unmarshal(b, &rec) == nil && !match(rec) {
				continue
			}
			if err = tx.DeleteSecret(names[i]); err == nil {
				n++
			}
		}
		return err
	})
	return n, err
}
