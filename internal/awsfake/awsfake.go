// Package awsfake is the project's one fake of AWS's STS and IAM endpoints for
// tests: STS's AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken and
// GetCallerIdentity, and the IAM actions key rotation uses (ListAccessKeys,
// CreateAccessKey, DeleteAccessKey), in the Query protocol's XML. Every signed
// request is verified with the project's own SigV4 verifier (package signer)
// against the key's secret: long-term keys it was given or created, session
// keys it issued (with their session token). Real SDK clients, the AWS CLI and
// boto3 talk to it, through httptest or Start. Knobs make it slow, down, or
// refuse; it records what it was asked.
//
// It is test code: it checks signatures, tokens and MFA codes, not policy.
package awsfake

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/credbroker/credbroker/signer"
)

// Account is the account of every principal.
const Account = "123456789012"

// Request is one answered (or refused) request.
type Request struct {
	// Service is "sts" or "iam".
	Service string
	Action  string
	// KeyID signed it ("" for AssumeRoleWithWebIdentity).
	KeyID string
	// Form is the request's parameters, without the web identity token and
	// MFA code.
	Form url.Values
	// Code is the error code answered, "" on success.
	Code string
	// Issued is the access key id of the credentials handed out.
	Issued string
}

// principal is who an access key belongs to.
type principal struct {
	user    string // IAM user name of a long-term key
	arn     string
	secret  string
	token   string // session token of a session key
	expires time.Time
	created time.Time
	mfa     bool
	refuse  int // requests still refused (a new key is not usable at once)
}

// Server is the fake. Use its methods while requests run.
type Server struct {
	mu          sync.Mutex
	keys        map[string]*principal // access key id → who
	webTokens   map[string]string     // OIDC token → subject
	samlIn      map[string]string     // SAML response → session name (spent once used)
	mfaCodes    map[string]string     // serial → the code accepted
	denied      map[string]string     // role ARN → error code
	failed      map[string]string     // action → error code
	newKeyDelay int
	requests    []Request
	delay       time.Duration
	lifetime    time.Duration
	now         func() time.Time
	gate        chan struct{}
	verifier    *signer.Verifier
	ids         signer.KeyGenerator

	srv  *http.Server
	addr string
	ln   net.Listener
}

// New returns a fake that is not listening yet (Start), or is used as an
// http.Handler.
func New() *Server {
	s := &Server{keys: map[string]*principal{}, webTokens: map[string]string{}, samlIn: map[string]string{}, mfaCodes: map[string]string{},
		denied: map[string]string{}, failed: map[string]string{}, now: time.Now}
	s.verifier = signer.New(signer.KeyLookupFunc(s.lookupKey), func(o *signer.Options) {
		o.Services = []string{"sts", "iam"}
	})
	return s
}

// Start listens on 127.0.0.1 (a free port the first time, the same port
// after Stop) and serves.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln, s.addr = ln, ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return nil
}

// Stop closes the listener and every connection: the endpoint is down
// (connection refused) until Start.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// URL is the endpoint's URL (after Start).
func (s *Server) URL() string { return "http://" + s.addr }

// AddUser gives IAM user name a long-term key.
func (s *Server) AddUser(name, keyID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[keyID] = &principal{user: name, arn: userARN(name), secret: secret, created: s.now().UTC()}
}

// RemoveKey deletes an access key (InvalidClientTokenId from then on).
func (s *Server) RemoveKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, keyID)
}

// Keys returns the long-term access key ids of IAM user name, sorted.
func (s *Server) Keys(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userKeysLocked(name)
}

func (s *Server) userKeysLocked(name string) []string {
	var ids []string
	for id, p := range s.keys {
		if p.token == "" && p.user == name {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Secret returns the secret of access key id ("" if there is none).
func (s *Server) Secret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.keys[id]; p != nil {
		return p.secret
	}
	return ""
}

// SetNewKeyDelay makes keys created by CreateAccessKey from now on refused
// (InvalidClientTokenId) n times first, as AWS does for a few seconds.
func (s *Server) SetNewKeyDelay(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newKeyDelay = n
}

// FailAction makes action answer with AWS error code (AccessDenied,
// ServiceUnavailable...) after authentication; "" clears.
func (s *Server) FailAction(action, code string) { s.setEntry(s.failed, action, code, true) }

// AddWebIdentityToken accepts an OIDC token for subject.
func (s *Server) AddWebIdentityToken(token, subject string) {
	s.setEntry(s.webTokens, token, subject, false)
}

// AddSAMLResponse accepts a SAML response (base64, as AssumeRoleWithSAML
// takes it) once, for a session named sessionName; a second use is refused
// as a replay.
func (s *Server) AddSAMLResponse(response, sessionName string) {
	s.setEntry(s.samlIn, response, sessionName, false)
}

// SetMFACode makes GetSessionToken accept code for serial.
func (s *Server) SetMFACode(serial, code string) { s.setEntry(s.mfaCodes, serial, code, false) }

// Deny makes assuming roleARN fail with code (AccessDenied...); "" clears.
func (s *Server) Deny(roleARN, code string) { s.setEntry(s.denied, roleARN, code, true) }

// setEntry sets m[k] = v under the server's lock; with clearEmpty, "" deletes k instead.
func (s *Server) setEntry(m map[string]string, k, v string, clearEmpty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if clearEmpty && v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

// SetDelay makes every answer wait d (a slow upstream).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetLifetime overrides the sessions' lifetime (0: DurationSeconds).
func (s *Server) SetLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetNow sets the clock expirations and key creation dates are computed from.
// Signatures are checked against the wall clock, which clients sign with.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Hold makes every request wait until the returned function is called.
func (s *Server) Hold() (release func()) {
	g := make(chan struct{})
	s.mu.Lock()
	s.gate = g
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == g {
				s.gate = nil
			}
			s.mu.Unlock()
			close(g)
		})
	}
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Calls counts the successful requests of action.
func (s *Server) Calls(action string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Action == action && r.Code == "" {
			n++
		}
	}
	return n
}

