// Package ststest is an STS endpoint for tests: AssumeRole,
// AssumeRoleWithWebIdentity, GetSessionToken and GetCallerIdentity in the
// Query protocol's XML, every signed request's SigV4 signature checked
// against the key's secret (long-term keys it was given, session keys it
// issued, with their session token). Real SDK clients, the AWS CLI and
// boto3 talk to it. Knobs make it slow, down, or refuse; it records what it
// was asked.
//
// It is test code: it checks signatures, tokens and MFA codes, not policy.
package ststest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Account is the account of every principal.
const Account = "123456789012"

// Request is one answered (or refused) request.
type Request struct {
	Action string
	// KeyID signed it ("" for AssumeRoleWithWebIdentity).
	KeyID string
	Form  url.Values
	// Code is the error code answered, "" on success.
	Code string
	// Issued is the access key id of the credentials handed out.
	Issued string
}

type principal struct {
	arn     string
	secret  string
	token   string // session token of a session key
	expires time.Time
	mfa     bool
}

// Server is the fake. Use its methods while requests run.
type Server struct {
	mu        sync.Mutex
	keys      map[string]*principal // access key id → who
	webTokens map[string]string     // OIDC token → subject
	mfaCodes  map[string]string     // serial → the code accepted
	denied    map[string]string     // role ARN → error code
	requests  []Request
	delay     time.Duration
	lifetime  time.Duration
	now       func() time.Time
	gate      chan struct{}

	srv  *http.Server
	addr string
	ln   net.Listener
}

// New returns a fake that is not listening yet (Start), or is used as an
// http.Handler.
func New() *Server {
	return &Server{keys: map[string]*principal{}, webTokens: map[string]string{}, mfaCodes: map[string]string{},
		denied: map[string]string{}, now: time.Now}
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
	s.keys[keyID] = &principal{arn: "arn:aws:iam::" + Account + ":user/" + name, secret: secret}
}

// RemoveKey deletes an access key (InvalidClientTokenId from then on).
func (s *Server) RemoveKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, keyID)
}

// AddWebIdentityToken accepts an OIDC token for subject.
func (s *Server) AddWebIdentityToken(token, subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webTokens[token] = subject
}

// SetMFACode makes GetSessionToken accept code for serial.
func (s *Server) SetMFACode(serial, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaCodes[serial] = code
}

// Deny makes assuming roleARN fail with code (AccessDenied...); "" clears.
func (s *Server) Deny(roleARN, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.denied, roleARN)
		return
	}
	s.denied[roleARN] = code
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

// SetNow sets the clock expirations are computed from.
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

type apiError struct {
	status        int
	code, message string
}

var statusOf = map[string]int{
	"AccessDenied": 403, "InvalidClientTokenId": 403, "SignatureDoesNotMatch": 403, "ExpiredToken": 400,
	"MissingAuthenticationToken": 403, "InvalidIdentityToken": 400, "ServiceUnavailable": 503, "Throttling": 400,
}

