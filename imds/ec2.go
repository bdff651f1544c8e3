package imds

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Wire names of the EC2 instance metadata service.
const (
	// TokenPath is where IMDSv2 session tokens are obtained with PUT.
	TokenPath = "/latest/api/token"
	// TokenHeader carries the session token on metadata requests.
	TokenHeader = "X-aws-ec2-metadata-token"
	// TokenTTLHeader carries the requested token lifetime (seconds) on the
	// PUT and echoes it on the response.
	TokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	// MaxTokenTTL is the longest token lifetime IMDS grants (6 hours).
	MaxTokenTTL = 21600

	// Canonical forms, for header map lookups without canonicalising.
	tokenHeaderKey    = "X-Aws-Ec2-Metadata-Token"
	tokenTTLHeaderKey = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"

	credsPath    = "/latest/meta-data/iam/security-credentials"
	credsExtPath = "/latest/meta-data/iam/security-credentials-extended"
	iamInfoPath  = "/latest/meta-data/iam/info"

	// timeFormat is how EC2 writes every timestamp; botocore parses exactly
	// this form.
	timeFormat = "2006-01-02T15:04:05Z"
)

// imdsHosts are the addresses SDKs use for IMDS by default (IPv4 and IPv6).
var imdsHosts = []string{"169.254.169.254", "fd00:ec2::254", "localhost"}

// Instance is what the metadata service says about "the instance": the host
// the broker runs on. Zero fields get the defaults documented on each.
type Instance struct {
	// InstanceID defaults to "i-0123456789abcdef0".
	InstanceID string
	// InstanceType defaults to "t3.micro".
	InstanceType string
	// ImageID defaults to "ami-0123456789abcdef0".
	ImageID string
	// Region defaults to "us-east-1".
	Region string
	// AvailabilityZone defaults to Region + "a". SDKs derive the region by
	// dropping its last letter, so it must be Region plus one letter.
	AvailabilityZone string
	// AccountID appears in the instance identity document; empty by default.
	AccountID string
	// PrivateIP defaults to "127.0.0.1".
	PrivateIP string
	// Architecture defaults to the build's ("x86_64", "arm64", ...).
	Architecture string
	// PendingTime is the launch time; it defaults to when the handler was built.
	PendingTime time.Time
}

// EC2Options configures the EC2 instance metadata handler.
type EC2Options struct {
	// Logger receives failures (once per failure streak), refusals (debug)
	// and recovered panics. Default: no logging.
	Logger hclog.Logger
	// AllowIMDSv1 lets requests without a session token through, as an
	// instance with HttpTokens=optional. Default: IMDSv2 only (401).
	AllowIMDSv1 bool
	// Instance is what the instance metadata paths report.
	Instance Instance
	// AllowedHosts are extra Host header values accepted (host names or IP
	// literals, without port), besides the address the connection arrived
	// on, 169.254.169.254, [fd00:ec2::254] and localhost.
	AllowedHosts []string
	// AllowedPeers are non-loopback peer addresses accepted. Default: none,
	// loopback only.
	AllowedPeers []netip.Prefix
	// SourceTimeout bounds each Source call. Default 300ms: the Go SDK gives
	// up after 500ms without response headers.
	SourceTimeout time.Duration
	// MaxBodyBytes bounds request bodies (IMDS requests have none). Default 1024.
	MaxBodyBytes int64
	// Now is the clock for token expiry and credential checks. Default time.Now.
	Now func() time.Time
	// Rand is where the per-process token key comes from. Default crypto/rand.
	Rand io.Reader
}

// EC2 is the http.Handler emulating the EC2 instance metadata service. Build
// it with NewEC2.
type EC2 struct {
	opts    EC2Options
	guard   *guard
	prov    *provider
	tokens  *tokenMinter
	static  map[string][]byte // path without trailing slash → body
	started time.Time
	// bodies and extBodies keep the rendered credentials of each role
	// (security-credentials/ and security-credentials-extended/).
	bodies, extBodies bodyCache
}

