package imds

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// TokenSet is the set of Authorization tokens the container endpoint accepts.
// Each token may be bound to one role (how `credbroker exec ROLE` hands a
// child process exactly that role). Only SHA-256 digests are kept: a token is
// looked up by its digest and the digests compared in constant time. Lookups
// are lock-free; changes copy the (small) set. Safe for concurrent use.
type TokenSet struct {
	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[map[[sha256.Size]byte]tokenEntry]
}

type tokenEntry struct {
	digest [sha256.Size]byte
	role   string
}

// Token length bounds: long enough to be unguessable, short enough for a header.
const (
	minTokenLen = 16
	maxTokenLen = 1024
)

// NewTokenSet returns an empty set.
func NewTokenSet() *TokenSet {
	s := &TokenSet{}
	m := map[[sha256.Size]byte]tokenEntry{}
	s.cur.Store(&m)
	return s
}

// NewToken returns a fresh token of 32 random bytes from r (crypto/rand when
// nil), base64url-encoded: safe in a header and in a file.
func NewToken(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("imds: drawing a container token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func checkToken(token string) error {
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return fmt.Errorf("imds: a container token must be %d to %d characters long, not %d", minTokenLen, maxTokenLen, len(token))
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("imds: a container token must be printable ASCII without spaces (byte %d is not)", i)
		}
	}
	return nil
}

// Add accepts token from now on. role binds it to that role; "" leaves the
// role to the Source. Adding a token again replaces its binding.
func (s *TokenSet) Add(token, role string) error {
	if err := checkToken(token); err != nil {
		return err
	}
	d := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.cur.Load()
	m := make(map[[sha256.Size]byte]tokenEntry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[d] = tokenEntry{digest: d, role: role}
	s.cur.Store(&m)
	return nil
}

// Remove stops accepting token; it reports whether the token was in the set.
func (s *TokenSet) Remove(token string) bool {
	d := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.cur.Load()
	if _, ok := old[d]; !ok {
		return false
	}
	m := make(map[[sha256.Size]byte]tokenEntry, len(old))
	for k, v := range old {
		if k != d {
			m[k] = v
		}
	}
	s.cur.Store(&m)
	return true
}

// Len returns the number of accepted tokens.
func (s *TokenSet) Len() int { return len(*s.cur.Load()) }

// Lookup reports whether token is accepted and the role it is bound to.
func (s *TokenSet) Lookup(token string) (role string, ok bool) {
	if len(token) > maxTokenLen {
		return "", false
	}
	var buf [maxTokenLen]byte // hash without a heap copy of the token
	d := sha256.Sum256(buf[:copy(buf[:], token)])
	e, found := (*s.cur.Load())[d]
	if !found || subtle.ConstantTimeCompare(e.digest[:], d[:]) != 1 {
		return "", false
	}
	return e.role, true
}

// WriteTokenFile writes token to path with mode 0600, atomically (a temporary
// file in the same directory renamed over path), so an SDK re-reading the
// file during a rotation sees the old token or the new one, never a mix. The
// file holds the token alone, without a newline: SDKs send it verbatim.
func WriteTokenFile(path, token string) (err error) {
	if err := checkToken(token); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("imds: writing token file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("imds: writing token file %s: %w", path, err)
	}
	if _, err = io.WriteString(f, token); err != nil {
		return fmt.Errorf("imds: writing token file %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("imds: writing token file %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("imds: writing token file %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("imds: writing token file %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil { // persist the rename; best effort
		d.Sync()
		d.Close()
	}
	return nil
}
