// Package rolesanywhere serves IAM Roles Anywhere on the core's endpoint: the
// management API (trust anchors, profiles, CRLs; REST-JSON, SigV4-signed for the
// service "rolesanywhere") and CreateSession at POST /sessions, signed with an X.509
// certificate's key (AWS4-X509-RSA-SHA256, AWS4-X509-ECDSA-SHA256). Its entities live
// in the core's store as sealed records, as the core's own secrets do.
package rolesanywhere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/query"
)

// ServiceName is Roles Anywhere's SigV4 signing name; ServicePrincipal the principal
// a role's trust policy names to let it assume the role.
const (
	ServiceName      = "rolesanywhere"
	ServicePrincipal = "rolesanywhere.amazonaws.com"
)

// Options configure the API.
type Options struct {
	// Logger receives one audit line per request (named "audit"). Default: the null
	// logger.
	Logger hclog.Logger
	// MaxBodyBytes bounds a request body (default 1 MiB: a CA bundle or a CRL).
	MaxBodyBytes int64
	// MaxSkew is how far a CreateSession's X-Amz-Date may be from the core's clock
	// (default 5 minutes).
	MaxSkew time.Duration
	// SubjectFlushInterval is how long what CreateSession saw of a subject may wait
	// before it is written to the store (default one minute; GetSubject and
	// ListSubjects write it first).
	SubjectFlushInterval time.Duration
}

// API is Roles Anywhere over the core's account.
type API struct {
	core *sts.Core
	o    Options
	log  hclog.Logger
	ops  []operation

	entities entityCache
	chains   chainCache
	seen     subjectLog
}

// Register serves Roles Anywhere on core's endpoint.
func Register(core *sts.Core, optFns ...func(*Options)) (*API, error) {
	o := Options{MaxBodyBytes: 1 << 20, MaxSkew: 5 * time.Minute}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 5 * time.Minute
	}
	if o.SubjectFlushInterval <= 0 {
		o.SubjectFlushInterval = time.Minute
	}
	a := &API{core: core, o: o, log: o.Logger, chains: chainCache{max: 4096}, seen: subjectLog{interval: o.SubjectFlushInterval}}
	a.ops = a.operations()
	if err := core.AddRoute(sts.Route{Service: ServiceName, Match: Match, Handler: a}); err != nil {
		return nil, fmt.Errorf("roles anywhere: %w", err)
	}
	return a, nil
}

// Match reports whether r is a Roles Anywhere request: signed with an X.509 key, or
// with SigV4 scoped to the service "rolesanywhere".
func Match(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "AWS4-X509-") {
		return true
	}
	if !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		return false
	}
	i := strings.Index(h, "Credential=")
	if i < 0 {
		return false
	}
	cred := h[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	return strings.HasSuffix(cred, "/"+ServiceName+"/aws4_request")
}

// apiError is an error in Roles Anywhere's REST-JSON form.
type apiError struct {
	code    string
	status  int
	message string
	cause   error
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func denied(msg string) *apiError {
	return &apiError{code: "AccessDeniedException", status: http.StatusForbidden, message: msg}
}

func invalid(msg string) *apiError {
	return &apiError{code: "ValidationException", status: http.StatusBadRequest, message: msg}
}

func notFound(msg string) *apiError {
	return &apiError{code: "ResourceNotFoundException", status: http.StatusNotFound, message: msg}
}

// classify turns any error into the error the client sees.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *signer.Error
	if errors.As(err, &se) {
		status := http.StatusForbidden
		if se.Code == signer.CodeMissingAuthenticationToken || se.Code == signer.CodeIncompleteSignature {
			status = http.StatusBadRequest
		}
		return &apiError{code: se.Code + "Exception", status: status, message: se.Message}
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		if qe.Code == query.CodeAccessDenied {
			return &apiError{code: "AccessDeniedException", status: http.StatusForbidden, message: qe.Message, cause: qe.Cause}
		}
		if qe.Status < 500 {
			return &apiError{code: qe.Code + "Exception", status: http.StatusForbidden, message: qe.Message, cause: qe.Cause}
		}
	}
	return &apiError{code: "InternalServerException", status: http.StatusInternalServerError,
		message: "An internal error occurred.", cause: err}
}

