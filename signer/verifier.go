package signer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// KeyLookup finds the secret access key of an access key id. sessionToken is the
// request's X-Amz-Security-Token ("" when there is none): a lookup for a temporary key
// opens the token and derives the secret from it, and must check that the token belongs
// to accessKeyID. An *Error (InvalidToken, ExpiredToken, …) is returned to the caller of
// Verify unchanged; any other error is wrapped and means the lookup itself failed.
type KeyLookup interface {
	LookupKey(ctx context.Context, accessKeyID, sessionToken string) (secret string, err error)
}

// KeyLookupFunc adapts a function to KeyLookup.
type KeyLookupFunc func(ctx context.Context, accessKeyID, sessionToken string) (string, error)

// LookupKey calls f.
func (f KeyLookupFunc) LookupKey(ctx context.Context, accessKeyID, sessionToken string) (string, error) {
	return f(ctx, accessKeyID, sessionToken)
}

// Options configure a Verifier.
type Options struct {
	// Now is the clock requests are checked against. Default time.Now.
	Now func() time.Time

	// Regions, if not empty, lists the regions a credential scope may name; another
	// fails with SignatureDoesNotMatch "Credential should be scoped to a valid region."
	Regions []string

	// Services, if not empty, lists the services a credential scope may name (for the
	// core: "sts" and "iam"); another fails with SignatureDoesNotMatch.
	Services []string

	// RequireSignedSessionToken refuses a session token the signature does not cover:
	// an X-Amz-Security-Token header missing from SignedHeaders, or a presigned URL's
	// token appended after signing. AWS accepts both (the signing test suite's
	// omit_session_token cases), and a lookup that binds the token to the access key
	// makes them safe, so the default is false.
	RequireSignedSessionToken bool

	// KeyCacheSize bounds the cache of derived signing keys. Default 4096.
	KeyCacheSize int
}

// Verifier verifies SigV4-signed requests. It is safe for concurrent use.
type Verifier struct {
	lookup KeyLookup
	opts   Options
	now    func() time.Time
	keys   keyCache
	pool   sync.Pool // *scratch
}

// New returns a Verifier that finds secrets through lookup.
func New(lookup KeyLookup, optFns ...func(*Options)) *Verifier {
	opts := Options{}
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.KeyCacheSize <= 0 {
		opts.KeyCacheSize = 4096
	}
	v := &Verifier{lookup: lookup, opts: opts, now: opts.Now}
	v.keys.max = opts.KeyCacheSize
	v.pool.New = func() any { return new(scratch) }
	return v
}

// Result says who signed a verified request and how.
type Result struct {
	AccessKeyID  string
	SessionToken string // "" when the request carries none
	Scope        Scope
	SigningTime  time.Time
	Presigned    bool
}

// scratch holds the buffers of one verification, pooled.
type scratch struct {
	payloadHash [2 * sha256.Size]byte
	canon       []byte
	sts         []byte
	params      []qparam
	arena       []byte
}

// input gathers what the canonical request is built from. AWS normalizes the path and
// encodes it once more for every service but S3.
func (s *scratch) input(r *http.Request, req *request, payloadHash []byte) canonicalInput {
	in := canonicalInput{
		r:             r,
		path:          requestPath(r),
		normalize:     req.scope.Service != "s3",
		escape:        req.scope.Service != "s3",
		signedHeaders: req.signedHeaders,
		payloadHash:   payloadHash,
	}
	if q := r.URL.RawQuery; q != "" {
		if need := 3 * len(q); cap(s.arena) < need {
			s.arena = make([]byte, 0, need)
		}
		in.query, s.arena = canonicalQuery(s.params[:0], s.arena[:0], q, req.presigned)
		s.params = in.query
	}
	return in
}

// request is what both authentication forms reduce to before the signature check.
type request struct {
	presigned     bool
	accessKeyID   string
	scope         Scope
	amzDate       string
	signingTime   time.Time
	signedHeaders string
	signature     string
	token         string
}

// Verify checks the SigV4 signature of r, signed either with an Authorization header or
// as a presigned URL. body is the request body, which the caller has read (with its own
// size limit; r.Body is not touched): its SHA-256 is part of what is signed.
//
// A failed verification returns an *Error with AWS's code and message. A lookup failure
// that is not an *Error is returned wrapped.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	authz := ""
	if h := r.Header["Authorization"]; len(h) > 0 {
		authz = strings.TrimSpace(h[0])
	}
	presignAlg := hasQueryKey(r.URL.RawQuery, "X-Amz-Algorithm")
	var (
		req request
		err *Error
	)
	switch {
	case authz != "" && presignAlg:
		return Result{}, incomplete(msgTwoMechanisms)
	case authz != "":
		req, err = v.parseHeaderAuth(r, authz)
	case presignAlg || hasQueryKey(r.URL.RawQuery, "X-Amz-Signature") || hasQueryKey(r.URL.RawQuery, "X-Amz-Credential"):
		req, err = v.parsePresigned(r)
	default:
		return Result{}, NewError(CodeMissingAuthenticationToken, msgMissingAuth)
	}
	if err != nil {
		return Result{}, err
	}
	return v.check(ctx, r, body, &req)
}

