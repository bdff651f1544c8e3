// Package daemon runs the broker as a service: `credbroker serve`.
//
// Run opens the listeners (handed over by systemd socket activation by
// FileDescriptorName imds, container and core, else from the config or
// flags; port 0 picks a free port), the control socket (0600) and the
// container token file (0600) in the runtime directory, writes the bound
// addresses to endpoints.json for `credbroker env`, warms the sessions of
// the configured roles (a role that needs a person is reported, not
// waited for), checks that every listener answers and the upstream is
// reachable, and only then tells systemd READY=1.
//
// The systemd protocol (Type=notify): STATUS= lines say what it is doing;
// a reload (Options.Reload, SIGHUP in the command) is framed by RELOADING=1
// with MONOTONIC_USEC and READY=1, and a bad new configuration keeps the
// old one serving and says what is wrong and where; STOPPING=1 starts a
// graceful stop (requests under way finish, bounded by ShutdownTimeout).
// With WATCHDOG_USEC set, WATCHDOG=1 is sent at half that interval, each
// time after a health check that sends a request through every listener
// and reads the session cache's state: a stuck daemon stops pinging and
// systemd restarts it.
//
// Under socket activation the listening sockets belong to systemd: a
// restart closes only this process's copies, so connections queued
// meanwhile are served by the next process.
package daemon

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/imds"
)

// Options configure Run.
type Options struct {
	// LoadConfig reads the configuration, at start and at every reload.
	// Required.
	LoadConfig func() (*config.Config, error)
	// RuntimeDir holds the control socket, the token file and
	// endpoints.json. Required.
	RuntimeDir string
	// UserKeyFile keeps the key of the per-user container tokens (`credbroker
	// env`) across restarts, so users' shells keep working: made 0600 when
	// missing. "" derives them from the container token, which a stop
	// removes (then they change at every start).
	UserKeyFile string
	// IMDSAddr, ContainerAddr and CoreAddr override the config's listen
	// addresses (flags); the zero value keeps the config's.
	IMDSAddr, ContainerAddr, CoreAddr netip.AddrPort
	// OpenKeys opens the keyring, once per start (and again on a reload
	// only when the keyring block changed or opening failed). Default
	// keystore.Open with the config's settings and no prompt.
	OpenKeys func(config.Keyring) (*keystore.Store, error)
	// OpenCore opens the embedded IAM/STS core for upstream "core". keys
	// is the open keyring (nil when the config needs none). Without it an
	// upstream "core" fails with broker.ErrNoCore.
	OpenCore OpenCoreFunc
	// Reload asks for a reload (the command sends on SIGHUP).
	Reload <-chan struct{}
	// Ready is called once, when the daemon is ready, with its endpoints.
	Ready func(control.Endpoints)
	// Notify sends an sd_notify message. Default: go-systemd's SdNotify
	// ($NOTIFY_SOCKET; nothing without it).
	Notify func(state string) error
	// Watchdog is the systemd watchdog interval. Default: from
	// $WATCHDOG_USEC (0: no watchdog).
	Watchdog time.Duration
	// ShutdownTimeout bounds the graceful stop. Default 10s.
	ShutdownTimeout time.Duration
	// ProbeInterval is the wait between upstream reachability probes
	// before READY. Default 2s.
	ProbeInterval time.Duration
	Logger        hclog.Logger
	// ConnLimits bound the connections per uid and in total (the
	// zero value: imds's defaults, the total kept under the file
	// descriptor limit).
	ConnLimits imds.ConnLimits
	// Broker options (tests).
	Broker []func(*broker.Options)
}

// daemon is one run.
type daemon struct {
	o      Options
	log    hclog.Logger
	cfg    *config.Config
	keys   *keystore.Store
	keyErr error

	// stopWatch ends watchKeys's goroutine.
	stopWatch context.CancelFunc

	core   broker.Core
	up     *broker.Upstream
	b      *broker.Broker
	tokens *imds.TokenSet
	res    *peer.Resolver
	lim    *imds.ConnLimiter // the TCP listeners'
	ctlLim *imds.ConnLimiter // the control socket's
	ls     *listeners
	epsMu  sync.Mutex // guards eps once the servers run (reload changes Region)
	eps    control.Endpoints
	srvs   []*server
	// idle: the config has no roles and its upstream could not be opened
	// (a fresh host's core): a reload that adds roles takes a restart.
	idle bool
	// reloads carries reloads asked for on the control socket (credbroker
	// reload, systemd's ExecReload); each gets the reload's result.
	reloads chan chan error
	// probeSecret marks the daemon's own health probes of the core
	// listener, answered before the core (no audit line per probe).
	probeSecret string
}

