package console

import (
	"cmp"
	"context"
	"crypto/rand"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/inprocess"
	"github.com/credbroker/credbroker/sts"
)

// Paths the console serves.
const (
	// Prefix is the console's path on the core's listener.
	Prefix = "/console"
	// FederationPath is the AWS-compatible federation endpoint.
	FederationPath = "/federation"
)

// Core is what the console needs of the embedded core (*sts.Core implements it).
type Core interface {
	Handler() http.Handler
	AccountID() string
	SignIn(ctx context.Context, in sts.SignInInput) (*sts.SignInResult, error)
	AccountAliases(ctx context.Context) ([]string, error)
	EnableRootMFA(ctx context.Context, creds sts.SessionCredentials, serial, code1, code2 string, src netip.Addr) error
}

// Options configure a Console.
type Options struct {
	// Logger receives the console's events (never a secret). Default: null.
	Logger hclog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of session ids, CSRF and sign-in tokens (default crypto/rand).
	Rand io.Reader
	// SessionDuration is how long a password sign-in lasts (default one hour).
	SessionDuration time.Duration
	// SigninTokenTTL is how long a federation SigninToken may be used (default 15
	// minutes, as AWS's).
	SigninTokenTTL time.Duration
	// Limits bounds failed sign-ins (defaults: see Limits).
	Limits Limits
	// Region the console signs its IAM calls for (default us-east-1).
	Region string
	// Hosts are the host names (without port) the console answers to besides IP
	// addresses and localhost: any other Host header is refused, so that a web page
	// cannot reach the console by DNS rebinding.
	Hosts []string
	// Store, when set, keeps the sessions and the cookie key in the core's store
	// (sealed), so that a restart or another replica keeps people signed in;
	// unset, they live in memory.
	Store sts.Store
}

// Console serves the IAM console and the federation endpoint. It is safe for
// concurrent use.
type Console struct {
	core  Core
	o     Options
	log   hclog.Logger
	now   func() time.Time
	rand  io.Reader
	pages map[string]*template.Template

	key       []byte // HMAC key of the session cookies
	mu        sync.Mutex
	sessions  map[string]*session // by sha256 of the session id
	nextSweep time.Time           // of the store's expired sessions
	tokens    map[string]*signinToken
	pending   map[string]*pendingMFA
	limiter   *limiter

	mux *http.ServeMux
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console of core.
func New(core Core, optFns ...func(*Options)) (*Console, error) {
	o := Options{}
	for _, fn := range optFns {
		fn(&o)
	}
	o.Logger = cmp.Or(o.Logger, hclog.NewNullLogger())
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Rand = cmp.Or(o.Rand, rand.Reader)
	o.Region = cmp.Or(o.Region, "us-east-1")
	if o.SessionDuration <= 0 {
		o.SessionDuration = time.Hour
	}
	if o.SigninTokenTTL <= 0 {
		o.SigninTokenTTL = 15 * time.Minute
	}
	c := &Console{core: core, o: o, log: o.Logger, now: o.Now, rand: o.Rand,
		sessions: map[string]*session{}, tokens: map[string]*signinToken{}, pending: map[string]*pendingMFA{}}
	c.limiter = newLimiter(o.Limits, o.Now)
	var err error
	if o.Store != nil {
		if c.key, err = cookieKey(context.Background(), o.Store, c.rand); err != nil {
			return nil, err
		}
	} else {
		c.key = make([]byte, 32)
		if _, err := io.ReadFull(c.rand, c.key); err != nil {
			return nil, fmt.Errorf("console: making the cookie key: %w", err)
		}
	}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Handler returns the handler of /console/… and /federation, with the security
// headers on every answer.
func (c *Console) Handler() http.Handler { return secure(c.hostCheck(c.mux)) }

// hostCheck refuses a request whose Host is a name the console was not told of
// (Options.Hosts): the answer a DNS-rebinding page gets.
func (c *Console) hostCheck(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hp, _, err := net.SplitHostPort(host); err == nil {
			host = hp
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if _, err := netip.ParseAddr(host); err != nil && !strings.EqualFold(host, "localhost") &&
			!slices.ContainsFunc(c.o.Hosts, func(n string) bool { return strings.EqualFold(n, host) }) {
			c.log.Warn("console request refused: unknown Host (DNS rebinding?)", "host", host, "source_ip", clientIP(r))
			http.Error(w, "This host name is not the console's.", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Serves reports whether path is the console's or the federation endpoint's.
func Serves(path string) bool {
	return path == FederationPath || path == Prefix || strings.HasPrefix(path, Prefix+"/")
}

// csp is the Content-Security-Policy of every answer: scripts, styles and forms of
// the console's own origin only, images also as data: URIs (the MFA QR code), no
// framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// secure sets the security headers of every answer.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"join": strings.Join, "date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "never"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "never"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	}, "deref": aws.ToString, "on": aws.ToBool, "deleteForm": newDeleteForm}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: %s: %w", n, err)
		}
		pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return pages, nil
}

// clientIP returns the browser's address.
func clientIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// awsConfig is the configuration of the console's IAM and STS clients: they sign
// with creds and call the core in-process, as if from the browser's address.
func (c *Console) awsConfig(creds aws.Credentials) aws.Config {
	return aws.Config{
		Region:           c.o.Region,
		BaseEndpoint:     aws.String("http://core.console.internal"),
		HTTPClient:       &http.Client{Transport: inprocess.Transport(c.core.Handler())},
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		RetryMaxAttempts: 1,
	}
}

func (c *Console) iamClient(creds aws.Credentials) *iam.Client {
	return iam.NewFromConfig(c.awsConfig(creds))
}

func (c *Console) stsClient(creds aws.Credentials) *awssts.Client {
	return awssts.NewFromConfig(c.awsConfig(creds))
}

// callCtx is the context of the IAM calls made for r: they come from the browser's
// address (aws:SourceIp).
func callCtx(r *http.Request) context.Context {
	return inprocess.WithRemoteAddr(r.Context(), r.RemoteAddr)
}
