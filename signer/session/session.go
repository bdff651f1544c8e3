package session

import (
	"bytes"
	"compress/flate"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/credbroker/credbroker/signer"
)

// Kind says which STS call made a session.
type Kind string

// The kinds of session.
const (
	KindAssumedRole   Kind = "assumed-role"   // AssumeRole, AssumeRoleWithWebIdentity, …
	KindFederatedUser Kind = "federated-user" // GetFederationToken
	KindSessionToken  Kind = "session-token"  // GetSessionToken
	// KindConsole is a console sign-in of the root user or an IAM user (password and,
	// with a device, MFA), made by the core itself, not by an STS call.
	KindConsole Kind = "console"
)

// Tag is one session tag.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Claims is what a session token carries: everything the core needs to authenticate and
// authorize a request signed with the session's key, so that nothing per session is
// stored.
type Claims struct {
	Kind      Kind
	AccountID string
	// PrincipalARN is the session's own ARN: arn:aws:sts::ACCOUNT:assumed-role/ROLE/NAME,
	// arn:aws:sts::ACCOUNT:federated-user/NAME, or the IAM user's ARN for GetSessionToken.
	PrincipalARN string
	// IdentityARN is the identity underneath: the role's ARN, or the IAM user's ARN.
	IdentityARN string
	// UniqueID is the principal's unique id: AROA…:NAME for a role session, ACCOUNT:NAME
	// for a federated user, AIDA… for a user's session token.
	UniqueID    string
	AccessKeyID string
	IssuedAt    time.Time // whole seconds
	Expiry      time.Time // whole seconds

	// SessionPolicy is the inline session policy, if any, as JSON the core has
	// validated. Seal stores it with the white space outside strings removed (and
	// deflated above compressAbove bytes); Open returns that compact form.
	SessionPolicy string
	// PolicyARNs are the managed session policies.
	PolicyARNs        []string
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	// MFAAuthTime is when the MFA code was checked; zero when no MFA was used.
	MFAAuthTime time.Time
	// RoleChained says a role session assumed this role.
	RoleChained bool
	// CallerARN is the ARN of the principal that called STS to make this session.
	CallerARN string

	// KeyID is the kid of the key that sealed the token (set by Open; ignored by Seal).
	KeyID string
}

// MFA reports whether MFA was used to make the session.
func (c *Claims) MFA() bool { return !c.MFAAuthTime.IsZero() }

// compressAbove is the compact policy length above which Seal deflates it: the typical
// policy (a few hundred bytes) stays plain JSON, which costs nothing to open.
const compressAbove = 1024

// maxPolicy bounds an inflated policy: AWS's own limit on a session policy is 2048
// characters before packing, so 64 KiB is generous and stops a bomb.
const maxPolicy = 64 << 10

// Key is a server key: a kid and at least 32 random bytes. Keep it out of logs.
type Key struct {
	ID     string
	Secret []byte
}

// keys derived from one server Key, with domain separation between the two uses.
type derived struct {
	jwt    []byte // HMAC-SHA256 key of the token
	secret []byte // HMAC-SHA256 key the session secrets are derived with
}

