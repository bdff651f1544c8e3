package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Cookie names: under TLS the __Host- prefix makes the browser insist on Secure,
// Path=/ and no Domain.
const (
	cookieName    = "credbroker-console"
	cookieNameTLS = "__Host-credbroker-console"
)

// session is one signed-in browser. It holds the principal's temporary
// credentials: they never leave the server.
type session struct {
	csrf    string
	creds   aws.Credentials
	arn     string
	expires time.Time
	// resetRequired: the user must change the password before anything else.
	resetRequired bool

	key    string // the hash of its id, its key in Console.sessions and the store
	gen    uint64 // the store's generation when read from it (guarded by Console.mu)
	once   sync.Once
	iam    *iam.Client
	report *credReport // the credential report as last read (guarded by Console.mu)
}

// randomToken returns n random bytes, base64url.
func (c *Console) randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.rand, b); err != nil {
		return "", fmt.Errorf("console: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// mapKey is the key a token is kept under: its hash, never the token itself.
func mapKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (c *Console) sign(id string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// startSession keeps a new session and sets its cookie on w.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := c.randomToken(32)
	if err != nil {
		return err
	}
	if s.csrf, err = c.randomToken(32); err != nil {
		return err
	}
	k := mapKey(id)
	s.key = k
	c.sweepStored(r.Context())
	if err := c.saveSession(r.Context(), s); err != nil {
		return err
	}
	c.mu.Lock()
	c.sweepLocked()
	if c.o.Store != nil {
		s.gen = c.o.Store.Generation()
	}
	c.sessions[k] = s
	c.mu.Unlock()
	http.SetCookie(w, c.cookie(r, id+"."+c.sign(id), s.expires))
	return nil
}

func (c *Console) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if r.TLS != nil {
		ck.Name, ck.Path, ck.Secure = cookieNameTLS, "/", true
	}
	if expires.IsZero() {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
	}
	return ck
}

// cookieNameOf is the session cookie's name for r: __Host- under TLS.
func cookieNameOf(r *http.Request) string {
	if r.TLS != nil {
		return cookieNameTLS
	}
	return cookieName
}

// session returns the request's live session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieNameOf(r))
	if err != nil {
		return nil
	}
	id, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(c.sign(id))) {
		return nil
	}
	k := mapKey(id)
	c.mu.Lock()
	s := c.sessions[k]
	stale := c.o.Store != nil && (s == nil || s.gen != c.o.Store.Generation())
	c.mu.Unlock()
	if stale { // another replica's, or one changed or ended since it was read
		s = c.loadSession(r.Context(), k, s)
	}
	if s == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.now().Before(s.expires) {
		delete(c.sessions, k)
		return nil
	}
	return s
}

// endSession deletes the request's session on the server and clears its cookie.
func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieNameOf(r)); err == nil {
		if id, _, ok := strings.Cut(ck.Value, "."); ok {
			c.mu.Lock()
			delete(c.sessions, mapKey(id))
			c.mu.Unlock()
			c.forgetSession(r.Context(), mapKey(id))
		}
	}
	http.SetCookie(w, c.cookie(r, "", time.Time{}))
}

// sweepLocked drops expired sessions and sign-in tokens.
func (c *Console) sweepLocked() {
	now := c.now()
	for k, s := range c.sessions {
		if !now.Before(s.expires) {
			delete(c.sessions, k)
		}
	}
	for k, t := range c.tokens {
		if !now.Before(t.expires) {
			delete(c.tokens, k)
		}
	}
	for k, p := range c.pending {
		if !now.Before(p.expires) {
			delete(c.pending, k)
		}
	}
}

// checkCSRF reports whether r carries the session's CSRF token (form field csrf,
// or the X-CSRF-Token header of the editor's requests).
func (s *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func (c *Console) client(s *session) *iam.Client {
	s.once.Do(func() { s.iam = c.iamClient(s.creds) })
	return s.iam
}
