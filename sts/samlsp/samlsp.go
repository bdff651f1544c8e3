// Package samlsp is the embedded core's own SAML 2.0 service provider, as AWS's
// sign-in (https://signin.aws.amazon.com/saml) is: identity providers post their
// SAMLResponse (and RelayState) to POST /saml on the core's listener, and it serves
// the service provider's metadata for them to import at
// /static/saml-metadata.xml (AWS's path).
//
// A response posted is verified by the core with the very checks of
// AssumeRoleWithSAML (sts.Core.VerifySAMLSignIn: signature, issuer, audience,
// Recipient, times, not redeemed before) and then handed on, never logged:
//
//   - RelayState naming a registered `credbroker login` callback
//     (http://127.0.0.1:PORT/saml, the saml sources of the config): the browser
//     posts the response on to it, unredeemed; the broker redeems it, once, with
//     AssumeRoleWithSAML (its own role chooser picks among its roles).
//   - Otherwise the console: the person picks a role in AWS's "Select a role"
//     chooser when the assertion allows several (a one-time nonce bound to a
//     cookie), the response is redeemed with AssumeRoleWithSAML through the core,
//     and the browser is signed in to the console through its /federation
//     endpoint, sent to RelayState when that is a console page.
//
// The response is redeemed by exactly one party (the broker or this package),
// so an assertion gives one session, as at AWS.
package samlsp

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/inprocess"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/query"
)

// Paths served on the core's listener.
const (
	// Path is the assertion consumer service (AWS's /saml).
	Path = "/saml"
	// MetadataPath is the service provider's metadata (AWS's
	// /static/saml-metadata.xml).
	MetadataPath = "/static/saml-metadata.xml"
	// scriptPath submits the hand-off form (no inline script: the CSP forbids it).
	scriptPath = "/saml/continue.js"
	// EntityID is the service provider's entity id: AWS's, the audience the core
	// requires.
	EntityID = "urn:amazon:webservices"
)

// Limits.
const (
	// maxBody bounds the form posted (a SAML response is at most 100,000
	// characters of base64).
	maxBody = 128 << 10
	// maxPending bounds the responses waiting at the chooser.
	maxPending = 256
	// choiceCookie binds a chooser's answer to the browser it was shown to.
	choiceCookie = "credbroker-saml-choice"
)

// Core is what the service provider needs of the embedded core (*sts.Core).
type Core interface {
	AddRoute(rt sts.Route) error
	Handler() http.Handler
	VerifySAMLSignIn(ctx context.Context, response string) (*sts.SAMLSignIn, error)
}

// Options configure Register.
type Options struct {
	// Logger receives sign-in events (never a response or credentials). Default: null.
	Logger hclog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand makes the chooser's nonces and cookies (default crypto/rand).
	Rand io.Reader
	// Console serves the console's /federation endpoint (sts/console): signed-in
	// sessions go there. Nil: the person is told no console is served.
	Console http.Handler
	// Region the AssumeRoleWithSAML calls are made for (default us-east-1).
	Region string
}

func (o *Options) defaults() {
	o.Logger = cmp.Or(o.Logger, hclog.NewNullLogger())
	o.Rand = cmp.Or(o.Rand, io.Reader(rand.Reader))
	o.Region = cmp.Or(o.Region, "us-east-1")
	if o.Now == nil {
		o.Now = time.Now
	}
}

// SP is the core's SAML service provider. It is safe for concurrent use.
type SP struct {
	core  Core
	o     Options
	log   hclog.Logger
	sts   *awssts.Client
	sites atomic.Pointer[sites]

	mu      sync.Mutex
	pending map[string]*pending // by sha256 of the nonce
}

// sites is where assertions are consumed: the core's own ACS URL and the broker's
// login callbacks a response may be handed to.
type sites struct {
	acs       string
	callbacks []string
}

// pending is a verified response waiting at the chooser.
type pending struct {
	response, relay string
	signIn          *sts.SAMLSignIn
	cookie          string // sha256 of the choice cookie
}