// NewEC2 returns the IMDS handler serving credentials from src.
func NewEC2(src Source, optFns ...func(*EC2Options)) (*EC2, error) {
	if src == nil {
		return nil, fmt.Errorf("imds: NewEC2 needs a Source")
	}
	o := EC2Options{}
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
	if o.SourceTimeout <= 0 {
		o.SourceTimeout = 300 * time.Millisecond
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1024
	}
	h := &EC2{opts: o, started: o.Now().UTC().Truncate(time.Second)}
	if err := h.resolveInstance(); err != nil {
		return nil, err
	}
	key := make([]byte, tokenKeyLen)
	if _, err := io.ReadFull(o.Rand, key); err != nil {
		return nil, fmt.Errorf("imds: drawing the IMDSv2 token key: %w", err)
	}
	h.tokens = newTokenMinter(key)
	h.prov = newProvider(src, o.Now, o.SourceTimeout, o.Logger)
	g, err := newGuard(o.Logger, imdsHosts, o.AllowedHosts, o.AllowedPeers, o.MaxBodyBytes, h.render, h.serve)
	if err != nil {
		return nil, fmt.Errorf("imds: %w", err)
	}
	h.guard = g
	h.static, err = h.staticPaths()
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (h *EC2) resolveInstance() error {
	in := &h.opts.Instance
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&in.InstanceID, "i-0123456789abcdef0")
	def(&in.InstanceType, "t3.micro")
	def(&in.ImageID, "ami-0123456789abcdef0")
	def(&in.Region, "us-east-1")
	def(&in.AvailabilityZone, in.Region+"a")
	def(&in.PrivateIP, "127.0.0.1")
	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64", "386": "i386"}[runtime.GOARCH]
	def(&in.Architecture, arch)
	def(&in.Architecture, runtime.GOARCH)
	if in.PendingTime.IsZero() {
		in.PendingTime = h.started
	}
	az := in.AvailabilityZone
	if len(az) != len(in.Region)+1 || !strings.HasPrefix(az, in.Region) || az[len(az)-1] < 'a' || az[len(az)-1] > 'z' {
		return fmt.Errorf("imds: availability zone %q is not region %q plus one letter (SDKs derive the region from it): set both, e.g. %q",
			az, in.Region, in.Region+"a")
	}
	for name, v := range map[string]string{"instance id": in.InstanceID, "instance type": in.InstanceType,
		"image id": in.ImageID, "region": in.Region, "private IP": in.PrivateIP, "account id": in.AccountID} {
		if strings.ContainsAny(v, "\r\n/") {
			return fmt.Errorf("imds: %s %q contains a newline or slash", name, v)
		}
	}
	return nil
}

// identityDocument is the JSON of /latest/dynamic/instance-identity/document,
// fields in EC2's order.
type identityDocument struct {
	AccountID               string   `json:"accountId"`
	Architecture            string   `json:"architecture"`
	AvailabilityZone        string   `json:"availabilityZone"`
	BillingProducts         []string `json:"billingProducts"`
	DevpayProductCodes      []string `json:"devpayProductCodes"`
	MarketplaceProductCodes []string `json:"marketplaceProductCodes"`
	ImageID                 string   `json:"imageId"`
	InstanceID              string   `json:"instanceId"`
	InstanceType            string   `json:"instanceType"`
	KernelID                *string  `json:"kernelId"`
	PendingTime             string   `json:"pendingTime"`
	PrivateIP               string   `json:"privateIp"`
	RamdiskID               *string  `json:"ramdiskId"`
	Region                  string   `json:"region"`
	Version                 string   `json:"version"`
}

func (h *EC2) staticPaths() (map[string][]byte, error) {
	in := h.opts.Instance
	doc, err := json.MarshalIndent(identityDocument{
		AccountID: in.AccountID, Architecture: in.Architecture, AvailabilityZone: in.AvailabilityZone,
		ImageID: in.ImageID, InstanceID: in.InstanceID, InstanceType: in.InstanceType,
		PendingTime: in.PendingTime.UTC().Format(timeFormat), PrivateIP: in.PrivateIP,
		Region: in.Region, Version: "2017-09-30",
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("imds: encoding the instance identity document: %w", err)
	}
	return map[string][]byte{
		"":                                              []byte("latest"),
		"/latest":                                       []byte("dynamic\nmeta-data"),
		"/latest/meta-data":                             []byte("ami-id\niam/\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/"),
		"/latest/meta-data/ami-id":                      []byte(in.ImageID),
		"/latest/meta-data/instance-id":                 []byte(in.InstanceID),
		"/latest/meta-data/instance-type":               []byte(in.InstanceType),
		"/latest/meta-data/local-ipv4":                  []byte(in.PrivateIP),
		"/latest/meta-data/iam":                         []byte("info\nsecurity-credentials/"),
		"/latest/meta-data/placement":                   []byte("availability-zone\nregion"),
		"/latest/meta-data/placement/region":            []byte(in.Region),
		"/latest/meta-data/placement/availability-zone": []byte(in.AvailabilityZone),
		"/latest/dynamic":                               []byte("instance-identity/"),
		"/latest/dynamic/instance-identity":             []byte("document"),
		"/latest/dynamic/instance-identity/document":    doc,
	}, nil
}

// ServeHTTP implements http.Handler.
func (h *EC2) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.guard.ServeHTTP(w, r) }

