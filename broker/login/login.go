// Package login is the loopback end of `credbroker login`: the assertion
// consumer service the IdP's browser POST reaches (POST /saml with
// SAMLResponse, as AWS's https://signin.aws.amazon.com/saml takes it), the
// role chooser when the assertion allows several of the source's roles, and
// the hand-over of the chosen role and the response to the daemon.
//
// The response is held in memory only, until it is redeemed or the page is
// abandoned; it is never logged nor written anywhere. Its signature is not
// checked here: STS (the core or AWS) verifies it when it is redeemed; the
// Role attribute is read only to offer the roles it names.
package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	crewsaml "github.com/crewjam/saml"

	"github.com/credbroker/credbroker/broker"
)

// RoleAttribute is the SAML attribute whose values pair a role ARN with a
// SAML provider ARN ("role,provider", either order).
const RoleAttribute = "https://aws.amazon.com/SAML/Attributes/Role"

// Path is where the IdP posts: the assertion consumer service's path.
const Path = "/saml"

// SPEntityID is the service provider an SP-initiated sign-in speaks for:
// AWS's (the audience STS requires).
const SPEntityID = "urn:amazon:webservices"

// MaxBody bounds the form the IdP posts.
const MaxBody = broker.MaxSAMLResponse + 16<<10

// Redeemer hands a chosen role and the SAML response to the daemon
// (control.Client.SAMLLogin satisfies it through a func).
type Redeemer func(ctx context.Context, role, response string) (time.Time, error)

// Result is how a sign-in ended.
type Result struct {
	Role    string
	Expires time.Time
	Err     error
}

// Options configure New.
type Options struct {
	// Rand makes the chooser's one-time nonces (default crypto/rand).
	Rand io.Reader
}

// Callback is the loopback assertion consumer service of one sign-in.
type Callback struct {
	info   broker.SAMLSourceInfo
	redeem Redeemer
	o      Options
	done   chan Result
	once   sync.Once

	mu      sync.Mutex
	pending map[string]string // chooser nonce → SAML response
	// An SP-initiated sign-in's AuthnRequest ID and RelayState: only the
	// response to it is taken, once.
	requestID, relay string
	answered         bool
}

// New returns the callback of a sign-in to info's source; redeem is called
// once a role is chosen.
func New(info broker.SAMLSourceInfo, redeem Redeemer, optFns ...func(*Options)) *Callback {
	o := Options{Rand: rand.Reader}
	for _, fn := range optFns {
		fn(&o)
	}
	return &Callback{info: info, redeem: redeem, o: o, done: make(chan Result, 1), pending: map[string]string{}}
}

// Start returns the URL that begins the sign-in: the source's IdP URL
// (IdP-initiated), or for an SP-initiated source an AuthnRequest to it
// (HTTP-Redirect binding, made by github.com/crewjam/saml) for AWS's entity
// id, posting back to the callback, with a random RelayState; the callback then
// takes only the response to that request (InResponseTo, RelayState).
func (c *Callback) Start() (string, error) {
	if !c.info.SPInitiated {
		return c.info.IdPURL, nil
	}
	acs, err := url.Parse("http://" + c.info.Callback + Path)
	if err != nil {
		return "", fmt.Errorf("the callback %q is not a HOST:PORT: %w", c.info.Callback, err)
	}
	sp := crewsaml.ServiceProvider{EntityID: SPEntityID, AcsURL: *acs}
	req, err := sp.MakeAuthenticationRequest(c.info.IdPURL, crewsaml.HTTPRedirectBinding, crewsaml.HTTPPostBinding)
	if err != nil {
		return "", fmt.Errorf("making the AuthnRequest: %w", err)
	}
	relay, err := c.random()
	if err != nil {
		return "", fmt.Errorf("making the RelayState: %w", err)
	}
	u, err := req.Redirect(relay, &sp)
	if err != nil {
		return "", fmt.Errorf("encoding the AuthnRequest for %s: %w", c.info.IdPURL, err)
	}
	c.mu.Lock()
	c.requestID, c.relay, c.answered = req.ID, relay, false
	c.mu.Unlock()
	return u.String(), nil
}