// audit is what a request's audit line says besides its outcome: the action, the
// IAM caller of a management call, and for CreateSession the certificate (once its
// signature verified) and the role asked for.
type audit struct {
	action, caller, subject, serial, role string
}

// ServeHTTP serves one Roles Anywhere request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, errCode := http.StatusOK, "-"
	aud := audit{action: "-", caller: "-", subject: "-", serial: "-", role: "-"}
	defer func() {
		a.log.Named("audit").Info("request", "service", ServiceName, "action", aud.action, "caller", aud.caller,
			"x509_subject", aud.subject, "x509_serial", aud.serial, "role", aud.role, "status", status,
			"error", errCode, "source_ip", r.RemoteAddr, "duration", time.Since(start))
	}()
	result, code, err := a.serve(r, &aud)
	if err != nil {
		ae := classify(err)
		if ae.cause != nil || ae.status >= 500 {
			a.log.Warn("request failed", "action", aud.action, "code", ae.code, "error", ae.cause)
		}
		status, errCode = ae.status, ae.code
		writeJSON(w, ae.status, map[string]string{"message": ae.message}, ae.code)
		return
	}
	status = code
	writeJSON(w, code, result, "")
}

func writeJSON(w http.ResponseWriter, status int, v any, errType string) {
	b, err := json.Marshal(v)
	if err != nil {
		status, errType = http.StatusInternalServerError, "InternalServerException"
		b = []byte(`{"message":"An internal error occurred."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	if errType != "" {
		w.Header().Set("X-Amzn-ErrorType", errType)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *API) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > a.o.MaxBodyBytes {
		return nil, invalid(fmt.Sprintf("The request body must be at most %d bytes.", a.o.MaxBodyBytes))
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, a.o.MaxBodyBytes+1))
	if err != nil {
		return nil, invalid("The request body could not be read.")
	}
	if int64(len(b)) > a.o.MaxBodyBytes {
		return nil, invalid(fmt.Sprintf("The request body must be at most %d bytes.", a.o.MaxBodyBytes))
	}
	return b, nil
}

// serve routes r to CreateSession or to a management operation.
func (a *API) serve(r *http.Request, aud *audit) (any, int, error) {
	body, err := a.readBody(r)
	if err != nil {
		return nil, 0, err
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-X509-") {
		aud.action = "CreateSession"
		if r.Method != http.MethodPost || r.URL.Path != "/sessions" {
			return nil, 0, notFound("The X.509 signature is accepted on POST /sessions only.")
		}
		res, err := a.createSession(r.Context(), r, body, aud)
		return res, http.StatusCreated, err
	}
	op, labels := a.route(r.Method, r.URL.Path)
	if op == nil {
		return nil, 0, notFound("No operation serves " + shorten(r.Method+" "+r.URL.Path) + ".")
	}
	aud.action = op.name
	call, err := a.core.Authenticate(r, body, ServiceName, op.name)
	if err != nil {
		return nil, 0, err
	}
	aud.caller = call.Caller.ARN
	in := &input{call: call, labels: labels, query: r.URL.Query(), body: body}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in.json); err != nil {
			return nil, 0, invalid("The request body is not valid JSON.")
		}
	}
	res, err := op.handler(r.Context(), in)
	return res, op.status, err
}

func shorten(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// operation is one management operation: METHOD and a path pattern whose {x}
// segments are labels.
type operation struct {
	name, method, pattern string
	status                int
	handler               func(context.Context, *input) (any, error)
}

// input is a management request, authenticated.
type input struct {
	call   *sts.Call
	labels map[string]string
	query  map[string][]string
	body   []byte
	json   map[string]json.RawMessage
}

func (a *API) route(method, path string) (*operation, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range a.ops {
		op := &a.ops[i]
		if op.method != method {
			continue
		}
		ps := strings.Split(strings.Trim(op.pattern, "/"), "/")
		if len(ps) != len(segs) {
			continue
		}
		labels := map[string]string{}
		ok := true
		for j, p := range ps {
			if strings.HasPrefix(p, "{") {
				labels[strings.Trim(p, "{}")] = segs[j]
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return op, labels
		}
	}
	return nil, nil
}