func derive(k Key) derived {
	mac := func(label string) []byte {
		m := hmac.New(sha256.New, k.Secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return derived{jwt: mac("credbroker session token v1"), secret: mac("credbroker session secret v1")}
}

// Options configure a Sealer.
type Options struct {
	// VerifyKeys are older keys whose tokens Open still accepts (key rotation). The
	// signing key is always accepted.
	VerifyKeys []Key
	// Now is the clock tokens expire by. Default time.Now.
	Now func() time.Time
	// LookupCacheSize bounds how many opened sessions Lookup keeps, by access key id,
	// so that a session's later requests skip Open. Default 4096; negative disables.
	LookupCacheSize int
}

// Sealer seals and opens session tokens. It is safe for concurrent use.
type Sealer struct {
	signing  *keyEntry
	byKID    map[string]*keyEntry
	byHeader map[string]*keyEntry // the encoded JOSE header a key seals with → the key
	now      func() time.Time
	cache    lookupCache
	// b64 decodes strictly: no stray trailing bits, so a token has one spelling.
	b64  *base64.Encoding
	bufs sync.Pool // *sealBuffers
}

// sealBuffers are Seal's transient buffers.
type sealBuffers struct{ policy, payload []byte }

// keyEntry is one server key, ready for use.
type keyEntry struct {
	kid    string
	header string // base64url of {"alg":"HS256","kid":KID,"typ":"JWT"}
	derived
	macs sync.Pool // hash.Hash: HMAC with derived.secret, reused for secretFor
}

// New returns a Sealer that seals with signing and opens tokens sealed with signing or
// any of the Options' VerifyKeys.
func New(signing Key, optFns ...func(*Options)) (*Sealer, error) {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sealer{
		byKID:    make(map[string]*keyEntry, 1+len(opts.VerifyKeys)),
		byHeader: make(map[string]*keyEntry, 1+len(opts.VerifyKeys)),
		now:      opts.Now,
		b64:      base64.RawURLEncoding.Strict(),
	}
	for _, k := range append([]Key{signing}, opts.VerifyKeys...) {
		if !validKID(k.ID) {
			return nil, fmt.Errorf("session: key id %q: want 1 to 64 of A-Z a-z 0-9 . _ -", k.ID)
		}
		if len(k.Secret) < 32 {
			return nil, fmt.Errorf("session: key %q: secret has %d bytes, want at least 32", k.ID, len(k.Secret))
		}
		if _, dup := s.byKID[k.ID]; dup {
			return nil, fmt.Errorf("session: key id %q given twice", k.ID)
		}
		e := &keyEntry{
			kid:     k.ID,
			header:  base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + k.ID + `","typ":"JWT"}`)),
			derived: derive(k),
		}
		s.byKID[k.ID] = e
		s.byHeader[e.header] = e
	}
	s.signing = s.byKID[signing.ID]
	s.cache.max = opts.LookupCacheSize
	if s.cache.max == 0 {
		s.cache.max = 4096
	}
	return s, nil
}

func validKID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Seal returns the session token for c and the session's secret access key, derived
// from the signing key, c.AccessKeyID and c.Expiry.
func (s *Sealer) Seal(c *Claims) (token, secret string, err error) {
	switch {
	case c.Kind != KindAssumedRole && c.Kind != KindFederatedUser && c.Kind != KindSessionToken && c.Kind != KindConsole:
		return "", "", fmt.Errorf("session: unknown kind %q", c.Kind)
	case c.AccessKeyID == "":
		return "", "", errors.New("session: claims have no access key id")
	case !c.Expiry.After(c.IssuedAt):
		return "", "", fmt.Errorf("session: expiry %s is not after issue time %s", c.Expiry, c.IssuedAt)
	}
	w := wire{
		Kind:        c.Kind,
		Account:     c.AccountID,
		Principal:   c.PrincipalARN,
		Identity:    c.IdentityARN,
		UniqueID:    c.UniqueID,
		AccessKeyID: c.AccessKeyID,
		IssuedAt:    c.IssuedAt.Unix(),
		Expiry:      c.Expiry.Unix(),
		PolicyARNs:  c.PolicyARNs,
		Tags:        c.Tags,
		Transitive:  c.TransitiveTagKeys,
		Source:      c.SourceIdentity,
		RoleChained: c.RoleChained,
		Caller:      c.CallerARN,
	}
	if !c.MFAAuthTime.IsZero() {
		w.MFAAuthTime = c.MFAAuthTime.Unix()
	}
	size, ok := claimsSize(c)
	if !ok {
		return "", "", errors.New("session: claims hold a string that is not UTF-8")
	}
	buf, _ := s.bufs.Get().(*sealBuffers)
	if buf == nil {
		buf = new(sealBuffers)
	}
	defer s.bufs.Put(buf)
	if c.SessionPolicy != "" {
		buf.policy = compactJSON(buf.policy[:0], c.SessionPolicy)
		if len(buf.policy) <= compressAbove {
			w.Policy = unsafe.String(unsafe.SliceData(buf.policy), len(buf.policy)) // used before buf returns to the pool
		} else if w.PolicyZ, err = deflate(buf.policy); err != nil {
			return "", "", err
		}
	}
	buf.payload = appendClaims(slices.Grow(buf.payload[:0], 160+size+size/4), &w) // room for names and escapes
	payload := buf.payload
	k := s.signing
	tok := make([]byte, 0, len(k.header)+1+base64.RawURLEncoding.EncodedLen(len(payload))+1+43)
	tok = append(tok, k.header...)
	tok = append(tok, '.')
	tok = base64.RawURLEncoding.AppendEncode(tok, payload)
	// Later appends only write past len(tok), so this view of it stays as it is.
	sig, err := jwt.SigningMethodHS256.Sign(unsafe.String(unsafe.SliceData(tok), len(tok)), k.jwt)
	if err != nil {
		return "", "", fmt.Errorf("session: signing token: %w", err)
	}
	tok = append(tok, '.')
	tok = base64.RawURLEncoding.AppendEncode(tok, sig)
	return unsafe.String(unsafe.SliceData(tok), len(tok)), k.secretFor(w.AccessKeyID, w.Expiry), nil // tok is never written again
}