func hasQueryKey(rawQuery, key string) bool {
	for rawQuery != "" {
		i := strings.Index(rawQuery, key)
		if i < 0 {
			return false
		}
		end := i + len(key)
		if (i == 0 || rawQuery[i-1] == '&') && (end == len(rawQuery) || rawQuery[end] == '=' || rawQuery[end] == '&') {
			return true
		}
		rawQuery = rawQuery[end:]
	}
	return false
}

func (v *Verifier) parseHeaderAuth(r *http.Request, authz string) (request, *Error) {
	t, amzDate, hasDate, dateErr := requestTime(r.Header)
	a, err := parseAuthorization(authz, hasDate)
	if err != nil {
		return request{}, err
	}
	if dateErr != nil {
		return request{}, dateErr
	}
	req := request{
		signingTime:   t,
		amzDate:       amzDate,
		signedHeaders: a.SignedHeaders,
		signature:     a.Signature,
	}
	if err := v.readCredential(&req, a.Credential); err != nil {
		return request{}, err
	}
	if now := v.now(); t.Before(now.Add(-maxSkew)) || t.After(now.Add(maxSkew)) {
		return request{}, skewError(t, now)
	}
	if tok := r.Header["X-Amz-Security-Token"]; len(tok) > 0 {
		req.token = tok[0]
		if v.opts.RequireSignedSessionToken && !signsHeader(a.SignedHeaders, "x-amz-security-token") {
			return request{}, incomplete("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
		}
	}
	return req, nil
}

// readCredential reads the credential (access key id and scope) of req, from its
// Authorization header or query, and checks the scope and req's signed headers.
func (v *Verifier) readCredential(req *request, credential string) *Error {
	var term string
	var err *Error
	if req.accessKeyID, req.scope, term, err = parseCredential(credential); err != nil {
		return err
	}
	if err := v.checkScope(req.scope, term, req.amzDate); err != nil {
		return err
	}
	return checkSignedHeaders(req.signedHeaders)
}

func (v *Verifier) parsePresigned(r *http.Request) (request, *Error) {
	p, err := parsePresign(r.URL.RawQuery)
	if err != nil {
		return request{}, err
	}
	t, ok := parseAmzDate(p.date)
	if !ok {
		return request{}, badDate(p.date)
	}
	req := request{
		presigned:     true,
		signingTime:   t,
		amzDate:       p.date,
		signedHeaders: p.signedHeaders,
		signature:     p.signature,
		token:         p.token,
	}
	if err := v.readCredential(&req, p.credential); err != nil {
		return request{}, err
	}
	now := v.now()
	if t.After(now.Add(maxSkew)) {
		return request{}, skewError(t, now)
	}
	if p.seen&(1<<3) == 0 { // no X-Amz-Expires: the header rule
		if t.Before(now.Add(-maxSkew)) {
			return request{}, skewError(t, now)
		}
		return req, nil
	}
	secs, err := parseExpires(p.expires)
	if err != nil {
		return request{}, err
	}
	if now.After(t.Add(time.Duration(secs) * time.Second)) {
		return request{}, NewError(CodeRequestExpired, msgPresignExpired)
	}
	return req, nil
}

// check looks up the key and compares the signature.
func (v *Verifier) check(ctx context.Context, r *http.Request, body []byte, req *request) (Result, error) {
	if req.accessKeyID == "" {
		return Result{}, InvalidToken()
	}
	secret, lerr := v.lookup.LookupKey(ctx, req.accessKeyID, req.token)
	if lerr != nil {
		var e *Error
		if errors.As(lerr, &e) {
			return Result{}, lerr
		}
		return Result{}, fmt.Errorf("signer: looking up access key %q: %w", echo(req.accessKeyID), lerr)
	}
	if secret == "" {
		return Result{}, fmt.Errorf("signer: looking up access key %q: lookup returned no secret and no error", echo(req.accessKeyID))
	}
	key := v.keys.get(req.accessKeyID, req.scope, secret)

	s := v.pool.Get().(*scratch)
	defer v.release(s)
	sum := sha256.Sum256(body)
	hex.Encode(s.payloadHash[:], sum[:])
	if h := r.Header["X-Amz-Content-Sha256"]; len(h) > 0 && h[0] != string(s.payloadHash[:]) {
		return Result{}, mismatch(msgBodyHashInvalid)
	}
	in := s.input(r, req, s.payloadHash[:])

	var alts variant
	if in.normalize && needsNormalizing(in.path) {
		alts |= rawPath
	}
	if req.presigned && req.token != "" && !v.opts.RequireSignedSessionToken {
		alts |= tokenUnsigned
	}
	for vr, checkedSpace := variant(0), false; ; {
		if v.signatureMatches(s, &in, req, key[:], vr) {
			return Result{
				AccessKeyID:  req.accessKeyID,
				SessionToken: req.token,
				Scope:        req.scope,
				SigningTime:  req.signingTime,
				Presigned:    req.presigned,
			}, nil
		}
		if !checkedSpace { // only now: a request that verifies never pays for this scan
			checkedSpace = true
			if signedValuesHaveOtherSpace(r, req.signedHeaders) {
				alts |= foldAllSpace
			}
		}
		if vr = (vr - alts) & alts; vr == 0 { // next subset of alts
			break
		}
	}

	e := mismatch(msgSignatureMismatch)
	sign(s, &in, req, key[:], 0)
	e.StringToSign = string(s.sts[blockSize:])
	e.CanonicalRequest = string(appendCanonicalRequest(s.canon[:0], &in, redactToken))
	return Result{}, e
}

// release returns s to the pool, unless one huge request has grown it.
func (v *Verifier) release(s *scratch) {
	if cap(s.canon)+cap(s.arena) > 64<<10 {
		return
	}
	v.pool.Put(s)
}

// signatureMatches compares, in constant time, the request's signature with the one
// computed for variant vr.
func (v *Verifier) signatureMatches(s *scratch, in *canonicalInput, req *request, key []byte, vr variant) bool {
	sig := sign(s, in, req, key, vr)
	return subtle.ConstantTimeCompare(sig[:], unsafeBytes(req.signature)) == 1
}

// sign builds the canonical request (s.canon) and the string to sign (s.sts after
// blockSize bytes of room for HMAC's inner pad) for variant vr, and returns the hex
// signature.
func sign(s *scratch, in *canonicalInput, req *request, key []byte, vr variant) [2 * sha256.Size]byte {
	s.canon = appendCanonicalRequest(s.canon[:0], in, vr)
	crHash := sha256.Sum256(s.canon)

	b := append(s.sts[:0], make([]byte, blockSize)...)
	b = append(b, algorithm+"\n"...)
	b = append(b, req.amzDate...)
	b = append(b, '\n')
	b = append(b, req.scope.Date...)
	b = append(b, '/')
	b = append(b, req.scope.Region...)
	b = append(b, '/')
	b = append(b, req.scope.Service...)
	b = append(b, "/"+terminator+"\n"...)
	b = hex.AppendEncode(b, crHash[:])
	s.sts = b

	mac := hmacPrefixed(key, b)
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], mac[:])
	return sig
}