// The IMDS refusals. Bodies are plain text, as IMDS answers.
var (
	errTTLMissing = &apiError{status: http.StatusBadRequest, code: "BadRequest",
		msg: "the token request needs header " + TokenTTLHeader + " with a whole number of seconds from 1 to 21600"}
	errForwarded = &apiError{status: http.StatusForbidden, code: "Forbidden",
		msg: "a token request that carries X-Forwarded-For is refused: tokens are for local callers only"}
	errNoToken = &apiError{status: http.StatusUnauthorized, code: "Unauthorized",
		msg: "IMDSv2 is required: PUT " + TokenPath + " for a token and send it in " + TokenHeader}
	errBadToken = &apiError{status: http.StatusUnauthorized, code: "Unauthorized",
		msg: "the session token is not valid (it was issued by another process or altered): request a new one"}
	errExpiredToken = &apiError{status: http.StatusUnauthorized, code: "Unauthorized",
		msg: "the session token has expired: request a new one"}
	errNotFound    = &apiError{status: http.StatusNotFound, code: "NotFound", msg: "not found"}
	errTokenMethod = &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		msg: "method not allowed: use PUT", allow: http.MethodPut}
	errGetMethod = &apiError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
		msg: "method not allowed: use GET", allow: "GET, HEAD"}
	errNoRoleIMDS = &apiError{status: http.StatusNotFound, code: "NotFound",
		msg: "no role is configured for this caller"}
)

// render is the one error renderer of the IMDS face.
func (h *EC2) render(w http.ResponseWriter, e *apiError) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	if e.allow != "" {
		hd.Set("Allow", e.allow)
	}
	w.WriteHeader(e.status)
	io.WriteString(w, e.msg+"\n")
}

func (h *EC2) serve(w http.ResponseWriter, r *http.Request, c connInfo) {
	p := r.URL.Path
	if p == TokenPath {
		h.putToken(w, r)
		return
	}
	key := strings.TrimSuffix(p, "/")
	body, isStatic := h.static[key]
	if !isStatic && !isDynamic(key) {
		h.render(w, errNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.render(w, errGetMethod)
		return
	}
	if e := h.authorize(r); e != nil {
		h.render(w, e)
		return
	}
	if isStatic {
		writeText(w, body)
		return
	}
	caller := Caller{Remote: c.remote, Local: c.local, Endpoint: EndpointIMDS}
	ctx, cancel := h.prov.bound(r.Context())
	defer cancel()
	switch key {
	case credsPath, credsExtPath:
		ri, f := h.prov.role(ctx, caller)
		if f != failNone {
			h.render(w, h.failure(f, ""))
			return
		}
		writeText(w, []byte(ri.Name))
	case iamInfoPath:
		h.iamInfo(ctx, w, caller)
	default:
		ext := strings.HasPrefix(key, credsExtPath+"/")
		name := key[len(credsPath)+1:]
		if ext {
			name = key[len(credsExtPath)+1:]
		}
		h.roleCredentials(ctx, w, caller, name, ext)
	}
}

// isDynamic reports whether the path (without trailing slash) is answered
// per caller.
func isDynamic(key string) bool {
	switch key {
	case credsPath, credsExtPath, iamInfoPath:
		return true
	}
	for _, pre := range [...]string{credsPath + "/", credsExtPath + "/"} {
		if name, ok := strings.CutPrefix(key, pre); ok {
			return name != "" && !strings.Contains(name, "/")
		}
	}
	return false
}

func (h *EC2) authorize(r *http.Request) *apiError {
	tok := r.Header[tokenHeaderKey]
	if len(tok) == 0 {
		if h.opts.AllowIMDSv1 {
			return nil
		}
		return errNoToken
	}
	if len(tok) > 1 {
		return errBadToken
	}
	switch h.tokens.verify(tok[0], h.opts.Now()) {
	case nil:
		return nil
	case errTokenExpired:
		return errExpiredToken
	}
	return errBadToken
}

func (h *EC2) putToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		h.render(w, errTokenMethod)
		return
	}
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		h.opts.Logger.Debug("refused token request carrying X-Forwarded-For", "remote", r.RemoteAddr)
		h.render(w, errForwarded)
		return
	}
	ttl, ok := parseTTL(r.Header[tokenTTLHeaderKey])
	if !ok {
		h.render(w, errTTLMissing)
		return
	}
	tok := h.tokens.mint(h.opts.Now().Add(time.Duration(ttl) * time.Second))
	hd := w.Header()
	hd[TokenTTLHeader] = []string{strconv.Itoa(ttl)}
	writeText(w, []byte(tok))
}

