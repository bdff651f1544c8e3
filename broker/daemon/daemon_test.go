package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/imds"
	"github.com/credbroker/credbroker/internal/awsfake"
	"github.com/hashicorp/go-hclog"
)

func TestContainerTokenSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), control.TokenFile)
	first, err := containerToken(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v %v", fi, err)
	}
	again, err := containerToken(path)
	if err != nil || again != first {
		t.Errorf("a restart changed the token: %v", err)
	}
	// A token file others can read is not trusted: a new token.
	os.Chmod(path, 0o644)
	third, err := containerToken(path)
	if err != nil || third == first {
		t.Errorf("a world-readable token file was reused (%v)", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after replacing", fi.Mode())
	}
}

func TestControlSocketOwnership(t *testing.T) {
	path := filepath.Join(t.TempDir(), control.SocketFile)
	l, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every local user may connect: the control API answers each caller
	// for itself only (control's FuzzControlAPIOtherUser).
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o666 {
		t.Errorf("control socket mode %v", fi.Mode())
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })}
	go srv.Serve(l)
	if _, err := listenControl(path); err == nil || !strings.Contains(err.Error(), "another credbroker daemon") {
		t.Errorf("took over a live daemon's socket: %v", err)
	}
	srv.Close() // the file stays, as after a crash
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	l2, err := listenControl(path)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	l2.Close()
	os.Remove(path)
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := listenControl(path); err == nil {
		t.Error("replaced a file that is not a socket")
	}
}

// TestRun runs the daemon in-process (under the race detector in `make
// test`): ready, watchdog, a refused and an accepted reload, a stop.
func TestRun(t *testing.T) {
	fake, keys := aliceSTS(t)
	dir := t.TempDir()
	cfgText := aliceConfig(fake.URL(), "region = \"eu-west-1\"\n", "  metrics   = \"127.0.0.1:0\"\n")
	reload := make(chan struct{})
	var opened atomic.Int32
	d := runDaemon(t, cfgText, Options{
		RuntimeDir: dir, Reload: reload, Watchdog: 100 * time.Millisecond,
		OpenKeys: func(config.Keyring) (*keystore.Store, error) { opened.Add(1); return keys, nil },
	})
	n, eps := d.notes, d.eps
	d.ready("STATUS=serving 1 roles (1 sessions ready)")
	if eps.IMDS == "" || eps.Container == "" || eps.Metrics == "" || eps.Region != "eu-west-1" {
		t.Errorf("endpoints %+v", eps)
	}
	resp, err := http.Get("http://" + eps.Metrics + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("metrics listener: %v", err)
	} else {
		resp.Body.Close()
	}
	// DNS rebinding: a page of attacker.example resolved to 127.0.0.1.
	req, _ := http.NewRequest(http.MethodGet, "http://"+eps.Metrics+"/metrics", nil)
	req.Host = "attacker.example:" + strings.Split(eps.Metrics, ":")[1]
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("metrics with a foreign Host: %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	n.wait(t, "WATCHDOG=1")
	n.wait(t, "WATCHDOG=1")

	d.setConfig(strings.Replace(cfgText, `default_role = "deploy"`, `default_role = "nope"`, 1))
	reload <- struct{}{}
	m := n.wait(t, "RELOADING=1")
	if !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING without MONOTONIC_USEC: %q", m)
	}
	m = n.wait(t, "READY=1")
	if !strings.Contains(m, "reload failed") || !strings.Contains(m, "test.hcl:") {
		t.Errorf("after a bad reload: %q", m)
	}
	d.setConfig(cfgText + roleTwo)
	reload <- struct{}{}
	n.wait(t, "RELOADING=1")
	if m = n.wait(t, "READY=1"); !strings.Contains(m, "serving 2 roles (2 sessions ready)") {
		t.Errorf("after a good reload: %q", m)
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("the keyring was opened %d times, want once", n)
	}
	d.cancel()
	n.wait(t, "STOPPING=1")
	d.stop()
	for _, f := range []string{control.EndpointsFile, control.SocketFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s left after the stop", f)
		}
	}
}

