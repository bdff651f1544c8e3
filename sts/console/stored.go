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
// replica ends the session on all of them. Federation SigninTokens are kept there
// too, under the hash of the token, and taken out in the transaction that reads
// them: a token made on one replica signs in on another, once.
const (
	sessionSecretPrefix = "console/session/"
	tokenSecretPrefix   = "console/signin-token/"
	cookieKeySecret     = "console/cookie-key"
)

// storedSession is a session, or a SigninToken (Duration: of the session it
// starts; Expires: of the token), as the store keeps it.
type storedSession struct {
	ARN, CSRF                                string
	AccessKeyID, SecretAccessKey, SessionTok string
	Expires                                  time.Time
	ResetRequired                            bool
	Duration                                 time.Duration `json:",omitempty"`
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
	return putStored(ctx, c.o.Store, sessionSecretPrefix+k, rec, "the session")
}

// putStored writes rec to st as the sealed secret name; what names it in the error.
func putStored(ctx context.Context, st sts.Store, name string, rec storedSession, what string) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	defer clear(b)
	if err := st.Update(ctx, func(tx *store.Tx) error { return tx.PutSecret(name, b) }); err != nil {
		return fmt.Errorf("console: keeping %s: %w", what, err)
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
	expired := func(rec storedSession) bool { return !now.Before(rec.Expires) }
	if _, err := deleteStored(ctx, c.o.Store, expired, sessionSecretPrefix, tokenSecretPrefix); err != nil {
		c.log.Warn("sweeping expired console sessions and sign-in tokens from the store", "error", err)
	}
}

// sweepEvery is how often the store's expired sessions are swept.
const sweepEvery = 10 * time.Minute

// EndSessions ends, in the store st, every console session of the principal arn
// (the root user's after `core root-password`: a reset password leaves no session
// of the old one behind) and returns how many there were. Running consoles over
// st see it at their next request.
func EndSessions(ctx context.Context, st sts.Store, arn string) (int, error) {
	n, err := deleteStored(ctx, st, func(rec storedSession) bool { return rec.ARN == arn }, sessionSecretPrefix)
	if err != nil {
		return 0, fmt.Errorf("ending the console sessions of %s: %w", arn, err)
	}
	return n, nil
}

// deleteStored deletes the records under prefixes in st that match (and any it
// cannot read), in one transaction, and returns how many.
func deleteStored(ctx context.Context, st sts.Store, match func(storedSession) bool, prefixes ...string) (int, error) {
	n := 0
	err := st.Update(ctx, func(tx *store.Tx) error {
		var names []string
		for _, p := range prefixes {
			more, err := tx.SecretNames(p)
			if err != nil {
				return err
			}
			names = append(names, more...)
		}
		var err error
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

// keepToken keeps a SigninToken under k, the hash of the token: in the store when
// there is one, else in memory.
func (c *Console) keepToken(ctx context.Context, k string, t *signinToken) error {
	if c.o.Store == nil {
		c.mu.Lock()
		c.sweepLocked()
		c.tokens[k] = t
		c.mu.Unlock()
		return nil
	}
	c.sweepStored(ctx)
	return putStored(ctx, c.o.Store, tokenSecretPrefix+k, storedSession{ARN: t.arn, AccessKeyID: t.creds.AccessKeyID,
		SecretAccessKey: t.creds.SecretAccessKey, SessionTok: t.creds.SessionToken, Expires: t.expires, Duration: t.duration}, "the sign-in token")
}

// takeToken returns the SigninToken kept under k and forgets it, so that it is
// used once whichever replica it reaches; nil when there is none.
func (c *Console) takeToken(ctx context.Context, k string) *signinToken {
	if c.o.Store == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		t := c.tokens[k]
		delete(c.tokens, k)
		return t
	}
	var b []byte
	err := c.o.Store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = tx.Secret(tokenSecretPrefix + k); err != nil {
			return err
		}
		return tx.DeleteSecret(tokenSecretPrefix + k)
	})
	defer clear(b)
	var rec storedSession
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		if !errors.Is(err, account.ErrNoSuchEntity) {
			c.log.Error("reading a sign-in token from the store", "error", err)
		}
		return nil
	}
	return &signinToken{creds: aws.Credentials{AccessKeyID: rec.AccessKeyID, SecretAccessKey: rec.SecretAccessKey, SessionToken: rec.SessionTok},
		arn: rec.ARN, duration: rec.Duration, expires: rec.Expires}
}