// parseTTL accepts exactly one header value of decimal digits (no sign, no
// spaces) whose value is 1..21600.
func parseTTL(v []string) (int, bool) {
	if len(v) != 1 || len(v[0]) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v[0]); i++ {
		d := v[0][i]
		if d < '0' || d > '9' {
			return 0, false
		}
		if n = n*10 + int(d-'0'); n > MaxTokenTTL {
			return 0, false
		}
	}
	return n, n >= 1
}

// failure maps a provider failure to the IMDS answer: IMDS says 404 when an
// instance has no usable role credentials, so every failure is a 404 with a
// body that says why.
func (h *EC2) failure(f failure, role string) *apiError {
	switch {
	case f == failNoRole && role != "":
		return errNotFound // another caller's role: indistinguishable from none
	case f == failNoRole:
		return errNoRoleIMDS
	}
	return failureAnswers{http.StatusNotFound, "NotReady", "Unavailable"}.answer(f, role)
}

// ec2Credentials is the JSON of iam/security-credentials/ROLE, fields in
// EC2's order; AccountId only on the extended path.
type ec2Credentials struct {
	Code        string `json:"Code"`
	LastUpdated string `json:"LastUpdated"`
	Type        string `json:"Type"`
	credentialsJSON
}

func (h *EC2) roleCredentials(ctx context.Context, w http.ResponseWriter, c Caller, name string, ext bool) {
	ri, f := h.prov.role(ctx, c)
	if f != failNone {
		h.render(w, h.failure(f, ""))
		return
	}
	if ri.Name != name {
		h.opts.Logger.Debug("caller asked for a role that is not its own", "remote", c.Remote, "asked", clip(name), "role", ri.Name)
		h.render(w, errNotFound)
		return
	}
	cache := &h.bodies
	if ext {
		cache = &h.extBodies
	}
	cr, f := h.prov.credentials(ctx, c, name)
	if f != failNone {
		cache.forget(name)
		h.render(w, h.failure(f, name))
		return
	}
	rb, err := cache.get(name, cr, "text/plain", func(cr Credentials) ([]byte, error) {
		out := ec2Credentials{Code: "Success", LastUpdated: h.lastUpdated(cr.LastUpdated), Type: "AWS-HMAC",
			credentialsJSON: keyJSON(cr, ext)}
		return json.MarshalIndent(&out, "", "  ")
	})
	if err != nil {
		h.opts.Logger.Error("encoding credentials", "role", name, "error", err)
		h.render(w, errInternal)
		return
	}
	rb.write(w)
}

func (h *EC2) lastUpdated(t time.Time) string {
	if t.IsZero() {
		t = h.opts.Now()
	}
	return t.UTC().Format(timeFormat)
}

type iamInfo struct {
	Code               string `json:"Code"`
	LastUpdated        string `json:"LastUpdated"`
	InstanceProfileArn string `json:"InstanceProfileArn"`
	InstanceProfileID  string `json:"InstanceProfileId"`
}

func (h *EC2) iamInfo(ctx context.Context, w http.ResponseWriter, c Caller) {
	ri, f := h.prov.role(ctx, c)
	if f != failNone {
		h.render(w, h.failure(f, ""))
		return
	}
	body, err := json.MarshalIndent(&iamInfo{Code: "Success", LastUpdated: h.started.Format(timeFormat),
		InstanceProfileArn: ri.InstanceProfileARN, InstanceProfileID: ri.InstanceProfileID}, "", "  ")
	if err != nil {
		h.opts.Logger.Error("encoding iam/info", "error", err)
		h.render(w, errInternal)
		return
	}
	writeText(w, body)
}

func writeText(w http.ResponseWriter, body []byte) {
	hd := w.Header()
	hd["Content-Type"] = []string{"text/plain"}
	hd["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
