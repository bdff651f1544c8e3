package sts

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Store is what the core needs of the account's store (*store.Store implements it).
type Store interface {
	AccountID() string
	Generation() uint64
	// Changed returns a channel closed at the next change that moves Generation.
	Changed() <-chan struct{}
	View(ctx context.Context, fn func(*store.Tx) error) error
	Update(ctx context.Context, fn func(*store.Tx) error) error
	LookupAccessKey(ctx context.Context, id string) (account.AccessKey, error)
	RecordAccessKeyUse(id, service, region string, at time.Time)
	RecordRoleUse(roleID, region string, at time.Time)
}

// Options configure a Core.
type Options struct {
	// Logger receives the audit lines (one per request, at info, named "audit"; the
	// refusals of unknown callers are summed up, see RefusalSummaryEvery) and the
	// core's own events. Default: a null logger.
	Logger hclog.Logger
	// RefusalSummaryEvery is the interval in which a source's refusals with one
	// error code that named no known caller (bad or missing signatures, unknown
	// keys, malformed requests) are one full audit line and then a count, written
	// when the interval ends: a local flood cannot drown the journal. Default
	// DefaultRefusalSummaryEvery.
	RefusalSummaryEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of access key ids, request ids and signing keys (default
	// crypto/rand).
	Rand io.Reader
	// MaxBodyBytes bounds a request body (default 1 MiB: IAM's largest parameter, a
	// 128 KiB policy document, URL-encoded, fits three times over).
	MaxBodyBytes int64
	// Regions, if set, are the regions a signature's scope may name.
	Regions []string
	// Catalog holds the AWS managed policies (default policy.BuiltinCatalog()).
	Catalog *policy.Catalog
	// OIDC configures the verification of web identity tokens: the HTTP client for
	// discovery and key set fetches, keys pinned for offline use, refetch limits.
	OIDC []func(*oidc.Options)
	// WebIdentityIssuer is the iss of GetWebIdentityToken's tokens, the URL under which
	// the core's listener publishes /.well-known/openid-configuration and
	// /.well-known/jwks.json (default: the scheme and Host a request reached the core
	// with).
	WebIdentityIssuer string
	// SAMLACS are assertion consumer service URLs of the core's own service
	// provider, accepted as a SAML response's Destination and Recipient beside
	// AWS's sign-in URLs: the broker's `credbroker login` callbacks
	// (http://127.0.0.1:PORT/saml) and the core's own sign-in endpoint
	// (sts/samlsp). The audience is AWS's all the same. SetSAMLACS replaces them.
	SAMLACS []string
	// SessionCacheSize bounds how many opened session tokens are kept by access key id
	// (default 4096), and the other per-session caches.
	SessionCacheSize int
	// Throttle limits the rate of the STS calls that issue credentials (default: no
	// limit; the daemon sets DefaultThrottleRate).
	Throttle Throttle
}

// Core is the embedded IAM/STS core: one http.Handler for the STS and IAM Query APIs,
// SigV4-authenticated, every decision made by the policy engine. It is safe for
// concurrent use.
type Core struct {
	st    Store
	o     Options
	log   hclog.Logger
	audit hclog.Logger
	// refusals sums up the audit lines of refused unknown callers.
	refusals *refusalAudit
	now      func() time.Time
	rand     io.Reader
	catalog  *policy.Catalog

	verifier *signer.Verifier
	sealer   atomic.Pointer[session.Sealer] // swapped when the signing keys change (rotation)
	sealKIDs atomic.Pointer[string]         // the key ids sealer holds, joined
	stopKeys context.CancelFunc
	oidc     *oidc.Verifier
	stsModel *query.Model

	regMu    sync.Mutex
	services atomic.Pointer[map[string]*Service]
	routes   atomic.Pointer[[]*route]
	samlACS  atomic.Pointer[[]string] // Options.SAMLACS, then SetSAMLACS's

	cache    atomic.Pointer[genCache]
	nothing  *policy.Policy // allows nothing: see allowNothingDoc
	sessPols boundedCache[string, *policy.Policy]

	throttle *throttle

	webKeys webTokenKeys
	authz   authzSealer

	handler http.Handler
}

//go:embed model_sts.json.gz
var stsModelData []byte

// New returns a core serving the account in st, with STS registered. The session
// signing key is read from st's secrets, or made and stored there on first use, so
// that sessions outlive a restart.
func New(ctx context.Context, st Store, optFns ...func(*Options)) (*Core, error) {
	o := Options{MaxBodyBytes: 1 << 20, SessionCacheSize: 4096}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.SessionCacheSize == 0 {
		o.SessionCacheSize = 4096
	}
	if o.Catalog == nil {
		cat, err := policy.BuiltinCatalog()
		if err != nil {
			return nil, fmt.Errorf("core: managed policies: %w", err)
		}
		o.Catalog = cat
	}
	if o.RefusalSummaryEvery <= 0 {
		o.RefusalSummaryEvery = DefaultRefusalSummaryEvery
	}
	c := &Core{st: st, o: o, log: o.Logger, audit: o.Logger.Named("audit"), now: o.Now, rand: o.Rand, catalog: o.Catalog}
	c.refusals = &refusalAudit{log: c.audit, every: o.RefusalSummaryEvery}
	c.sessPols.max = o.SessionCacheSize
	c.throttle = newThrottle(o.Throttle)
	c.SetSAMLACS(o.SAMLACS)
	var err error
	if c.nothing, err = policy.Parse([]byte(allowNothingDoc), policy.KindSession, func(po *policy.ParseOptions) { po.Name = "unavailable" }); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if c.stsModel, err = query.LoadModel(stsModelData); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	if err := c.loadSealer(ctx); err != nil {
		return nil, err
	}
	kctx, stop := context.WithCancel(context.Background())
	c.stopKeys = stop
	go c.followSessionKeys(kctx)
	c.verifier = signer.New(signer.KeyLookupFunc(c.lookupKey), func(so *signer.Options) {
		so.Now = o.Now
		so.Services = []string{"sts", "iam"}
		so.Regions = o.Regions
		if o.SessionCacheSize > 0 {
			so.KeyCacheSize = o.SessionCacheSize
		}
	})
	c.oidc = oidc.New(append([]func(*oidc.Options){func(oo *oidc.Options) {
		oo.Now = o.Now
		oo.Logger = o.Logger.Named("oidc")
	}}, o.OIDC...)...)
	if err := c.Register(c.stsService()); err != nil {
		return nil, err
	}
	c.handler = http.HandlerFunc(c.serve)
	return c, nil
}

// Handler returns the core's http.Handler: STS and IAM on "/", told apart by the
// SigV4 credential scope, and the APIs added with AddRoute (Roles Anywhere) in front. Mount it as it is: http.ServeMux patterns would clean paths
// that clients may have signed.
func (c *Core) Handler() http.Handler { return c.handler }

// Close releases the core's resources. It does not close the store.
func (c *Core) Close() error {
	c.refusals.flush()
	c.stopKeys()
	c.oidc.Close()
	return nil
}

// AccountID returns the account the core serves.
func (c *Core) AccountID() string { return c.st.AccountID() }

// Catalog returns the AWS managed policies the core knows.
func (c *Core) Catalog() *policy.Catalog { return c.catalog }

// STSModel returns the model of the STS API (for tools and tests).
func (c *Core) STSModel() *query.Model { return c.stsModel }

// exchange is one request on its way through serve.
type exchange struct {
	requestID string
	service   *Service
	action    string
	caller    *Caller
	decision  string
	sourceIP  netip.Addr
	status    int
	errCode   string
}

func (c *Core) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/.well-known/") && c.serveWellKnown(w, r) {
		return
	}
	if rt := c.routeFor(r); rt != nil {
		rt.Handler.ServeHTTP(w, r)
		return
	}
	start := c.now()
	x := exchange{requestID: c.requestID()}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		x.sourceIP = ap.Addr().Unmap()
	}
	result, err := c.dispatch(w, r, &x, start)
	if err != nil {
		c.writeError(w, &x, err)
	} else if err := query.WriteResult(w, c.namespace(&x), x.action, x.requestID, result); err != nil {
		c.writeError(w, &x, query.Internal(fmt.Errorf("rendering %s result: %w", x.action, err)))
	} else {
		x.status = http.StatusOK
	}
	c.auditLine(&x, c.now().Sub(start))
}

