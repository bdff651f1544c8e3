package imds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// TokenSet is the set of Authorization tokens the container endpoint accepts.
// Each token may be bound to one role (how `credbroker exec ROLE` hands a
// child process exactly that role) and to the uid it was issued to. Only
// SHA-256 digests are kept: a token is looked up by its digest and the
// digests compared in constant time. Lookups are lock-free; changes copy the
// (small) set. Safe for concurrent use.
//
// Besides the tokens added, a set with a user key (SetUserKey) accepts the
// per-user tokens UserToken derives from it: bound to their uid, stateless,
// one per uid for as long as the key stays.
type TokenSet struct {
	mu      sync.Mutex // serialises writers
	cur     atomic.Pointer[map[[sha256.Size]byte]tokenEntry]
	userKey atomic.Pointer[[]byte]
}

// Binding is what a token is good for. The zero value is a token of any
// caller, whose role the Source decides.
type Binding struct {
	// Role, if set, is the only role the token gets.
	Role string
	// UIDBound says the token works only for a caller of uid UID (the
	// Source checks the caller of the connection against it).
	UIDBound bool
	UID      uint32
}

type tokenEntry struct {
	digest [sha256.Size]byte
	bind   Binding
}

// userTokenPrefix starts every per-user token: "cbu1.<uid>.<mac>".
const userTokenPrefix = "cbu1."

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
	return s.AddBinding(token, Binding{Role: role})
}

// AddBinding accepts token from now on for what b allows. Adding a token
// again replaces its binding.
func (s *TokenSet) AddBinding(token string, b Binding) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if strings.HasPrefix(token, userTokenPrefix) {
		return fmt.Errorf("imds: a container token must not start with %q (the per-user tokens' prefix)", userTokenPrefix)
	}
	d := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.cur.Load()
	m := make(map[[sha256.Size]byte]tokenEntry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[d] = tokenEntry{digest: d, bind: b}
	s.cur.Store(&m)
	return nil
}

// Remove stops accepting token; it reports whether the token was in the set.
func (s *TokenSet) Remove(token string) bool {
	if strings.HasPrefix(token, userTokenPrefix) {
		return false // derived, never added
	}
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
	b, ok := s.Binding(token)
	return b.Role, ok
}

// Binding reports whether token is accepted, and what for.
func (s *TokenSet) Binding(token string) (Binding, bool) {
	if len(token) > maxTokenLen {
		return Binding{}, false
	}
	if strings.HasPrefix(token, userTokenPrefix) {
		return s.userBinding(token)
	}
	var buf [maxTokenLen]byte // hash without a heap copy of the token
	d := sha256.Sum256(buf[:copy(buf[:], token)])
	e, found := (*s.cur.Load())[d]
	if !found || subtle.ConstantTimeCompare(e.digest[:], d[:]) != 1 {
		return Binding{}, false
	}
	return e.bind, true
}

// SetUserKey sets the secret UserToken derives per-user tokens from (at
// least 16 bytes); tokens derived from an earlier key stop working.
func (s *TokenSet) SetUserKey(key []byte) error {
	if len(key) < minTokenLen {
		return fmt.Errorf("imds: a user token key must be at least %d bytes, not %d", minTokenLen, len(key))
	}
	k := append([]byte(nil), key...)
	s.userKey.Store(&k)
	return nil
}

// UserToken returns the token of uid: bound to that uid, to no role (the
// Source gives the caller its own), and the same for as long as the user
// key stays, so handing it out again costs nothing and stores nothing.
func (s *TokenSet) UserToken(uid uint32) (string, error) {
	k := s.userKey.Load()
	if k == nil {
		return "", fmt.Errorf("imds: this token set has no user key (SetUserKey)")
	}
	id := strconv.FormatUint(uint64(uid), 10)
	return userTokenPrefix + id + "." + base64.RawURLEncoding.EncodeToString(userMAC(*k, id)), nil
}

func userMAC(key []byte, uid string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("credbroker container token for uid "))
	m.Write([]byte(uid))
	return m.Sum(nil)
}

// userBinding checks a per-user token's MAC in constant time.
func (s *TokenSet) userBinding(token string) (Binding, bool) {
	k := s.userKey.Load()
	if k == nil {
		return Binding{}, false
	}
	id, mac, ok := strings.Cut(token[len(userTokenPrefix):], ".")
	if !ok || len(id) == 0 || len(id) > 10 || (len(id) > 1 && id[0] == '0') {
		return Binding{}, false
	}
	uid, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return Binding{}, false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(mac)
	if err != nil || !hmac.Equal(got, userMAC(*k, id)) {
		return Binding{}, false
	}
	return Binding{UIDBound: true, UID: uint32(uid)}, true
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