func fail(code, msg string) *apiError {
	st := statusOf[code]
	if st == 0 {
		st = 400
	}
	return &apiError{st, code, msg}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	delay, gate := s.delay, s.gate
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	action, keyID, issued, resp, aerr := s.handle(r, body)
	s.mu.Lock()
	rec := Request{Action: action, KeyID: keyID, Issued: issued}
	rec.Form, _ = url.ParseQuery(string(body))
	rec.Form.Del("WebIdentityToken")
	rec.Form.Del("TokenCode")
	if aerr != nil {
		rec.Code = aerr.code
	}
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	const ns = "https://sts.amazonaws.com/doc/2011-06-15/"
	w.Header().Set("Content-Type", "text/xml")
	if aerr != nil {
		w.WriteHeader(aerr.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>ststest</RequestId></ErrorResponse>`,
			ns, aerr.code, esc(aerr.message))
		return
	}
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>ststest</RequestId></ResponseMetadata></%sResponse>`,
		action, ns, action, resp, action, action)
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) handle(r *http.Request, body []byte) (action, keyID, issued, resp string, aerr *apiError) {
	form, err := url.ParseQuery(string(body))
	if r.Method == http.MethodGet && len(body) == 0 {
		form, err = r.URL.Query(), nil
	}
	if err != nil {
		return "", "", "", "", fail("InvalidRequest", "expected a form-encoded POST")
	}
	action = form.Get("Action")
	if action == "" {
		return "", "", "", "", fail("MissingAction", "Missing Action")
	}
	if action == "AssumeRoleWithWebIdentity" {
		issued, resp, aerr = s.webIdentity(form)
		return action, "", issued, resp, aerr
	}
	keyID, p, aerr := s.verify(r, body)
	if aerr != nil {
		return action, keyID, "", "", aerr
	}
	switch action {
	case "GetCallerIdentity":
		return action, keyID, "", fmt.Sprintf(`<Arn>%s</Arn><UserId>AIDAFAKE:%s</UserId><Account>%s</Account>`, esc(p.arn), esc(keyID), Account), nil
	case "AssumeRole":
		issued, resp, aerr = s.assumeRole(form, p)
		return action, keyID, issued, resp, aerr
	case "GetSessionToken":
		issued, resp, aerr = s.getSessionToken(form, p)
		return action, keyID, issued, resp, aerr
	}
	return action, keyID, "", "", fail("InvalidAction", "Could not find operation "+action)
}

func (s *Server) duration(form url.Values, def int) (time.Duration, *apiError) {
	d := def
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 129600 {
			return 0, fail("ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint")
		}
		d = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lifetime > 0 {
		return s.lifetime, nil
	}
	return time.Duration(d) * time.Second, nil
}

// mint stores and renders new session credentials for arn.
func (s *Server) mint(arn string, life time.Duration, mfa bool) (id string, xmlCreds string) {
	id = "ASIA" + random(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	secret := random(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	token := "FwoGZXIvYXdzE" + random(300, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
	s.mu.Lock()
	exp := s.now().Add(life).UTC().Truncate(time.Second)
	s.keys[id] = &principal{arn: arn, secret: secret, token: token, expires: exp, mfa: mfa}
	s.mu.Unlock()
	return id, fmt.Sprintf(`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`,
		id, secret, token, exp.Format(time.RFC3339))
}

func roleParts(roleARN string) (name string, ok bool) {
	const prefix = "arn:aws:iam::"
	rest, found := strings.CutPrefix(roleARN, prefix)
	if !found {
		return "", false
	}
	_, res, found := strings.Cut(rest, ":")
	if !found {
		return "", false
	}
	path, found := strings.CutPrefix(res, "role/")
	if !found || path == "" {
		return "", false
	}
	return path[strings.LastIndex(path, "/")+1:], true
}

func (s *Server) assumeRole(form url.Values, p *principal) (string, string, *apiError) {
	roleARN, name := form.Get("RoleArn"), form.Get("RoleSessionName")
	role, ok := roleParts(roleARN)
	if !ok || name == "" {
		return "", "", fail("ValidationError", "RoleArn and RoleSessionName are required")
	}
	s.mu.Lock()
	code := s.denied[roleARN]
	s.mu.Unlock()
	if code != "" {
		return "", "", fail(code, fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", p.arn, roleARN))
	}
	life, aerr := s.duration(form, 3600)
	if aerr != nil {
		return "", "", aerr
	}
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, role, name)
	id, creds := s.mint(arn, life, p.mfa)
	return id, creds + fmt.Sprintf(`<AssumedRoleUser><AssumedRoleId>AROAFAKE%s:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser>`,
		strings.ToUpper(role), esc(name), esc(arn)), nil
}

func (s *Server) webIdentity(form url.Values) (string, string, *apiError) {
	roleARN, name, tok := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("WebIdentityToken")
	role, ok := roleParts(roleARN)
	if !ok || name == "" || tok == "" {
		return "", "", fail("ValidationError", "RoleArn, RoleSessionName and WebIdentityToken are required")
	}
	s.mu.Lock()
	subject, known := s.webTokens[tok]
	code := s.denied[roleARN]
	s.mu.Unlock()
	if !known {
		return "", "", fail("InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
	}
	if code != "" {
		return "", "", fail(code, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	life, aerr := s.duration(form, 3600)
	if aerr != nil {
		return "", "", aerr
	}
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, role, name)
	id, creds := s.mint(arn, life, false)
	return id, creds + fmt.Sprintf(`<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken><AssumedRoleUser><AssumedRoleId>AROAFAKE%s:%s</AssumedRoleId><Arn>%s</Arn></AssumedRoleUser><Audience>sts.amazonaws.com</Audience><Provider>ststest</Provider>`,
		esc(subject), strings.ToUpper(role), esc(name), esc(arn)), nil
}

func (s *Server) getSessionToken(form url.Values, p *principal) (string, string, *apiError) {
	if p.token != "" {
		return "", "", fail("AccessDenied", "Cannot call GetSessionToken with session credentials")
	}
	serial, code := form.Get("SerialNumber"), form.Get("TokenCode")
	mfa := false
	if serial != "" || code != "" {
		s.mu.Lock()
		want, ok := s.mfaCodes[serial]
		s.mu.Unlock()
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			return "", "", fail("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
		}
		mfa = true
	}
	life, aerr := s.duration(form, 43200)
	if aerr != nil {
		return "", "", aerr
	}
	id, creds := s.mint(p.arn, life, mfa)
	return id, creds, nil
}

// verify checks the request's SigV4 signature by signing the same request
// again with the SDK's signer and the key's secret.
func (s *Server) verify(r *http.Request, body []byte) (string, *principal, *apiError) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "", nil, fail("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(auth[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[3] != "sts" {
		return "", nil, fail("IncompleteSignature", "bad Credential scope")
	}
	keyID, region := scope[0], scope[2]
	s.mu.Lock()
	p := s.keys[keyID]
	now := s.now()
	s.mu.Unlock()
	if p == nil {
		return keyID, nil, fail("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if p.token != "" {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(p.token)) != 1 {
			return keyID, nil, fail("InvalidClientTokenId", "The security token included in the request is invalid.")
		}
		if !now.Before(p.expires) {
			return keyID, nil, fail("ExpiredToken", "The security token included in the request is expired")
		}
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return keyID, nil, fail("IncompleteSignature", "bad X-Amz-Date")
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	again.Host = r.Host
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: p.secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "sts", region, when); err != nil {
		return keyID, nil, fail("InternalFailure", err.Error())
	}
	want := again.Header.Get("Authorization")
	wantSig := want[strings.LastIndex(want, "Signature=")+len("Signature="):]
	if subtle.ConstantTimeCompare([]byte(wantSig), []byte(parts["Signature"])) != 1 {
		return keyID, nil, fail("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	return keyID, p, nil
}

func random(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("ststest: no randomness"))
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