// server is one listener and the http.Server on it.
type server struct {
	name string
	ln   net.Listener
	srv  *http.Server
	// probe checks that it answers (health).
	probe func(ctx context.Context) error

	served   chan struct{} // closed when Serve has returned
	stopping atomic.Bool
	mu       sync.Mutex
	open     int           // accepted connections not yet closed
	drained  chan struct{} // closed when open falls to 0 while draining
}

// connState counts the server's connections.
func (s *server) connState(_ net.Conn, st http.ConnState) {
	if st == http.StateActive || st == http.StateIdle {
		return // every request: no lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.open++
	case http.StateClosed, http.StateHijacked:
		s.open--
		if s.open == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
	}
}

// serve runs the server until drain.
func (s *server) serve(log hclog.Logger) {
	defer close(s.served)
	serve := s.srv.Serve
	if s.srv.TLSConfig != nil { // its GetCertificate serves the certificate
		serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
	}
	if err := serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !s.stopping.Load() {
		log.Error("listener failed", "listener", s.name, "error", err)
	}
}

// drain stops accepting and waits (up to ctx) until every connection
// accepted so far has had its request answered and is closed. It does not
// use http.Server.Shutdown, which drops a connection accepted just before
// it whose request it has not read yet: under socket activation that
// connection was queued for this process, and the next one cannot have it.
func (s *server) drain(ctx context.Context) error {
	s.stopping.Store(true)
	s.ln.Close()
	select {
	case <-s.served: // every accepted connection is counted now
	case <-ctx.Done():
		return ctx.Err()
	}
	s.srv.SetKeepAlivesEnabled(false) // closes idle ones; the others after their answer
	s.mu.Lock()
	if s.open == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.drained = ch
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run serves until ctx is done, then stops gracefully and returns nil. It
// returns an error when it cannot start (bad config, a listener that
// cannot be opened, no core).
func Run(ctx context.Context, o Options) error {
	if o.LoadConfig == nil || o.RuntimeDir == "" {
		return errors.New("daemon: LoadConfig and RuntimeDir are required")
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Notify == nil {
		o.Notify = func(s string) error { _, err := sddaemon.SdNotify(false, s); return err }
	}
	if o.Watchdog == 0 {
		o.Watchdog, _ = sddaemon.SdWatchdogEnabled(false)
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 2 * time.Second
	}
	d := &daemon{o: o, log: o.Logger, tokens: imds.NewTokenSet(), reloads: make(chan chan error), probeSecret: rand.Text()}
	defer d.close()
	if err := d.start(ctx); err != nil {
		d.status("cannot start: %s", oneLine(err.Error()))
		return err
	}
	return d.serve(ctx)
}

// ConfigError is a configuration the daemon refuses at start: restarting
// with the same file cannot help (`credbroker serve` exits 78, EX_CONFIG,
// which the units do not restart on).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the fault.
func (e *ConfigError) Unwrap() error { return e.Err }

func (d *daemon) notify(states ...string) {
	if err := d.o.Notify(strings.Join(states, "\n")); err != nil {
		d.log.Debug("sd_notify failed", "error", err)
	}
}

func (d *daemon) status(format string, args ...any) {
	d.notify("STATUS=" + fmt.Sprintf(format, args...))
}

// setup is the daemon's SetupOptions.
func (d *daemon) setup() SetupOptions {
	o := SetupOptions{OpenKeys: d.o.OpenKeys, OpenCore: d.o.OpenCore, Logger: d.log}
	o.defaults()
	return o
}

// openKeys (re)opens the keyring when cfg needs one.
func (d *daemon) openKeys(cfg *config.Config) { d.keys, d.keyErr = openKeys(cfg, d.setup()) }

// watchKeys follows the open keyring's changes (a Secret Service
// collection unlocked) for the life of ctx or until the keyring is opened
// again, and has the broker fetch at once the sessions that wait for it:
// an unlock is picked up without a restart and without a prompt.
func (d *daemon) watchKeys(ctx context.Context) {
	if d.stopWatch != nil {
		d.stopWatch()
		d.stopWatch = nil
	}
	keys, b := d.keys, d.b
	if keys == nil || b == nil {
		return
	}
	ctx, d.stopWatch = context.WithCancel(ctx)
	go func() {
		for {
			err := keys.Watch(ctx, b.KeyringChanged)
			if err == nil || ctx.Err() != nil {
				return
			}
			d.log.Debug("cannot watch the keyring for an unlock; sessions waiting for it retry on their own", "keyring", keys.String(), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(30 * time.Second):
			}
		}
	}()
}

func (d *daemon) brokerKeys() broker.KeyStore {
	return Backends{Keys: d.keys, KeyErr: d.keyErr}.BrokerKeys()
}

func (d *daemon) start(ctx context.Context) error {
	d.status("loading the configuration")
	cfg, err := d.o.LoadConfig()
	if err != nil {
		return &ConfigError{err}
	}
	d.cfg = cfg
	for _, w := range cfg.Warnings {
		d.log.Warn("config: " + config.FormatDiagnostic(w))
	}
	bk, err := Setup(ctx, cfg, d.setup())
	d.keys, d.keyErr, d.up, d.core = bk.Keys, bk.KeyErr, bk.Upstream, bk.Core
	if err != nil {
		if len(cfg.Roles) > 0 {
			return err
		}
		// Nothing needs it yet (a fresh host: no roles, no core yet).
		d.idle, d.up = true, idleUpstream()
		d.log.Warn("no roles, and the upstream cannot be opened: serving no role until both are there (then restart)", "error", err)
	} else if len(cfg.Roles) == 0 {
		d.log.Warn("the configuration has no roles: every caller gets none until you add one")
	}
	if err := os.MkdirAll(d.o.RuntimeDir, 0o755); err != nil {
		return fmt.Errorf("creating the runtime directory: %w", err)
	}
	d.b, err = broker.New(cfg, append([]func(*broker.Options){func(bo *broker.Options) {
		bo.Upstream = d.up
		bo.Keys = d.brokerKeys()
		bo.Tokens = d.tokens
		bo.Logger = d.log.Named("broker")
		bo.AuditLogger = d.log.Named("audit")
	}}, d.o.Broker...)...)
	if err != nil {
		return &ConfigError{err}
	}
	d.watchKeys(ctx)
	tokenFile := filepath.Join(d.o.RuntimeDir, control.TokenFile)
	tok, err := containerToken(tokenFile)
	if err != nil {
		return err
	}
	if err := d.tokens.Add(tok, ""); err != nil {
		return err
	}
	// Per-user tokens (`credbroker env`) derive from the user key file's
	// key, else from this token (and change with it).
	userKey := tok
	if d.o.UserKeyFile != "" {
		if userKey, err = containerToken(d.o.UserKeyFile); err != nil {
			return fmt.Errorf("the user token key: %w", err)
		}
	}
	if err := d.tokens.SetUserKey([]byte(userKey)); err != nil {
		return err
	}
	d.res = peer.New()
	d.lim, d.ctlLim = newLimiters(d.res, d.o.ConnLimits, d.log.Named("limits"))
	if err := registerLimitMetrics(d.b.Registry(), d.lim); err != nil {
		return err
	}
	if d.ls, err = openListeners(cfg, d.o, d.log); err != nil {
		return err
	}
	if err := d.buildServers(tokenFile); err != nil {
		return err
	}
	for _, s := range d.srvs {
		go s.serve(d.log)
	}
	if err := control.WriteEndpoints(d.o.RuntimeDir, d.eps); err != nil {
		return err
	}
	d.log.Info("listening", "imds", d.eps.IMDS, "container", d.eps.Container, "core", d.eps.Core, "metrics", d.eps.Metrics,
		"control", d.eps.ControlSocket, "upstream", d.up.Name)
	return nil
}

// buildServers puts a handler on every listener.
func (d *daemon) buildServers(tokenFile string) error {
	cfg, b, log := d.cfg, d.b, d.log
	d.eps = control.Endpoints{ControlSocket: d.ls.controlPath, TokenFile: tokenFile, Region: cfg.Region, PID: os.Getpid()}
	metrics := promhttp.HandlerFor(b.Registry(), promhttp.HandlerOpts{})
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if ln := d.ls.imds; ln != nil {
		h, err := imds.NewEC2(b, func(o *imds.EC2Options) {
			o.Logger = log.Named("imds")
			o.AllowIMDSv1 = !cfg.IMDS.RequireV2
			o.AllowedPeers = cfg.IMDS.AllowedRemote
			o.Instance = imds.Instance{Region: cfg.Region, AccountID: cfg.Upstream.AccountID}
		})
		if err != nil {
			return err
		}
		hops := cfg.IMDS.HopLimit
		wrapped := imds.HopLimitListener(ln, hops, func(err error) { log.Debug("setting the hop limit", "error", err) })
		d.eps.IMDS = ln.Addr().String()
		addr := d.eps.IMDS
		d.add("imds", wrapped, h, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+addr+"/latest/api/token", nil)
			req.Header.Set(imds.TokenTTLHeader, "60")
			return expect(hc, req, http.StatusOK)
		})
	}
	if ln := d.ls.container; ln != nil {
		h, err := imds.NewContainer(b, d.tokens, func(o *imds.ContainerOptions) {
			o.Logger = log.Named("container")
			// The well-known 169.254.170.2 is a caller's source address
			// too (and the daemon's own probe's).
			o.AllowedPeers = cfg.IMDS.AllowedRemote
		})
		if err != nil {
			return err
		}
		d.eps.Container, d.eps.ContainerPath = ln.Addr().String(), imds.DefaultContainerPath
		if err := imds.CheckContainerURL(d.eps.ContainerURL()); err != nil {
			log.Warn("SDKs will refuse this container endpoint", "error", err)
		}
		addr := d.eps.Container
		d.add("container", ln, h, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+imds.DefaultContainerPath, nil)
			return expect(hc, req, http.StatusUnauthorized)
		})
	}
	if ln := d.ls.core; ln != nil {
		if d.core == nil {
			why := "the upstream is a remote STS"
			if d.idle {
				why = "the core could not be opened (see above)"
			}
			log.Warn("the core listener is open but "+why+": nothing is served on it", "addr", ln.Addr())
			ln.Close()
		} else {
			d.eps.Core = ln.Addr().String()
			addr, scheme, chc := d.eps.Core, "http", hc
			var tlsConf *tls.Config
			if l := cfg.Listen; l.CoreTLSCertFile != "" {
				certs, err := newCertFiles(l.CoreTLSCertFile, l.CoreTLSKeyFile, log.Named("core"))
				if err != nil {
					return err
				}
				tlsConf, d.eps.CoreTLS, scheme = certs.serverConfig(), true, "https"
				chc = &http.Client{Timeout: hc.Timeout, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: certs.probeConfig()}}
			}
			d.add("core", ln, probed(d.probeSecret, d.core), func(ctx context.Context) error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/", nil)
				req.Header.Set(probeHeader, d.probeSecret)
				return expect(chc, req, http.StatusNoContent)
			}).srv.TLSConfig = tlsConf
		}
	}
	if ln := d.ls.metrics; ln != nil {
		d.eps.Metrics = ln.Addr().String()
		addr := d.eps.Metrics
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		// Role and user names: the Host check keeps a web page (DNS
		// rebinding) from reading them through a browser.
		guarded, err := imds.Guard(mux, func(o *imds.GuardOptions) { o.Logger = log.Named("metrics") })
		if err != nil {
			return err
		}
		d.add("metrics", ln, guarded, func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
			return expect(hc, req, http.StatusOK)
		})
	}
	configureCore(d.core, cfg, d.eps.Core)
	ch := control.NewHandler(b, func(o *control.Options) {
		o.Logger = log.Named("control")
		o.Metrics = metrics
		o.Endpoints = func() control.Endpoints {
			d.epsMu.Lock()
			defer d.epsMu.Unlock()
			return d.eps
		}
		o.Reload = d.askReload
	})
	cc := control.NewClient(d.ls.controlPath)
	d.add("control", d.ls.control, ch, cc.Health)
	return nil
}