// claimsSize adds up the lengths of the claims' strings, and checks they are UTF-8.
func claimsSize(c *Claims) (int, bool) {
	n, ok := 0, true
	add := func(s string) {
		n += len(s) + 8
		ok = ok && utf8.ValidString(s)
	}
	for _, s := range [...]string{string(c.Kind), c.AccountID, c.PrincipalARN, c.IdentityARN, c.UniqueID,
		c.AccessKeyID, c.SessionPolicy, c.SourceIdentity, c.CallerARN} {
		add(s)
	}
	for _, list := range [...][]string{c.PolicyARNs, c.TransitiveTagKeys} {
		for _, s := range list {
			add(s)
		}
	}
	for _, t := range c.Tags {
		add(t.Key)
		add(t.Value)
	}
	return n, ok
}

// compactJSON removes the white space outside strings, as json.Compact does for valid
// JSON. It does not validate: the policy is carried as a JSON string, so whatever it
// holds cannot change the claims around it, and the core parses it when it uses it.
func compactJSON(dst []byte, src string) []byte {
	for i := 0; i < len(src); {
		switch c := src[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"': // copy the string literal whole, up to its unescaped closing quote
			j := i + 1
			for {
				k := strings.IndexByte(src[j:], '"')
				if k < 0 {
					j = len(src)
					break
				}
				j += k + 1
				backslashes := 0
				for p := j - 2; p > i && src[p] == '\\'; p-- {
					backslashes++
				}
				if backslashes%2 == 0 {
					break
				}
			}
			dst = append(dst, src[i:j]...)
			i = j
		default: // copy up to the next space or string
			j := i + 1
			for j < len(src) && src[j] != ' ' && src[j] != '"' && src[j] != '\n' && src[j] != '\t' && src[j] != '\r' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst
}

// Open verifies a token's signature and kid, then its expiry, and returns its claims. A
// token that is malformed, tampered with or sealed by an unknown key fails with
// signer.InvalidToken (InvalidClientTokenId); a genuine token past its expiry with
// signer.ExpiredToken.
func (s *Sealer) Open(token string) (*Claims, error) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	k := s.byHeader[header]
	if !ok1 || !ok2 || k == nil || len(sig) != 43 {
		return nil, signer.InvalidToken()
	}
	sigBytes, err := s.b64.DecodeString(sig)
	if err != nil {
		return nil, signer.InvalidToken()
	}
	if err := jwt.SigningMethodHS256.Verify(token[:len(header)+1+len(payload)], sigBytes, k.jwt); err != nil {
		return nil, signer.InvalidToken()
	}
	raw, err := s.b64.DecodeString(payload)
	if err != nil {
		return nil, signer.InvalidToken()
	}
	w, err := decodeClaims(unsafe.String(unsafe.SliceData(raw), len(raw))) // raw is never written again
	if err != nil || w.AccessKeyID == "" || w.Expiry == 0 {
		return nil, signer.InvalidToken()
	}
	if !s.now().Before(time.Unix(w.Expiry, 0)) {
		return nil, signer.ExpiredToken()
	}
	kid := k.kid
	c := &Claims{
		Kind:              w.Kind,
		AccountID:         w.Account,
		PrincipalARN:      w.Principal,
		IdentityARN:       w.Identity,
		UniqueID:          w.UniqueID,
		AccessKeyID:       w.AccessKeyID,
		IssuedAt:          time.Unix(w.IssuedAt, 0).UTC(),
		Expiry:            time.Unix(w.Expiry, 0).UTC(),
		SessionPolicy:     w.Policy,
		PolicyARNs:        w.PolicyARNs,
		Tags:              w.Tags,
		TransitiveTagKeys: w.Transitive,
		SourceIdentity:    w.Source,
		RoleChained:       w.RoleChained,
		CallerARN:         w.Caller,
		KeyID:             kid,
	}
	if w.MFAAuthTime != 0 {
		c.MFAAuthTime = time.Unix(w.MFAAuthTime, 0).UTC()
	}
	if len(w.PolicyZ) > 0 {
		p, err := inflate(w.PolicyZ)
		if err != nil { // sealed by us, so corrupt only through a bug
			return nil, fmt.Errorf("session: token from key %q: %w", kid, err)
		}
		c.SessionPolicy = string(p)
	}
	return c, nil
}

// Lookup opens token, checks that it belongs to accessKeyID and returns its claims and
// the session's secret access key: the work of a signer.KeyLookup for temporary keys.
// A session's later requests are answered from a cache by access key id, after a
// constant-time comparison with the token that was opened and a check of its expiry.
// The Claims are shared between callers: read them, do not modify them.
func (s *Sealer) Lookup(accessKeyID, token string) (*Claims, string, error) {
	if e := s.cache.get(accessKeyID); e != nil && subtle.ConstantTimeCompare(bytesOf(e.token), bytesOf(token)) == 1 {
		if !s.now().Before(e.claims.Expiry) {
			return nil, "", signer.ExpiredToken()
		}
		return e.claims, e.secret, nil
	}
	c, err := s.Open(token)
	if err != nil {
		return nil, "", err
	}
	if subtle.ConstantTimeCompare([]byte(c.AccessKeyID), []byte(accessKeyID)) != 1 {
		return nil, "", signer.InvalidToken()
	}
	secret, err := s.Secret(c)
	if err != nil {
		return nil, "", err
	}
	s.cache.put(strings.Clone(accessKeyID), &opened{token: strings.Clone(token), claims: c, secret: secret})
	return c, secret, nil
}

// bytesOf views s as bytes, for read-only use.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// lookupCache keeps opened sessions by access key id (never by token or secret).
type lookupCache struct {
	mu  sync.RWMutex
	m   map[string]*opened
	max int
}

type opened struct {
	token  string
	claims *Claims
	secret string
}

func (c *lookupCache) get(accessKeyID string) *opened {
	if c.max < 0 {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[accessKeyID]
}

func (c *lookupCache) put(accessKeyID string, e *opened) {
	if c.max < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]*opened) // sessions live hours at most: start over
	}
	c.m[accessKeyID] = e
}

// Secret returns the secret access key of the session c describes, derived with the key
// that sealed it (c.KeyID).
func (s *Sealer) Secret(c *Claims) (string, error) {
	k, ok := s.byKID[c.KeyID]
	if !ok {
		return "", signer.InvalidToken()
	}
	return k.secretFor(c.AccessKeyID, c.Expiry.Unix()), nil
}

// secretFor derives a session's 40-character secret access key:
// HMAC-SHA256(server secret key, access key id ‖ 0 ‖ expiry as 8 bytes), base64.
func (k *keyEntry) secretFor(accessKeyID string, expiry int64) string {
	m, _ := k.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, k.derived.secret)
	}
	m.Reset()
	m.Write(bytesOf(accessKeyID))
	var b [9]byte
	binary.BigEndian.PutUint64(b[1:], uint64(expiry))
	m.Write(b[:])
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	k.macs.Put(m)
	var out [40]byte
	base64.StdEncoding.Encode(out[:], sum[:30])
	return string(out[:])
}

func deflate(p []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(z []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	p, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return nil, fmt.Errorf("inflating session policy: %w", err)
	}
	if len(p) > maxPolicy {
		return nil, fmt.Errorf("session policy inflates past %d bytes", maxPolicy)
	}
	return p, nil
}