func (c *Core) namespace(x *exchange) string {
	if x.service != nil {
		return x.service.Model.Namespace
	}
	return c.stsModel.Namespace
}

func (c *Core) writeError(w http.ResponseWriter, x *exchange, err error) {
	qe := query.Classify(err)
	var model *query.Model
	if x.service != nil {
		model = x.service.Model
	} else {
		model = c.stsModel
	}
	x.status = query.WriteError(w, model, c.namespace(x), x.requestID, qe)
	x.errCode = qe.Code
	if qe.Cause != nil || x.status >= 500 {
		c.logCause(x, qe)
	}
}

func (c *Core) logCause(x *exchange, qe *query.Error) {
	var se *signer.Error
	switch {
	case x.status >= 500:
		c.log.Error("request failed", "request_id", x.requestID, "action", x.action, "error", qe.Cause)
	case errors.As(qe.Cause, &se) && se.CanonicalRequest != "":
		c.log.Debug("signature does not match", "request_id", x.requestID,
			"canonical_request", se.CanonicalRequest, "string_to_sign", se.StringToSign)
	}
}

// dispatch authenticates r, finds its action and runs it.
func (c *Core) dispatch(w http.ResponseWriter, r *http.Request, x *exchange, now time.Time) (any, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		return nil, &query.Error{Code: query.CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Message: "The " + methodName(r.Method) + " method is not supported; use POST or GET."}
	}
	body, err := c.readBody(w, r)
	if err != nil {
		return nil, err
	}
	form, err := query.ParseForm(r.URL.RawQuery, formBody(r, body))
	if err != nil {
		return nil, err
	}
	x.action, _ = form.Get("Action")
	version, _ := form.Get("Version")

	// Until the signature names the service, errors are rendered in the namespace of
	// the API whose version the request names.
	x.service = c.serviceByVersion(version)
	svcName := "sts"
	var stash authStash
	if signed(r) {
		ctx := context.WithValue(r.Context(), stashKey{}, &stash)
		res, err := c.verifier.Verify(ctx, r, body)
		if err != nil {
			return nil, err
		}
		svcName = res.Scope.Service
		caller, err := c.authenticate(r.Context(), &stash, res, now)
		x.caller = caller
		if err != nil {
			return nil, err
		}
		x.service = c.service(svcName)
	} else {
		x.service = c.service(svcName)
	}
	if x.service == nil {
		return nil, query.NewError(query.CodeInvalidAction, fmt.Sprintf("Could not find operation %s for version %s", x.action, versionOrNone(version)))
	}
	act, ok := x.service.Actions[x.action]
	if x.caller != nil && x.caller.revoked {
		return nil, query.NewError(query.CodeAccessDenied, fmt.Sprintf(
			"User: %s is not authorized to perform: %s:%s with an explicit deny in an identity-based policy",
			x.caller.ARN, x.service.Model.Service, auditAction(x.action)))
	}
	if x.caller == nil && (!ok || !act.Anonymous) {
		return nil, query.NewError(query.CodeMissingAuthenticationToken, "Request is missing Authentication Token")
	}
	if x.action == "" {
		return nil, query.NewError(query.CodeMissingAction, "Missing Action")
	}
	if !ok || version != x.service.Model.Version {
		return nil, query.NewError(query.CodeInvalidAction, fmt.Sprintf("Could not find operation %s for version %s", x.action, versionOrNone(version)))
	}
	if act.Throttled {
		if err := c.throttle.admit(now); err != nil {
			return nil, err
		}
	}
	op, _ := x.service.Model.Operation(x.action)
	params := query.NewParams(form)
	if err := query.Validate(op.Input, params); err != nil {
		return nil, err
	}
	call := &Call{
		Action: x.action, Service: x.service.Model.Service, Params: params, Caller: x.caller,
		RequestID: x.requestID, SourceIP: x.sourceIP, SecureTransport: r.TLS != nil, Now: now, Host: r.Host,
		core: c, svc: x.service,
	}
	if x.caller != nil {
		call.Region = x.caller.Region
	}
	defer func() { x.decision = call.decision }()
	return act.Handler(r.Context(), call)
}

