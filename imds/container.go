package imds

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DefaultContainerPath is where the container endpoint serves credentials.
const DefaultContainerPath = "/v1/credentials"

// ContainerOptions configures the container credentials handler.
type ContainerOptions struct {
	// Logger receives failures (once per failure streak), refusals (debug)
	// and recovered panics. Default: no logging.
	Logger hclog.Logger
	// Path is the credentials path. Default DefaultContainerPath.
	Path string
	// AllowedHosts are extra Host header values accepted (host names or IP
	// literals, without port), besides the address the connection arrived
	// on, 169.254.170.2, 169.254.170.23, [fd00:ec2::23] and localhost. When
	// serving TLS under a DNS name, add that name here.
	AllowedHosts []string
	// AllowedPeers are non-loopback peer addresses accepted. Default: none,
	// loopback only.
	AllowedPeers []netip.Prefix
	// SourceTimeout bounds each Source call. Default 1s (botocore waits 2s).
	SourceTimeout time.Duration
	// MaxBodyBytes bounds request bodies (the endpoint takes none). Default 1024.
	MaxBodyBytes int64
	// Now is the clock for credential checks. Default time.Now.
	Now func() time.Time
}

// Container is the http.Handler of the container credentials endpoint (the
// ECS / EKS Pod Identity / Lambda style AWS_CONTAINER_CREDENTIALS_FULL_URI
// face). Build it with NewContainer.
type Container struct {
	opts   ContainerOptions
	tokens *TokenSet
	guard  *guard
	prov   *provider
	bodies bodyCache // rendered credentials per role
}

// NewContainer returns the container endpoint handler serving credentials
// from src to callers presenting a token of tokens.
func NewContainer(src Source, tokens *TokenSet, optFns ...func(*ContainerOptions)) (*Container, error) {
	if src == nil || tokens == nil {
		return nil, fmt.Errorf("imds: NewContainer needs a Source and a TokenSet")
	}
	o := ContainerOptions{}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Path == "" {
		o.Path = DefaultContainerPath
	}
	if o.Path[0] != '/' {
		return nil, fmt.Errorf("imds: container path %q must start with /", o.Path)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SourceTimeout <= 0 {
		o.SourceTimeout = time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1024
	}
	h := &Container{opts: o, tokens: tokens}
	h.prov = newProvider(src, o.Now, o.SourceTimeout, o.Logger)
	g, err := newGuard(o.Logger, containerHosts, o.AllowedHosts, o.AllowedPeers, o.MaxBodyBytes, h.render, h.serve)
	if err != nil {
		return nil, fmt.Errorf("imds: %w", err)
	}
	h.guard = g
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Container) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.guard.ServeHTTP(w, r) }

// The container endpoint's refusals. Neither token error says anything
// about the token.
var (
	errContainerNotFound = &apiError{status: http.StatusNotFound, code: "NotFound", msg: "not found"}
	errContainerMethod   = &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		msg: "method not allowed: use GET", allow: "GET, HEAD"}
	errMissingAuth = &apiError{status: http.StatusUnauthorized, code: "MissingAuthorizationToken",
		msg: "the request has no Authorization header: set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE to the broker's token file"}
	errWrongAuth = &apiError{status: http.StatusForbidden, code: "InvalidAuthorizationToken",
		msg: "the Authorization token is not accepted: use the current token file of the running broker (credbroker env)"}
	errNoRoleContainer = &apiError{status: http.StatusForbidden, code: "NoRole",
		msg: "no role is configured for this caller"}
)

// errorBody is the JSON error the SDKs parse ({"code","message"}).
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// render is the one error renderer of the container face.
func (h *Container) render(w http.ResponseWriter, e *apiError) {
	body, err := json.Marshal(errorBody{Code: e.code, Message: e.msg})
	if err != nil { // cannot happen for two strings
		body = []byte(`{"code":"InternalError","message":"internal error"}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json") // exactly: the Go SDK compares it verbatim
	hd.Set("X-Content-Type-Options", "nosniff")
	if e.allow != "" {
		hd.Set("Allow", e.allow)
	}
	w.WriteHeader(e.status)
	w.Write(body)
}

func (h *Container) failure(f failure, role string) *apiError {
	if f == failNoRole {
		return errNoRoleContainer
	}
	return failureAnswers{http.StatusInternalServerError, "CredentialsNotReady", "CredentialsUnavailable"}.answer(f, role)
}

// containerCredentials is the endpoint's JSON, as ECS and EKS Pod Identity
// write it.
type containerCredentials struct {
	credentialsJSON
	RoleArn string `json:"RoleArn,omitempty"`
}

func (h *Container) serve(w http.ResponseWriter, r *http.Request, c connInfo) {
	if r.URL.Path != h.opts.Path {
		h.render(w, errContainerNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.render(w, errContainerMethod)
		return
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 || auth[0] == "" {
		h.render(w, errMissingAuth)
		return
	}
	tb, ok := h.tokens.Binding(auth[0])
	if !ok || len(auth) != 1 {
		h.opts.Logger.Debug("refused a container request with a wrong token", "remote", r.RemoteAddr)
		h.render(w, errWrongAuth)
		return
	}
	bound := tb.Role
	caller := Caller{Remote: c.remote, Local: c.local, Endpoint: EndpointContainer, BoundRole: bound,
		UIDBound: tb.UIDBound, BoundUID: tb.UID}
	ctx, cancel := h.prov.bound(r.Context())
	defer cancel()
	role := bound
	if role == "" {
		ri, f := h.prov.role(ctx, caller)
		if f != failNone {
			h.render(w, h.failure(f, ""))
			return
		}
		role = ri.Name
	}
	cr, f := h.prov.credentials(ctx, caller, role)
	if f != failNone {
		h.bodies.forget(role)
		h.render(w, h.failure(f, role))
		return
	}
	rb, err := h.bodies.get(role, cr, "application/json", func(cr Credentials) ([]byte, error) {
		return json.Marshal(containerCredentials{credentialsJSON: keyJSON(cr, true), RoleArn: cr.RoleARN})
	})
	if err != nil {
		h.opts.Logger.Error("encoding credentials", "role", role, "error", err)
		h.render(w, errInternal)
		return
	}
	rb.write(w)
}
