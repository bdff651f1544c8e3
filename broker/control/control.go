// Package control is the daemon's control socket: a small HTTP API on a
// Unix socket (mode 0600, under the runtime directory) for the client
// commands, and the client they use. The peer's uid comes from
// SO_PEERCRED, and a caller gets only the roles its client rules allow.
//
//	GET    /v1/health             "ok" (the watchdog's probe)
//	GET    /v1/status             broker.Status as JSON (`credbroker status`)
//	GET    /v1/credentials/ROLE   credential_process JSON (`credbroker credential-process`)
//	POST   /v1/tokens             {"role"} → a container token bound to ROLE (`credbroker exec`)
//	DELETE /v1/tokens             {"token"} → withdraws it when the command ends
//	POST   /v1/user-token         → the caller's own container token, bound to its uid (`credbroker env`)
//	POST   /v1/mfa                {"role","code"} → an MFA session (`credbroker mfa`)
//	POST   /v1/reload             re-reads the config; 204, or 422 ReloadRefused
//	                              with the faults (`credbroker reload`, ExecReload)
//	GET    /v1/saml/SOURCE        broker.SAMLSourceInfo (`credbroker login`; SOURCE "-": the only one)
//	POST   /v1/saml               {"role","response"} → a SAML sign-in (`credbroker login`)
//	GET    /metrics               Prometheus metrics
//
// The socket may be open to every local user (the system service's is):
// other users than the daemon's own and root reach only the routes that
// answer for the caller alone (health, credentials, tokens, user-token,
// mfa); every other route, present or future, is the owner's (a SAML
// sign-in, /v1/saml, serves every caller of the role: the owner's only).
//
// Errors are JSON {"code","message"}: 403 NotAllowed, 404 UnknownRole,
// 400 BadRequest, 503 Unavailable (the upstream failed; the message says
// why and what to do). Only the daemon's own user and root may reload.
//
// The runtime directory also holds endpoints.json (Endpoints), which
// `credbroker env` and `exec` read to find the daemon's listeners.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/broker/session"
)

// Backend is what the control socket serves; *broker.Broker satisfies it.
type Backend interface {
	Status() broker.Status
	CredentialsFor(ctx context.Context, c broker.Caller, role string) (aws.Credentials, error)
	IssueToken(ctx context.Context, c broker.Caller, role string) (string, error)
	RevokeToken(tok string) bool
	UserToken(c broker.Caller) (string, error)
	StartMFA(ctx context.Context, c broker.Caller, role, code string) (time.Time, error)
	SAMLSource(c broker.Caller, name string) (broker.SAMLSourceInfo, error)
	SAMLLogin(ctx context.Context, c broker.Caller, role, response string) (time.Time, error)
}

// Options configure NewHandler.
type Options struct {
	Logger hclog.Logger
	// Metrics, if set, is served at /metrics.
	Metrics http.Handler
	// Endpoints tells exec where the container endpoint is.
	Endpoints func() Endpoints
	// Identify finds the caller (default: peer.FromContext, SO_PEERCRED).
	Identify func(ctx context.Context) (broker.Caller, error)
	// Timeout bounds a request that waits on the upstream. Default 30s.
	Timeout time.Duration
	// Owner reports whether uid may use every route (status, metrics,
	// and any route not made for every user). Default: the daemon's own
	// effective uid and root.
	Owner func(uid uint32) bool
	// Reload re-reads the configuration and returns why it was refused
	// (the old one keeps serving then). Without it POST /v1/reload
	// answers 501.
	Reload func(ctx context.Context) error
}

// ProcessCredentials is the JSON `credential_process` prints (Version 1).
type ProcessCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
}

// TokenGrant is a container token bound to a role, and where to use it.
type TokenGrant struct {
	Token        string `json:"token"`
	Role         string `json:"role"`
	ContainerURL string `json:"container_url"`
	Region       string `json:"region"`
}

type tokenRequest struct {
	Role  string `json:"role,omitempty"`
	Token string `json:"token,omitempty"`
}

type mfaRequest struct {
	Role string `json:"role"`
	Code string `json:"code"`
}

// expiresResponse answers a request that started a session.
type expiresResponse struct {
	Expires time.Time `json:"expires"`
}

// samlRequest carries the IdP's SAML response (base64) from `credbroker
// login` to the daemon, over the socket only; it is never logged.
type samlRequest struct {
	Role     string `json:"role"`
	Response string `json:"response"`
}

// apiError is the error body.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

type handler struct {
	b   Backend
	o   Options
	mux *http.ServeMux
}