func signedValuesHaveOtherSpace(r *http.Request, signed string) bool {
	found := false
	forEachName(signed, func(name string) {
		if found || name == "host" {
			return
		}
		for _, v := range headerValues(r.Header, name) {
			if hasOtherSpace(v) {
				found = true
			}
		}
	})
	return found
}

// keyCache holds derived signing keys by (access key id, scope). The secret is kept in
// the entry, never in the key, and compared in constant time on every hit, so a
// lookup that returns a different secret for the same id never gets a stale key.
type keyCache struct {
	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry
	max     int
}

type cacheKey struct {
	accessKeyID string
	scope       Scope
}

type cacheEntry struct {
	secret string
	key    [sha256.Size]byte
}

func (c *keyCache) get(accessKeyID string, s Scope, secret string) [sha256.Size]byte {
	k := cacheKey{accessKeyID, s}
	c.mu.RLock()
	e := c.entries[k]
	c.mu.RUnlock()
	if e != nil && subtle.ConstantTimeCompare(unsafeBytes(e.secret), unsafeBytes(secret)) == 1 {
		return e.key
	}
	key := deriveSigningKey(secret, s)
	k = cacheKey{strings.Clone(accessKeyID), Scope{strings.Clone(s.Date), strings.Clone(s.Region), strings.Clone(s.Service)}}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= c.max {
		c.entries = make(map[cacheKey]*cacheEntry) // keys live a day at most: start over
	}
	c.entries[k] = &cacheEntry{secret: strings.Clone(secret), key: key}
	c.mu.Unlock()
	return key
}