// listenerSpec is what a listener's server has of its own; the zero value
// is imds.NewServer's limits and the TCP listeners' connection limits.
type listenerSpec struct {
	read, write    time.Duration // 0: imds's
	maxHeaderBytes int           // 0: imds's
	// control: connections count against the control socket's limits.
	control bool
}

// listenerSpecs are the listeners that differ from imds's.
var listenerSpecs = map[string]listenerSpec{
	// The core's requests carry bodies (IAM policies) and may take a policy
	// evaluation: wider limits.
	"core": {read: 30 * time.Second, write: 30 * time.Second, maxHeaderBytes: 64 << 10},
	// The control socket waits on the upstream for credential-process and
	// exec, and has connection limits of its own.
	"control": {write: 60 * time.Second, control: true},
}

func (l listenerSpec) apply(srv *http.Server) {
	if l.read > 0 {
		srv.ReadTimeout = l.read
	}
	if l.write > 0 {
		srv.WriteTimeout = l.write
	}
	if l.maxHeaderBytes > 0 {
		srv.MaxHeaderBytes = l.maxHeaderBytes
	}
}

// add serves h on ln; the endpoints' servers get the peer resolver, imds's
// timeouts and the connection limits, or the listener's own (listenerSpecs).
func (d *daemon) add(name string, ln net.Listener, h http.Handler, probe func(context.Context) error) *server {
	spec := listenerSpecs[name]
	srv := imds.NewServer(h, d.log.Named(name))
	srv.ConnContext = d.res.ConnContext
	spec.apply(srv)
	lim := d.lim
	if spec.control {
		lim = d.ctlLim
	}
	ln = lim.Listener(ln)
	s := &server{name: name, ln: ln, srv: srv, probe: probe, served: make(chan struct{})}
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		lim.ConnState(c, st)
		s.connState(c, st)
	}
	d.srvs = append(d.srvs, s)
	return s
}