// NewHandler returns the control API's handler. Serve it with
// ConnContext set to a peer.Resolver's, on a Unix socket of mode 0600.
func NewHandler(b Backend, optFns ...func(*Options)) http.Handler {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Identify == nil {
		o.Identify = func(ctx context.Context) (broker.Caller, error) { return peer.FromContext(ctx) }
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Endpoints == nil {
		o.Endpoints = func() Endpoints { return Endpoints{} }
	}
	if o.Owner == nil {
		me := uint32(os.Geteuid())
		o.Owner = func(uid uint32) bool { return uid == me || uid == 0 }
	}
	h := &handler{b: b, o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	h.mux.HandleFunc("GET /v1/status", h.status)
	h.mux.HandleFunc("GET /v1/credentials/{role}", h.credentials)
	h.mux.HandleFunc("POST /v1/tokens", h.issueToken)
	h.mux.HandleFunc("DELETE /v1/tokens", h.revokeToken)
	h.mux.HandleFunc("POST /v1/user-token", h.userToken)
	h.mux.HandleFunc("POST /v1/mfa", signIn(h, "MFAFailed", h.mfa))
	h.mux.HandleFunc("POST /v1/reload", h.reload)
	h.mux.HandleFunc("GET /v1/saml/{source}", h.samlSource)
	h.mux.HandleFunc("POST /v1/saml", signIn(h, "SAMLLoginFailed", h.samlLogin))
	if o.Metrics != nil {
		h.mux.Handle("GET /metrics", o.Metrics)
	}
	return h
}

// everyUser are the routes (method and path prefix) that answer for the
// caller alone, open to every local user.
var everyUser = []struct{ method, prefix string }{
	{http.MethodGet, "/v1/health"},
	{http.MethodGet, "/v1/credentials/"},
	{http.MethodPost, "/v1/tokens"},
	{http.MethodDelete, "/v1/tokens"},
	{http.MethodPost, "/v1/user-token"},
	{http.MethodPost, "/v1/mfa"},
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := int64(4 << 10)
	if r.URL.Path == "/v1/saml" {
		limit += broker.MaxSAMLResponse
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if !h.open(r) {
		c, err := h.caller(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !h.o.Owner(c.UID()) {
			h.fail(w, r, &apiError{status: http.StatusForbidden, Code: "NotAllowed",
				Message: fmt.Sprintf("%s %s is for the daemon's own user and root, not uid %d", r.Method, r.URL.Path, c.UID())})
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// open reports whether r is for a route of every user.
func (h *handler) open(r *http.Request) bool {
	for _, e := range everyUser {
		if r.Method == e.method && (r.URL.Path == e.prefix || strings.HasSuffix(e.prefix, "/") && strings.HasPrefix(r.URL.Path, e.prefix)) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"code":"InternalError","message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// fail renders err: the one place broker errors become statuses.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var se *session.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, broker.ErrNotAllowed):
		ae = &apiError{status: http.StatusForbidden, Code: "NotAllowed", Message: err.Error() + ": the client rules of the config do not give it to you"}
	case errors.Is(err, broker.ErrUnknownRole):
		ae = &apiError{status: http.StatusNotFound, Code: "UnknownRole", Message: err.Error() + " (`credbroker status` lists the roles)"}
	case errors.As(err, &se):
		ae = &apiError{status: http.StatusServiceUnavailable, Code: se.Code, Message: se.Message}
	case errors.Is(err, session.ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{status: http.StatusServiceUnavailable, Code: "NotReady", Message: "the role's session is not ready yet: retry in a few seconds (`credbroker status` says why)"}
	default:
		ae = &apiError{status: http.StatusServiceUnavailable, Code: "Unavailable", Message: err.Error()}
	}
	h.o.Logger.Debug("control request refused", "path", r.URL.Path, "code", ae.Code, "error", err)
	writeJSON(w, ae.status, ae)
}

func (h *handler) caller(r *http.Request) (broker.Caller, error) {
	c, err := h.o.Identify(r.Context())
	if err != nil {
		return nil, &apiError{status: http.StatusForbidden, Code: "UnknownCaller", Message: "the caller of this connection cannot be identified: " + err.Error()}
	}
	return c, nil
}

// begin starts every route: it identifies the caller and, when req is not nil, decodes
// the JSON body into it. On failure it has answered, and ok is false.
func (h *handler) begin(w http.ResponseWriter, r *http.Request, req any) (c broker.Caller, ok bool) {
	c, err := h.caller(r)
	if err == nil && req != nil {
		err = decode(r, req)
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return c, true
}

func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return &apiError{status: http.StatusBadRequest, Code: "BadRequest", Message: "the request body is not the JSON expected: " + err.Error()}
	}
	return nil
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.begin(w, r, nil); !ok {
		return
	}
	writeJSON(w, http.StatusOK, h.b.Status())
}

func (h *handler) credentials(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, nil)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	cr, err := h.b.CredentialsFor(ctx, c, r.PathValue("role"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pc := ProcessCredentials{Version: 1, AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken}
	if cr.CanExpire {
		pc.Expiration = cr.Expires.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, pc)
}

func (h *handler) issueToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	c, ok := h.begin(w, r, &req)
	if !ok {
		return
	}
	ep, ok := h.container(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	tok, err := h.b.IssueToken(ctx, c, req.Role)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenGrant{Token: tok, Role: req.Role, ContainerURL: ep.ContainerURL(), Region: ep.Region})
}

// container returns the endpoints when a container endpoint is served;
// else it answers that there is none.
func (h *handler) container(w http.ResponseWriter, r *http.Request) (Endpoints, bool) {
	ep := h.o.Endpoints()
	if ep.Container == "" {
		h.fail(w, r, &apiError{status: http.StatusServiceUnavailable, Code: "NoContainerEndpoint", Message: "the daemon serves no container endpoint (listen { container = ... } is off)"})
		return ep, false
	}
	return ep, true
}

func (h *handler) userToken(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, nil)
	if !ok {
		return
	}
	ep, ok := h.container(w, r)
	if !ok {
		return
	}
	tok, err := h.b.UserToken(c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenGrant{Token: tok, ContainerURL: ep.ContainerURL(), Region: ep.Region})
}

func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if _, ok := h.begin(w, r, &req); !ok {
		return
	}
	if !h.b.RevokeToken(req.Token) {
		h.fail(w, r, &apiError{status: http.StatusNotFound, Code: "UnknownToken", Message: "no such exec token"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) mfa(ctx context.Context, c broker.Caller, req *mfaRequest) (time.Time, error) {
	return h.b.StartMFA(ctx, c, req.Role, strings.TrimSpace(req.Code))
}

func (h *handler) samlSource(w http.ResponseWriter, r *http.Request) {
	c, ok := h.begin(w, r, nil)
	if !ok {
		return
	}
	name := r.PathValue("source")
	if name == "-" {
		name = ""
	}
	info, err := h.b.SAMLSource(c, name)
	h.reply(w, r, info, err)
}

func (h *handler) samlLogin(ctx context.Context, c broker.Caller, req *samlRequest) (time.Time, error) {
	return h.b.SAMLLogin(ctx, c, req.Role, strings.TrimSpace(req.Response))
}

// signIn is the route of a step a person takes to open a role's session (an
// MFA code, a SAML assertion): it begins like every route, runs step and
// answers when the session expires. A refusal that is not the broker's own (the
// role, the client rules, the session's state) is a bad request with code.
func signIn[Req any](h *handler, code string, step func(context.Context, broker.Caller, *Req) (time.Time, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		c, ok := h.begin(w, r, &req)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
		defer cancel()
		exp, err := step(ctx, c, &req)
		var se *session.Error
		if err != nil && !errors.As(err, &se) && !errors.Is(err, broker.ErrNotAllowed) && !errors.Is(err, broker.ErrUnknownRole) {
			err = &apiError{status: http.StatusBadRequest, Code: code, Message: err.Error()}
		}
		h.reply(w, r, expiresResponse{Expires: exp}, err)
	}
}

// reply answers v as JSON, or err when there is one.
func (h *handler) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) reload(w http.ResponseWriter, r *http.Request) {
	// Not a route of every user: ServeHTTP let only Owner through.
	if h.o.Reload == nil {
		h.fail(w, r, &apiError{status: http.StatusNotImplemented, Code: "NotImplemented", Message: "this daemon cannot reload"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	if err := h.o.Reload(ctx); err != nil {
		h.fail(w, r, &apiError{status: http.StatusUnprocessableEntity, Code: "ReloadRefused",
			Message: "the new configuration is refused; the previous one keeps serving:\n" + err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ErrNoDaemon: nothing answers on the control socket.
var ErrNoDaemon = errors.New("no credbroker daemon is running")

// Error is an error answer of the control API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// fmtStatus names an HTTP status for errors without a body.
func fmtStatus(code int) string { return fmt.Sprintf("HTTP %d", code) }
