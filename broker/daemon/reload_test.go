package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/internal/x509test"
	"github.com/hashicorp/go-hclog"
)

// roleTwo is a second role on alice's key, that a good reload adds.
const roleTwo = "role \"two\" {\n  arn = \"arn:aws:iam::123456789012:role/two\"\n  source = \"alice\"\n}\n"

// TestReloadThroughControlSocket: `credbroker reload` (systemd's ExecReload)
// gets the result of the reload: a refused config comes back with its
// faults while the old one keeps serving; a good one is taken.
func TestReloadThroughControlSocket(t *testing.T) {
	fake, keys := aliceSTS(t)
	cfgText := aliceConfig(fake.URL(), "", "")
	d := runDaemon(t, cfgText, Options{OpenKeys: func(config.Keyring) (*keystore.Store, error) { return keys, nil }})
	c := d.client()
	ctx := context.Background()

	d.setConfig(strings.Replace(cfgText, `default_role = "deploy"`, `default_role = "nope"`, 1))
	err := c.Reload(ctx)
	var ce *control.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusUnprocessableEntity || ce.Code != "ReloadRefused" ||
		!strings.Contains(ce.Message, "test.hcl:") || !strings.Contains(ce.Message, "nope") {
		t.Fatalf("a bad config: Reload = %#v, want 422 ReloadRefused naming test.hcl and the fault", err)
	}
	if st, err := c.Status(ctx); err != nil || len(st.Roles) != 1 {
		t.Fatalf("after the refused reload: %d roles (%v), want the old config's 1", len(st.Roles), err)
	}

	d.setConfig(cfgText + roleTwo)
	if err := c.Reload(ctx); err != nil {
		t.Fatalf("a good config: Reload = %v", err)
	}
	if st, err := c.Status(ctx); err != nil || len(st.Roles) != 2 {
		t.Fatalf("after the good reload: %d roles (%v), want 2", len(st.Roles), err)
	}
}

// TestNoRolesStartsIdle: a config with no roles (the shipped default) needs
// no upstream: the daemon gets ready on a fresh host with no core, and a
// reload that adds roles says to restart.
func TestNoRolesStartsIdle(t *testing.T) {
	cfgText := `
listen {
  imds      = "127.0.0.1:0"
  container = "127.0.0.1:0"
}
upstream "core" {
  master_key {
    source = "credential"
    name   = "credbroker-master-key"
  }
}
`
	d := runDaemon(t, cfgText, Options{OpenKeys: func(config.Keyring) (*keystore.Store, error) { return keystore.NewMemory(), nil }})
	n := d.notes
	found := false
	n.mu.Lock()
	for _, m := range n.msgs {
		found = found || strings.Contains(m, "READY=1") && strings.Contains(m, "serving 0 roles") && strings.Contains(m, "no roles configured")
	}
	n.mu.Unlock()
	if !found {
		t.Errorf("no READY saying there are no roles in %q", n.msgs)
	}
	resp, err := http.Get("http://" + d.eps.IMDS + "/")
	if err != nil {
		t.Fatalf("IMDS does not answer: %v", err)
	}
	resp.Body.Close()

	d.setConfig(cfgText + "source \"keyring\" \"alice\" {}\nrole \"deploy\" {\n  arn = \"arn:aws:iam::123456789012:role/deploy\"\n  source = \"alice\"\n}\n")
	err = d.client().Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "restart") {
		t.Errorf("adding roles to an idle daemon: Reload = %v, want a refusal that says to restart", err)
	}
}

// TestProbed: only a request with this process's probe secret is answered
// before the core; anything else reaches it.
func TestProbed(t *testing.T) {
	var reached int
	h := probed("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.WriteHeader(http.StatusForbidden)
	}))
	tests := map[string]struct {
		header string
		want   int
		reach  bool
	}{
		"the daemon's probe": {header: "s3cret", want: http.StatusNoContent},
		"no header":          {want: http.StatusForbidden, reach: true},
		"a guess":            {header: "s3cre", want: http.StatusForbidden, reach: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reached = 0
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set(probeHeader, tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want || (reached == 1) != tc.reach {
				t.Errorf("status %d, reached the core %v; want %d, %v", rec.Code, reached == 1, tc.want, tc.reach)
			}
		})
	}
}

// TestCoreCertFiles: the core's TLS pair is refused when its key is readable by
// other users; a renewal written over the files is served from the next
// handshake; a renewal that does not load keeps the previous pair; the health
// probe trusts exactly the certificate served.
func TestCoreCertFiles(t *testing.T) {
	dir := t.TempDir()
	ca := x509test.NewCA(t, "test CA", x509test.ECDSA)
	issue := func() *x509test.Cert {
		return ca.Issue(t, x509test.Template{CommonName: "core", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true, KeyType: x509test.ECDSA})
	}
	first := issue()
	cert, key := first.WriteFiles(t, dir, "core")
	if err := os.Chmod(key, 0o604); err != nil {
		t.Fatal(err)
	}
	if _, err := newCertFiles(cert, key, hclog.NewNullLogger()); err == nil || !strings.Contains(err.Error(), "chmod o-rwx") {
		t.Fatalf("an other-readable key: %v", err)
	}
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	c, err := newCertFiles(cert, key, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	// Served as the daemon serves the core: ServeTLS with the GetCertificate.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	hs := &http.Server{Handler: h, TLSConfig: c.serverConfig(), ErrorLog: log.New(io.Discard, "", 0)}
	go hs.ServeTLS(ln, "", "")
	defer hs.Close()
	srvURL := "https://" + ln.Addr().String()
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: c.probeConfig()}}
	served := func() []byte {
		t.Helper()
		resp, err := probe.Get(srvURL)
		if err != nil {
			t.Fatalf("the probe: %v", err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Raw
	}
	if string(served()) != string(first.Cert.Raw) {
		t.Fatal("not the first certificate")
	}
	// Renewed: a new pair over the same files (a later mtime).
	second := issue()
	later := time.Now().Add(time.Minute)
	second.WriteFiles(t, dir, "core")
	for _, p := range []string{cert, key} {
		os.Chtimes(p, later, later)
	}
	if string(served()) != string(second.Cert.Raw) {
		t.Error("the renewed certificate is not served")
	}
	// A broken renewal: the previous pair stays.
	if err := os.WriteFile(cert, []byte("not PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	if string(served()) != string(second.Cert.Raw) {
		t.Error("a broken renewal replaced the served certificate")
	}
	// The probe refuses a certificate other than the one served, even from its CA.
	oc, ok := issue().WriteFiles(t, t.TempDir(), "other")
	pair, err := tls.LoadX509KeyPair(oc, ok)
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewUnstartedServer(h)
	other.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	other.StartTLS()
	defer other.Close()
	if resp, err := probe.Get(other.URL); err == nil || !strings.Contains(err.Error(), "other than its own") {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("the probe trusted another certificate: %v", err)
	}
}