// expect sends req and wants status (0: any).
func expect(hc *http.Client, req *http.Request, status int) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if status != 0 && resp.StatusCode != status {
		return fmt.Errorf("%s %s answered %d, want %d", req.Method, req.URL, resp.StatusCode, status)
	}
	return nil
}

// check proves the daemon alive: every listener answers a request, and the
// session cache answers its status (its locks are free).
func (d *daemon) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	errs := make([]error, len(d.srvs)+1)
	var wg sync.WaitGroup
	for i, s := range d.srvs {
		wg.Go(func() {
			if err := s.probe(ctx); err != nil {
				errs[i] = fmt.Errorf("%s listener: %w", s.name, err)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		d.b.Status()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs[len(d.srvs)] = errors.New("the session cache does not answer")
	}
	wg.Wait()
	return errors.Join(errs...)
}

// warm fetches the shared sessions and reports how it went.
func (d *daemon) warm(ctx context.Context) (ok, failed int) {
	roles := d.b.Roles()
	if len(roles) == 0 {
		return 0, 0
	}
	d.status("fetching the sessions of %d roles", len(roles))
	for _, r := range d.b.Warm(ctx) {
		switch {
		case r.Err == nil:
			ok++
		case r.NeedsHuman:
			failed++
			d.log.Warn("role waits for a person; see `credbroker status`", "role", r.Role, "error", r.Err)
		default:
			failed++
			d.log.Error("cannot fetch the role's session yet; retrying in the background", "role", r.Role, "error", r.Err)
		}
	}
	return ok, failed
}

// waitUpstream probes the upstream until it answers (or ctx ends).
func (d *daemon) waitUpstream(ctx context.Context) error {
	if d.up.Probe == nil {
		return nil
	}
	for {
		err := d.up.Probe(ctx)
		if err == nil {
			return nil
		}
		d.status("waiting for the upstream: %v", err)
		d.log.Warn("the upstream is not reachable; not ready yet", "upstream", d.up.Name, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.o.ProbeInterval):
		}
	}
}

func (d *daemon) serve(ctx context.Context) error {
	ok, failed := d.warm(ctx)
	if ok == 0 && len(d.b.Roles()) > 0 {
		if err := d.waitUpstream(ctx); err != nil {
			return d.stop()
		}
	}
	if err := d.check(ctx); err != nil {
		return fmt.Errorf("the daemon does not answer on its own listeners: %w", err)
	}
	d.notify("READY=1", "STATUS="+d.summary(ok, failed))
	d.log.Info("ready", "roles", len(d.b.Roles()), "sessions_ready", ok, "sessions_waiting", failed)
	if d.o.Ready != nil {
		d.o.Ready(d.eps)
	}
	// Start-up (config, HCL, the SDK's first calls) leaves garbage the
	// runtime would return to the OS only slowly: an idle daemon should
	// not look big.
	debug.FreeOSMemory()
	var watchdog <-chan time.Time
	if d.o.Watchdog > 0 {
		t := time.NewTicker(d.o.Watchdog / 2)
		defer t.Stop()
		watchdog = t.C
		d.log.Debug("watchdog on", "interval", d.o.Watchdog)
	}
	release := time.NewTicker(releaseEvery)
	defer release.Stop()
	var releasedAt uint64
	for {
		select {
		case <-ctx.Done():
			return d.stop()
		case <-release.C:
			releasedAt = d.releaseMemory(releasedAt)
		case <-d.o.Reload:
			_ = d.reload(ctx) // logged and in STATUS
		case done := <-d.reloads:
			done <- d.reload(ctx)
		case <-watchdog:
			if err := d.check(ctx); err != nil {
				d.log.Error("health check failed; not telling the watchdog", "error", err)
				continue
			}
			d.notify("WATCHDOG=1")
		}
	}
}

func (d *daemon) summary(ok, failed int) string {
	s := fmt.Sprintf("serving %d roles (%d sessions ready", len(d.b.Roles()), ok)
	if failed > 0 {
		s += fmt.Sprintf(", %d waiting: see credbroker status", failed)
	}
	s += "); upstream " + d.up.Name
	return s
}

// askReload asks the serve loop for a reload and waits for its result (the
// control socket's POST /v1/reload).
func (d *daemon) askReload(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case d.reloads <- done:
	case <-ctx.Done():
		return fmt.Errorf("the daemon is busy (starting, or another reload): %w", ctx.Err())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reload reads the configuration again; on any problem the old one keeps
// serving, and the log, STATUS and the result say why.
func (d *daemon) reload(ctx context.Context) error {
	d.notify("RELOADING=1", strings.TrimSuffix(sddaemon.SdNotifyMonotonicUsec(), "\n"), "STATUS=reloading the configuration")
	d.log.Info("reloading the configuration")
	err := d.reloadConfig(ctx)
	if err != nil {
		d.log.Error("reload refused; still serving the previous configuration", "error", err)
		d.notify("READY=1", "STATUS=reload failed, still serving the previous configuration: "+oneLine(err.Error()))
		return err
	}
	ok, failed := d.warm(ctx)
	d.notify("READY=1", "STATUS="+d.summary(ok, failed))
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

func (d *daemon) reloadConfig(ctx context.Context) error {
	cfg, err := d.o.LoadConfig()
	if err != nil {
		return err
	}
	old := d.cfg
	for _, w := range cfg.Warnings {
		d.log.Warn("config: " + config.FormatDiagnostic(w))
	}
	if changed(cfg.Listen, old.Listen) || changed(cfg.IMDS, old.IMDS) {
		d.log.Warn("listen and imds settings take effect at the next restart")
	}
	if d.idle && len(cfg.Roles) > 0 {
		return errors.New("the daemon started with no roles and no upstream open: restart it to serve the new roles (systemctl restart credbroker.service)")
	}
	up, upChanged := d.up, changed(cfg.Upstream, old.Upstream) || cfg.Region != old.Region
	if upChanged && d.idle {
		up = idleUpstream()
	} else if upChanged {
		if cfg.Upstream.Kind == config.UpstreamCore || old.Upstream.Kind == config.UpstreamCore {
			return errors.New("switching to, from or within the embedded core takes a restart; keep the upstream block as it was to reload")
		}
		if up, _, err = newUpstream(ctx, cfg, d.keys, d.o.OpenCore); err != nil {
			return err
		}
	}
	keysBefore, errBefore := d.keys, d.keyErr
	if changed(cfg.Keyring, old.Keyring) || d.keyErr != nil || (d.keys == nil && NeedsKeys(cfg)) {
		d.openKeys(cfg)
	}
	if err := d.b.Reload(cfg, up, d.brokerKeys()); err != nil {
		d.keys, d.keyErr = keysBefore, errBefore
		return err
	}
	if d.keys != keysBefore {
		d.watchKeys(ctx)
	}
	d.cfg, d.up = cfg, up
	d.epsMu.Lock()
	d.eps.Region = cfg.Region
	eps := d.eps
	d.epsMu.Unlock()
	configureCore(d.core, cfg, eps.Core)
	if err := control.WriteEndpoints(d.o.RuntimeDir, eps); err != nil {
		d.log.Warn("rewriting endpoints.json", "error", err)
	}
	return nil
}

// changed reports whether two versions of a config block differ in anything
// but where they were written.
func changed[T any](a, b T) bool { return config.Fingerprint(a) != config.Fingerprint(b) }

// stop shuts down gracefully: no new connections; every connection
// accepted gets its answer (bounded by ShutdownTimeout); then the broker
// and the core close.
func (d *daemon) stop() error {
	d.notify("STOPPING=1", "STATUS=stopping")
	d.log.Info("stopping")
	ctx, cancel := context.WithTimeout(context.Background(), d.o.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range d.srvs {
		wg.Go(func() {
			if err := s.drain(ctx); err != nil {
				d.log.Warn("requests still running at the shutdown deadline; closing", "listener", s.name)
			}
			s.srv.Close()
		})
	}
	wg.Wait()
	d.srvs = nil
	control.RemoveEndpoints(d.o.RuntimeDir)
	// The token goes with the daemon: the next start draws a new one (as
	// systemd's RuntimeDirectory= does for the system service).
	if err := os.Remove(filepath.Join(d.o.RuntimeDir, control.TokenFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("removing the container token file", "error", err)
	}
	d.log.Info("stopped")
	return nil
}

func (d *daemon) close() {
	if d.stopWatch != nil {
		d.stopWatch()
	}
	for _, s := range d.srvs {
		s.srv.Close()
	}
	if d.ls != nil {
		d.ls.close()
	}
	if d.b != nil {
		d.b.Close()
	}
	if d.core != nil {
		d.core.Close()
	}
	if d.res != nil {
		d.res.Close()
	}
}

// probeHeader carries the daemon's probe secret (a random value of this
// process, never logged): a request with it is the daemon's own health
// check of the core listener, answered 204 before the core sees it, so the
// watchdog's probes leave no audit line.
const probeHeader = "X-Credbroker-Probe"

// probed answers the daemon's own probes and passes every other request to
// next.
func probed(secret string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(probeHeader); v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(secret)) == 1 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// idleUpstream stands for the upstream of a configuration with no roles:
// nothing calls it.
func idleUpstream() *broker.Upstream {
	return &broker.Upstream{Name: "none (no roles configured)", Client: noSTS{}}
}

// noSTS refuses every call: with no roles there is nothing to assume.
type noSTS struct{}

var errNoRoles = errors.New("no roles are configured")

func (noSTS) AssumeRole(context.Context, *sts.AssumeRoleInput, ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	return nil, errNoRoles
}

func (noSTS) AssumeRoleWithWebIdentity(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return nil, errNoRoles
}

func (noSTS) GetSessionToken(context.Context, *sts.GetSessionTokenInput, ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error) {
	return nil, errNoRoles
}

func (noSTS) AssumeRoleWithSAML(context.Context, *sts.AssumeRoleWithSAMLInput, ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error) {
	return nil, errNoRoles
}