// TestBusyPort: a listener that cannot be opened (the port is taken, by a
// second daemon or another user squatting it) makes Run return the
// "address in use" error with its hint, after closing what it had opened.
// It used to panic closing the listeners.
func TestBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := netip.MustParseAddrPort(busy.Addr().String())
	const up = "upstream \"sts\" {\n  endpoint = \"http://127.0.0.1:1\"\n  region = \"eu-west-1\"\n}\n"
	for _, c := range []struct{ name, cfg string }{
		{"imds", "listen {\n  imds = \"" + addr.String() + "\"\n  container = \"127.0.0.1:0\"\n}\n"},
		{"container after imds", "listen {\n  imds = \"127.0.0.1:0\"\n  container = \"" + addr.String() + "\"\n}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Run(context.Background(), Options{
				LoadConfig: func() (*config.Config, error) { return config.Parse([]byte(up+c.cfg), "test.hcl") },
				RuntimeDir: t.TempDir(), Notify: func(string) error { return nil },
			})
			if err == nil || !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "another process") {
				t.Fatalf("Run with a busy port: %v, want address in use with the hint", err)
			}
		})
	}
}

// Each listener's server gets imds's limits, or its own from listenerSpecs.
func TestListenerLimits(t *testing.T) {
	cases := map[string]struct {
		read, write time.Duration
		header      int
	}{
		"imds":      {imds.ReadTimeout, imds.WriteTimeout, imds.MaxHeaderBytes},
		"container": {imds.ReadTimeout, imds.WriteTimeout, imds.MaxHeaderBytes},
		"metrics":   {imds.ReadTimeout, imds.WriteTimeout, imds.MaxHeaderBytes},
		"core":      {30 * time.Second, 30 * time.Second, 64 << 10},
		"control":   {imds.ReadTimeout, 60 * time.Second, imds.MaxHeaderBytes},
	}
	d := &daemon{log: hclog.NewNullLogger(), res: peer.New()}
	defer d.res.Close()
	for name := range cases {
		d.add(name, nil, http.NotFoundHandler(), nil)
	}
	for _, s := range d.srvs {
		c := cases[s.name]
		if s.srv.ReadTimeout != c.read || s.srv.WriteTimeout != c.write || s.srv.MaxHeaderBytes != c.header {
			t.Errorf("%s: read %v write %v headers %d, want %v %v %d", s.name, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.MaxHeaderBytes, c.read, c.write, c.header)
		}
	}
}

// The keyring opens for keyring sources and for an embedded core whose master
// key it keeps, for the daemon and exec alike (Setup).
func TestSetupOpensKeyringWhenNeeded(t *testing.T) {
	keyringSource := []config.Source{{Kind: config.SourceKeyring, Name: "alice"}}
	webSource := []config.Source{{Kind: config.SourceWebIdentity, Name: "ci"}}
	core := func(src config.MasterKeySource) config.Upstream {
		return config.Upstream{Kind: config.UpstreamCore, MasterKey: config.MasterKey{Source: src}}
	}
	cases := map[string]struct {
		cfg  config.Config
		want bool
	}{
		"keyring source, sts":        {config.Config{Sources: keyringSource, Upstream: config.Upstream{Kind: config.UpstreamSTS}}, true},
		"web identity, sts":          {config.Config{Sources: webSource, Upstream: config.Upstream{Kind: config.UpstreamSTS}}, false},
		"web identity, core keyring": {config.Config{Sources: webSource, Upstream: core(config.MasterKeyKeyring)}, true},
		"web identity, core file":    {config.Config{Sources: webSource, Upstream: core(config.MasterKeyFile)}, false},
	}
	for name, c := range cases {
		opened := false
		var gotKeys *keystore.Store
		bk, err := Setup(context.Background(), &c.cfg, SetupOptions{
			OpenKeys: func(config.Keyring) (*keystore.Store, error) { opened = true; return keystore.NewMemory(), nil },
			OpenCore: func(_ context.Context, _ *config.Config, keys *keystore.Store) (broker.Core, error) {
				gotKeys = keys
				return nil, errors.New("no core in this test")
			},
		})
		if opened != c.want || NeedsKeys(&c.cfg) != c.want {
			t.Errorf("%s: keyring opened %v, want %v", name, opened, c.want)
		}
		if c.cfg.Upstream.Kind == config.UpstreamCore {
			if err == nil || (gotKeys != nil) != c.want {
				t.Errorf("%s: the core got keys %v (err %v), want %v", name, gotKeys != nil, err, c.want)
			}
		} else if err != nil || bk.Upstream == nil || (bk.BrokerKeys() != nil) != c.want {
			t.Errorf("%s: %+v, %v", name, bk, err)
		}
	}
}

// notes records sd_notify messages.
type notes struct {
	mu   sync.Mutex
	msgs []string
	ch   chan string
}