// Register serves the service provider on core's listener (POST /saml, its
// metadata) and returns it; Configure tells it its URL.
func Register(core Core, optFns ...func(*Options)) (*SP, error) {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	o.defaults()
	s := &SP{core: core, o: o, log: o.Logger, pending: map[string]*pending{}}
	s.sts = awssts.New(awssts.Options{
		Region:           o.Region,
		BaseEndpoint:     aws.String("http://core.samlsp.internal"),
		HTTPClient:       &http.Client{Transport: inprocess.Transport(core.Handler())},
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
	if err := core.AddRoute(sts.Route{Service: "signin", Match: Match, Handler: s}); err != nil {
		return nil, fmt.Errorf("saml service provider: %w", err)
	}
	return s, nil
}

// Configure sets the service provider's assertion consumer service URL (what the
// metadata names, http://CORE/saml) and the `credbroker login` callbacks a
// response may be handed to by RelayState. The core must accept them all as
// Recipient (sts.Core.SetSAMLACS).
func (s *SP) Configure(acs string, callbacks []string) {
	s.sites.Store(&sites{acs: acs, callbacks: slices.Clone(callbacks)})
}

// Match picks the service provider's requests.
func Match(r *http.Request) bool {
	switch r.URL.Path {
	case Path, MetadataPath, scriptPath:
		return true
	}
	return false
}

// ServeHTTP serves POST /saml, the metadata and the hand-off script.
func (s *SP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header(), "")
	switch {
	case r.URL.Path == MetadataPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.metadata(w, r)
	case r.URL.Path == scriptPath && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = io.WriteString(w, "document.getElementById('handoff').submit();\n")
	case r.URL.Path == Path && r.Method == http.MethodPost:
		s.post(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		page(w, http.StatusMethodNotAllowed, pageData{Title: "Sign-in", Message: "Your identity provider posts its SAML response here (POST " + Path + ")."})
	}
}

// secure sets the security headers of every answer; formTo is an origin the page
// may post a form to besides its own.
func secure(h http.Header, formTo string) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'"+formTo+
		"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func (s *SP) post(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, pageData{Title: "Sign-in failed", Message: "The form posted is not one an identity provider sends."})
		return
	}
	if nonce := r.PostForm.Get("nonce"); nonce != "" {
		s.chosen(w, r, nonce, r.PostForm.Get("roleIndex"))
		return
	}
	resp, relay := strings.TrimSpace(r.PostForm.Get("SAMLResponse")), r.PostForm.Get("RelayState")
	if resp == "" {
		page(w, http.StatusBadRequest, pageData{Title: "Sign-in failed", Message: "No SAMLResponse was posted."})
		return
	}
	si, err := s.core.VerifySAMLSignIn(r.Context(), resp)
	if err != nil {
		s.refused(w, r, err)
		return
	}
	if cb, ok := s.callback(relay); ok {
		s.log.Info("SAML sign-in handed to credbroker login", "subject", si.Subject, "provider", si.ProviderARN, "callback", cb, "source_ip", r.RemoteAddr)
		handoff(w, cb, resp)
		return
	}
	switch len(si.RoleARNs) {
	case 0:
		s.log.Info("SAML sign-in with no role", "subject", si.Subject, "provider", si.ProviderARN)
		page(w, http.StatusForbidden, pageData{Title: "No role", Message: "Your sign-in allows no role of this account (the assertion's https://aws.amazon.com/SAML/Attributes/Role attribute names none for provider " + si.ProviderARN + ")."})
	case 1:
		s.signIn(w, r, resp, relay, si, si.RoleARNs[0])
	default:
		s.chooser(w, resp, relay, si)
	}
}

// callback returns relay when it is a registered `credbroker login` callback.
func (s *SP) callback(relay string) (string, bool) {
	st := s.sites.Load()
	if st == nil || relay == "" {
		return "", false
	}
	return relay, slices.Contains(st.callbacks, relay)
}

// refused renders the core's refusal of a response with STS's code and message.
func (s *SP) refused(w http.ResponseWriter, r *http.Request, err error) {
	code, msg, status := "InternalFailure", "The sign-in could not be completed.", http.StatusInternalServerError
	var qe *query.Error
	var api smithy.APIError
	switch {
	case errors.As(err, &qe) && qe.Code != query.CodeInternalFailure:
		code, msg, status = qe.Code, qe.Message, http.StatusBadRequest
	case errors.As(err, &api):
		code, msg, status = api.ErrorCode(), api.ErrorMessage(), http.StatusBadRequest
	default:
		s.log.Error("SAML sign-in failed", "error", err)
	}
	if status != http.StatusInternalServerError {
		s.log.Info("SAML sign-in refused", "code", code, "source_ip", r.RemoteAddr)
	}
	page(w, status, pageData{Title: "Sign-in refused", Code: code, Message: "Your request included an invalid SAML response: " + msg})
}