func methodName(m string) string {
	if len(m) > 16 {
		return m[:16]
	}
	return m
}

func versionOrNone(v string) string {
	if v == "" {
		return "NO_VERSION_SPECIFIED"
	}
	if len(v) > 64 {
		return v[:64]
	}
	return v
}

// readBody reads a POST body within MaxBodyBytes.
func (c *Core) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Method != http.MethodPost {
		return nil, nil
	}
	if r.ContentLength > c.o.MaxBodyBytes {
		return nil, tooLarge(c.o.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(c.o.MaxBodyBytes)
		}
		return nil, &query.Error{Code: "RequestTimeout", Message: "The request body could not be read.", Cause: err}
	}
	return body, nil
}

func tooLarge(limit int64) error {
	return &query.Error{Code: query.CodeRequestEntityTooLarge, Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("Request body must be at most %d bytes.", limit)}
}

// formBody returns body when it is form-encoded (or of no declared type).
func formBody(r *http.Request, body []byte) []byte {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return body
	}
	return nil
}

// signed reports whether r carries a SigV4 signature, in a header or presigned.
func signed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.RawQuery
	return strings.Contains(q, "X-Amz-Signature=") || strings.Contains(q, "X-Amz-Credential=") || strings.Contains(q, "X-Amz-Algorithm=")
}

// requestID returns a new request id in AWS's form (a random UUID).
func (c *Core) requestID() string {
	var b [16]byte
	if _, err := io.ReadFull(c.rand, b[:]); err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// auditLine logs one request: who, what, the decision, from where; never a secret.
func (c *Core) auditLine(x *exchange, took time.Duration) {
	if !c.audit.IsInfo() {
		return
	}
	caller, akid := "-", "-"
	if x.caller != nil {
		caller, akid = x.caller.ARN, x.caller.AccessKeyID
	}
	svc := "sts"
	if x.service != nil {
		svc = x.service.Model.Service
	}
	decision := x.decision
	if decision == "" {
		decision = "-"
	}
	src := "-"
	if x.sourceIP.IsValid() {
		src = x.sourceIP.String()
	}
	errCode := x.errCode
	if errCode == "" {
		errCode = "-"
	}
	if x.caller == nil && x.status >= 400 && !c.refusals.note(src, errCode) {
		return
	}
	c.audit.Info("request", "request_id", x.requestID, "service", svc, "action", auditAction(x.action),
		"caller", caller, "access_key_id", akid, "decision", decision, "status", x.status,
		"error", errCode, "source_ip", src, "duration", took)
}

// auditAction keeps an unknown action name short and printable in the log.
func auditAction(a string) string {
	if a == "" {
		return "-"
	}
	if len(a) > 64 {
		a = a[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, a)
}