// answers checks that resp (with relay) answers this sign-in's AuthnRequest,
// once; any response does for an IdP-initiated sign-in. It reads the response
// without verifying it: STS verifies the signature, which covers InResponseTo.
func (c *Callback) answers(resp, relay string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.requestID == "" {
		return nil
	}
	if c.answered {
		return errors.New("this sign-in's request was answered already: run `credbroker login` again")
	}
	if subtle.ConstantTimeCompare([]byte(relay), []byte(c.relay)) != 1 {
		return errors.New("the response's RelayState is not this sign-in's: start at `credbroker login`, not at the identity provider")
	}
	r, err := read(resp)
	if err != nil {
		return err
	}
	if len(r.inResponseTo) == 0 {
		return errors.New("the response answers no request (no InResponseTo): it was not sent for this sign-in")
	}
	for _, id := range r.inResponseTo {
		if id != c.requestID {
			return errors.New("the response answers another request (InResponseTo): it was not sent for this sign-in")
		}
	}
	c.answered = true
	return nil
}

// Done receives the outcome of the first sign-in that reached STS.
func (c *Callback) Done() <-chan Result { return c.done }

func (c *Callback) finish(r Result) {
	c.once.Do(func() { c.done <- r })
}

// ServeHTTP serves POST /saml (the IdP's response, or the chooser's answer).
func (c *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("X-Frame-Options", "DENY")
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		page(w, http.StatusMethodNotAllowed, "Sign-in", "This is credbroker's SAML callback: your identity provider posts here.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Sign-in failed", "The form posted is not one an identity provider sends.")
		return
	}
	if nonce := r.PostForm.Get("nonce"); nonce != "" {
		c.chosen(w, r, nonce, r.PostForm.Get("role"))
		return
	}
	resp := strings.TrimSpace(r.PostForm.Get("SAMLResponse"))
	if resp == "" || len(resp) > broker.MaxSAMLResponse {
		page(w, http.StatusBadRequest, "Sign-in failed", "No SAMLResponse was posted (or it is over the size limit).")
		return
	}
	if err := c.answers(resp, r.PostForm.Get("RelayState")); err != nil {
		page(w, http.StatusBadRequest, "Sign-in failed", err.Error())
		return
	}
	roles := c.offered(resp)
	switch len(roles) {
	case 0:
		page(w, http.StatusForbidden, "No role", fmt.Sprintf("Your sign-in allows none of the roles of source %s (the assertion's %s attribute names none of them): ask for membership of a group mapped to one.", c.info.Source, RoleAttribute))
		return
	case 1:
		c.signIn(w, r, roles[0].Name, resp)
		return
	}
	nonce, err := c.hold(resp)
	if err != nil {
		page(w, http.StatusInternalServerError, "Sign-in failed", "No randomness for the role chooser.")
		return
	}
	chooser(w, nonce, roles)
}