// chooser holds the response under a one-time nonce, bound to a cookie, and shows
// AWS's "Select a role".
func (s *SP) chooser(w http.ResponseWriter, resp, relay string, si *sts.SAMLSignIn) {
	nonce, err1 := s.random()
	cookie, err2 := s.random()
	if err := errors.Join(err1, err2); err != nil {
		s.log.Error("SAML sign-in: no randomness for the chooser", "error", err)
		page(w, http.StatusInternalServerError, pageData{Title: "Sign-in failed", Message: "The role chooser could not be made."})
		return
	}
	now := s.o.Now()
	s.mu.Lock()
	for k, p := range s.pending {
		if !now.Before(p.signIn.Expires) {
			delete(s.pending, k)
		}
	}
	full := len(s.pending) >= maxPending
	if !full {
		s.pending[hash(nonce)] = &pending{response: resp, relay: relay, signIn: si, cookie: hash(cookie)}
	}
	s.mu.Unlock()
	if full {
		page(w, http.StatusServiceUnavailable, pageData{Title: "Sign-in failed", Message: "Too many sign-ins are waiting for a role choice: try again in a few minutes."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: choiceCookie, Value: cookie, Path: Path, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Expires: si.Expires})
	roles := make([]roleChoice, len(si.RoleARNs))
	for i, arn := range si.RoleARNs {
		roles[i] = roleChoice{Index: i, ARN: arn, Name: arn[strings.LastIndex(arn, "/")+1:]}
	}
	page(w, http.StatusOK, pageData{Title: "Select a role", Message: "Signed in at your identity provider as " + si.Subject + ". Select a role:",
		Nonce: nonce, Roles: roles})
}

// chosen takes the chooser's answer: the nonce once, with its cookie.
func (s *SP) chosen(w http.ResponseWriter, r *http.Request, nonce, index string) {
	s.mu.Lock()
	p := s.pending[hash(nonce)]
	delete(s.pending, hash(nonce))
	s.mu.Unlock()
	c, err := r.Cookie(choiceCookie)
	switch {
	case p == nil || !s.o.Now().Before(p.signIn.Expires):
		page(w, http.StatusBadRequest, pageData{Title: "Sign-in failed", Message: "This choice was made already, or has expired: sign in at your identity provider again."})
		return
	case err != nil || subtle.ConstantTimeCompare([]byte(hash(c.Value)), []byte(p.cookie)) != 1:
		s.log.Warn("SAML role choice refused: not from the browser it was shown to", "source_ip", r.RemoteAddr)
		page(w, http.StatusForbidden, pageData{Title: "Sign-in failed", Message: "This choice is not from the browser the chooser was shown to: sign in at your identity provider again."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: choiceCookie, Path: Path, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	i, err := strconv.Atoi(index)
	if err != nil || i < 0 || i >= len(p.signIn.RoleARNs) {
		page(w, http.StatusBadRequest, pageData{Title: "Sign-in failed", Message: "Select one of the roles offered: sign in at your identity provider again."})
		return
	}
	s.signIn(w, r, p.response, p.relay, p.signIn, p.signIn.RoleARNs[i])
}

// signIn redeems the response for role and signs the browser in to the console.
func (s *SP) signIn(w http.ResponseWriter, r *http.Request, resp, relay string, si *sts.SAMLSignIn, role string) {
	ctx := inprocess.WithRemoteAddr(r.Context(), r.RemoteAddr)
	out, err := s.sts.AssumeRoleWithSAML(ctx, &awssts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(role), PrincipalArn: aws.String(si.ProviderARN), SAMLAssertion: aws.String(resp)})
	if err != nil {
		s.refused(w, r, err)
		return
	}
	arn := aws.ToString(out.AssumedRoleUser.Arn)
	s.log.Info("SAML sign-in", "arn", arn, "subject", si.Subject, "provider", si.ProviderARN, "source_ip", r.RemoteAddr)
	if s.o.Console == nil {
		page(w, http.StatusOK, pageData{Title: "Signed in", Message: "Signed in as " + arn + ", but this core serves no console."})
		return
	}
	if err := s.toConsole(w, r, out.Credentials, relay); err != nil {
		s.log.Error("SAML sign-in: handing the session to the console failed", "arn", arn, "error", err)
		page(w, http.StatusInternalServerError, pageData{Title: "Sign-in failed", Message: "Signed in as " + arn + ", but the console could not start a session."})
	}
}

func (s *SP) random() (string, error) {
	var b [24]byte
	if _, err := io.ReadFull(s.o.Rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}