// Issued reports whether keyID is a session key this fake handed out, and
// the ARN of its principal.
func (s *Server) Issued(keyID string) (arn string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.keys[keyID]
	if p == nil || p.token == "" {
		return "", false
	}
	return p.arn, true
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	if !s.wait(r.Context()) {
		return
	}
	a := s.handle(r, body)
	s.record(a, body)
	a.render(w)
}

// wait holds a request for the delay and the gate; false if it was abandoned.
func (s *Server) wait(ctx context.Context) bool {
	s.mu.Lock()
	delay, gate := s.delay, s.gate
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return false
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (s *Server) record(a *answer, body []byte) {
	rec := Request{Service: a.service, Action: a.action, KeyID: a.keyID, Issued: a.issued}
	rec.Form, _ = url.ParseQuery(string(body))
	rec.Form.Del("WebIdentityToken")
	rec.Form.Del("TokenCode")
	if a.err != nil {
		rec.Code = a.err.code
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// handle authenticates and answers one request.
func (s *Server) handle(r *http.Request, body []byte) *answer {
	a := &answer{service: "sts"}
	form, err := url.ParseQuery(string(body))
	if r.Method == http.MethodGet && len(body) == 0 {
		form, err = r.URL.Query(), nil
	}
	if err != nil {
		return a.fail("InvalidRequest", "expected a form-encoded POST")
	}
	a.action = form.Get("Action")
	if a.action == "" {
		return a.fail("MissingAction", "Missing Action")
	}
	switch a.action {
	case "AssumeRoleWithWebIdentity":
		s.webIdentity(a, form)
		return a
	case "AssumeRoleWithSAML":
		s.saml(a, form)
		return a
	}
	signedBy := new(string) // the key id the lookup was asked for, recorded when it refuses
	res, err := s.verifier.Verify(context.WithValue(r.Context(), signedByKey{}, signedBy), r, body)
	if err != nil {
		a.keyID = *signedBy
		return a.failWith(err)
	}
	a.keyID, a.service = res.AccessKeyID, res.Scope.Service
	p, ok := s.admit(a)
	if !ok {
		return a
	}
	s.act(a, form, p)
	return a
}

// admit applies the new-key delay and the injected failures to a verified
// request.
func (s *Server) admit(a *answer) (*principal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.keys[a.keyID]
	if p == nil {
		a.failWith(signer.InvalidToken())
		return nil, false
	}
	if p.refuse > 0 {
		p.refuse--
		a.failWith(signer.InvalidToken())
		return nil, false
	}
	if code := s.failed[a.action]; code != "" {
		a.fail(code, "injected failure")
		return nil, false
	}
	return p, true
}

// act answers the action of a verified request.
func (s *Server) act(a *answer, form url.Values, p *principal) {
	switch a.service + ":" + a.action {
	case "sts:GetCallerIdentity":
		a.ok(fmt.Sprintf(`<Arn>%s</Arn><UserId>AIDAFAKE:%s</UserId><Account>%s</Account>`, esc(p.arn), esc(a.keyID), Account))
	case "sts:AssumeRole":
		s.assumeRole(a, form, p)
	case "sts:GetSessionToken":
		s.getSessionToken(a, form, p)
	case "iam:ListAccessKeys":
		s.listAccessKeys(a, form, p)
	case "iam:CreateAccessKey":
		s.createAccessKey(a, form, p)
	case "iam:DeleteAccessKey":
		s.deleteAccessKey(a, form, p)
	default:
		a.fail("InvalidAction", fmt.Sprintf("Could not find operation %s for %s", a.action, a.service))
	}
}

// signedByKey is the context key of the *string lookupKey records the key id in.
type signedByKey struct{}

// lookupKey is the verifier's KeyLookup: the secret of a key this fake knows,
// a session key only with its own token and before it expires.
func (s *Server) lookupKey(ctx context.Context, keyID, token string) (string, error) {
	if signedBy, ok := ctx.Value(signedByKey{}).(*string); ok {
		*signedBy = keyID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.keys[keyID]
	if p == nil || subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) != 1 {
		return "", signer.InvalidToken()
	}
	if p.token != "" && !s.now().Before(p.expires) {
		return "", signer.ExpiredToken()
	}
	return p.secret, nil
}

func userARN(name string) string { return "arn:aws:iam::" + Account + ":user/" + name }

func (s *Server) newID(prefix string) string {
	id, err := s.ids.AccessKeyID(prefix)
	if err != nil {
		panic(fmt.Errorf("awsfake: %w", err))
	}
	return id
}

func (s *Server) newSecret() string {
	secret, err := s.ids.SecretAccessKey()
	if err != nil {
		panic(fmt.Errorf("awsfake: %w", err))
	}
	return secret
}