// offered is the source's roles the response's Role attribute names (all of
// them when it cannot be read, an encrypted assertion: STS decides).
func (c *Callback) offered(resp string) []broker.SAMLRole {
	pairs, err := RolesOf(resp)
	if err != nil {
		return c.info.Roles
	}
	var out []broker.SAMLRole
	for _, r := range c.info.Roles {
		for _, p := range pairs {
			if p.Role == r.ARN && p.Provider == c.info.ProviderARN {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// random returns a one-time value for a nonce or a RelayState.
func (c *Callback) random() (string, error) {
	var b [18]byte
	if _, err := io.ReadFull(c.o.Rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (c *Callback) hold(resp string) (string, error) {
	nonce, err := c.random()
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.pending[nonce] = resp
	c.mu.Unlock()
	return nonce, nil
}

// chosen redeems the response held under nonce for role.
func (c *Callback) chosen(w http.ResponseWriter, r *http.Request, nonce, role string) {
	c.mu.Lock()
	var resp string
	for k, v := range c.pending {
		if subtle.ConstantTimeCompare([]byte(k), []byte(nonce)) == 1 {
			resp = v
			delete(c.pending, k)
			break
		}
	}
	c.mu.Unlock()
	if resp == "" {
		page(w, http.StatusBadRequest, "Sign-in failed", "This choice was made already, or is not from this sign-in: run `credbroker login` again.")
		return
	}
	for _, o := range c.offered(resp) {
		if o.Name == role {
			c.signIn(w, r, role, resp)
			return
		}
	}
	page(w, http.StatusForbidden, "Sign-in failed", fmt.Sprintf("Role %q is not one your sign-in allows.", role))
}

func (c *Callback) signIn(w http.ResponseWriter, r *http.Request, role, resp string) {
	exp, err := c.redeem(r.Context(), role, resp)
	c.finish(Result{Role: role, Expires: exp, Err: err})
	if err != nil {
		page(w, http.StatusForbidden, "Sign-in refused", "Signing in to role "+role+" failed: "+err.Error())
		return
	}
	page(w, http.StatusOK, "Signed in", fmt.Sprintf("credbroker serves role %s until %s. You can close this tab.", role, exp.UTC().Format(time.RFC3339)))
}

// RolePair is one value of the Role attribute.
type RolePair struct {
	Role, Provider string
}

// ErrNoAssertion: the response holds no readable assertion (it is not a
// SAML response, or its assertion is encrypted).
var ErrNoAssertion = errors.New("no readable SAML assertion")

// RolesOf reads the Role attribute's pairs from a base64 SAML response,
// without verifying it.
func RolesOf(resp string) ([]RolePair, error) {
	r, err := read(resp)
	if err != nil {
		return nil, err
	}
	return r.roles, nil
}

// unverified is what the callback reads of a response before STS verifies it.
type unverified struct {
	roles []RolePair
	// inResponseTo are the Response's and the bearer confirmations' InResponseTo.
	inResponseTo []string
}

func read(resp string) (*unverified, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(resp), ""))
	if err != nil {
		return nil, fmt.Errorf("the SAML response is not base64: %w", err)
	}
	var doc struct {
		XMLName      xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol Response"`
		InResponseTo string   `xml:"InResponseTo,attr"`
		Assertion    []struct {
			Confirmations []struct {
				InResponseTo string `xml:"InResponseTo,attr"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject>SubjectConfirmation>SubjectConfirmationData"`
			Attributes []struct {
				Name   string   `xml:"Name,attr"`
				Values []string `xml:"AttributeValue"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:assertion AttributeStatement>Attribute"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("the SAML response is not a samlp:Response: %w", err)
	}
	if len(doc.Assertion) == 0 {
		return nil, ErrNoAssertion
	}
	out := &unverified{}
	if doc.InResponseTo != "" {
		out.inResponseTo = append(out.inResponseTo, doc.InResponseTo)
	}
	for _, a := range doc.Assertion {
		for _, sc := range a.Confirmations {
			if sc.InResponseTo != "" {
				out.inResponseTo = append(out.inResponseTo, sc.InResponseTo)
			}
		}
		for _, at := range a.Attributes {
			if at.Name != RoleAttribute {
				continue
			}
			for _, v := range at.Values {
				x, y, ok := strings.Cut(v, ",")
				x, y = strings.TrimSpace(x), strings.TrimSpace(y)
				if !ok {
					continue
				}
				if strings.Contains(x, ":saml-provider/") {
					x, y = y, x
				}
				out.roles = append(out.roles, RolePair{Role: x, Provider: y})
			}
		}
	}
	return out, nil
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>credbroker: {{.Title}}</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>{{.Title}}</h1><p id="message">{{.Message}}</p>
{{if .Roles}}<form method="post" action="/saml"><input type="hidden" name="nonce" value="{{.Nonce}}">
{{range $i, $r := .Roles}}<p><label><input type="radio" name="role" value="{{$r.Name}}"{{if eq $i 0}} checked{{end}}> {{$r.Name}} <small>({{$r.ARN}})</small></label></p>
{{end}}<p><button id="signin" type="submit">Sign in</button></p></form>{{end}}
</body></html>
`))

type pageData struct {
	Title, Message, Nonce string
	Roles                 []broker.SAMLRole
}

func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, pageData{Title: title, Message: msg})
}

func chooser(w http.ResponseWriter, nonce string, roles []broker.SAMLRole) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	pageTmpl.Execute(w, pageData{Title: "Choose a role", Message: "Your sign-in allows these roles:", Nonce: nonce, Roles: roles})
}