func (n *notes) notify(s string) error {
	n.mu.Lock()
	n.msgs = append(n.msgs, s)
	n.mu.Unlock()
	select {
	case n.ch <- s:
	default:
	}
	return nil
}

func (n *notes) wait(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-n.ch:
			if strings.Contains(m, want) {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q notification", want)
		}
	}
}

// running is Run in-process, on a config text the test may change before a
// reload (setConfig).
type running struct {
	t      *testing.T
	eps    control.Endpoints
	notes  *notes
	cancel context.CancelFunc // stops Run; stop waits for it
	done   chan error
	once   sync.Once

	mu   sync.Mutex
	text string
}

// runDaemon runs Run on cfgText with o (OpenKeys, Reload, Watchdog, RuntimeDir;
// a runtime directory of its own when o names none) and returns once it is
// ready. The config is re-read from setConfig's text at every reload; the test's
// cleanup stops the daemon.
func runDaemon(t *testing.T, cfgText string, o Options) *running {
	t.Helper()
	d := &running{t: t, notes: &notes{ch: make(chan string, 256)}, done: make(chan error, 1), text: cfgText}
	o.LoadConfig = func() (*config.Config, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return config.Parse([]byte(d.text), "test.hcl")
	}
	o.Notify = d.notes.notify
	if o.RuntimeDir == "" {
		o.RuntimeDir = t.TempDir()
	}
	ready := make(chan control.Endpoints, 1)
	o.Ready = func(e control.Endpoints) { ready <- e }
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.done <- Run(ctx, o) }()
	t.Cleanup(d.stop)
	select {
	case d.eps = <-ready:
	case err := <-d.done:
		d.done <- nil
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("not ready after 20s")
	}
	return d
}

// setConfig is the config text of the next reload.
func (d *running) setConfig(text string) {
	d.mu.Lock()
	d.text = text
	d.mu.Unlock()
}

// ready checks that the daemon's READY message holds want.
func (d *running) ready(want string) {
	d.t.Helper()
	if m := d.notes.wait(d.t, "READY=1"); !strings.Contains(m, want) {
		d.t.Errorf("READY message %q, want %q", m, want)
	}
}

// client is a control API client of the daemon.
func (d *running) client() *control.Client { return control.NewClient(d.eps.ControlSocket) }

// stop stops the daemon (once) and fails the test if Run returned an error.
func (d *running) stop() {
	d.once.Do(func() {
		d.cancel()
		if err := <-d.done; err != nil {
			d.t.Errorf("Run: %v", err)
		}
	})
}

// aliceKey is alice's long-term key, known to aliceSTS.
var aliceKey = keystore.Key{AccessKeyID: "AKIAALICE0000EXAMPLE", SecretAccessKey: "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// aliceSTS is a fake STS that knows alice's key, and an in-memory keystore
// that holds it; the fake stops with the test.
func aliceSTS(t *testing.T) (*awsfake.Server, *keystore.Store) {
	t.Helper()
	fake := awsfake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Stop() })
	fake.AddUser("alice", aliceKey.AccessKeyID, aliceKey.SecretAccessKey)
	keys := keystore.NewMemory()
	keys.Put("alice", aliceKey)
	return fake, keys
}

// aliceConfig serves role deploy, assumed with alice's key at stsURL, to
// every caller; top goes first (a region, a keyring block), listen into the
// listen block.
func aliceConfig(stsURL, top, listen string) string {
	return top + `
listen {
  imds      = "127.0.0.1:0"
  container = "127.0.0.1:0"
` + listen + `}
upstream "sts" {
  endpoint = "` + stsURL + `"
  region   = "eu-west-1"
}
source "keyring" "alice" {}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
default_role = "deploy"
`
}

// ciRole is the config of role ci, assumed with a web identity token (written
// in dir, known to fake): a role that needs no keyring.
func ciRole(t *testing.T, fake *awsfake.Server, dir string) string {
	t.Helper()
	fake.AddWebIdentityToken("ci-jwt", "system:serviceaccount:ci:runner")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("ci-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	return `source "web_identity" "ci" {
  token_file = "` + tokenFile + `"
}
role "ci" {
  arn    = "arn:aws:iam::123456789012:role/ci"
  source = "ci"
}
`
}

// roleStates is each role's shared session in the daemon's status.
func roleStates(t *testing.T, c *control.Client) map[string]broker.SessionStatus {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]broker.SessionStatus{}
	for _, r := range st.Roles {
		if len(r.Sessions) == 1 {
			out[r.Role] = r.Sessions[0]
		}
	}
	return out
}
