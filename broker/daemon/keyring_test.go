package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
	"github.com/credbroker/credbroker/internal/awsfake"
)

// TestRunLockedSecretService runs the daemon on a real GNOME Keyring whose
// login collection is locked: the role that needs its key is needs-human
// (status and metrics) while the other role is served; no dialog is ever
// asked for; and unlocking the collection is picked up at once, without a
// restart or a reload (the slow retry would take minutes).
func TestRunLockedSecretService(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	prompts := ss.Prompts(t)
	fake := awsfake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	const id, secret = "AKIAALICE0000EXAMPLE", "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fake.AddUser("alice", id, secret)
	fake.AddWebIdentityToken("ci-jwt", "system:serviceaccount:ci:runner")

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("ci-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText := `
listen {
  imds      = "127.0.0.1:0"
  container = "127.0.0.1:0"
  metrics   = "127.0.0.1:0"
}
upstream "sts" {
  endpoint = "` + fake.URL() + `"
  region   = "eu-west-1"
}
keyring {
  backend = "secret-service"
}
source "keyring" "alice" {}
source "web_identity" "ci" {
  token_file = "` + tokenFile + `"
}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
role "ci" {
  arn    = "arn:aws:iam::123456789012:role/ci"
  source = "ci"
}
default_role = "deploy"
`
	onBus := func(o *keystore.Options) {
		o.Getenv = func(k string) string { return map[string]string{"DBUS_SESSION_BUS_ADDRESS": ss.Addr}[k] }
	}
	// `credbroker keys add alice`, then the desktop locks the keyring.
	keys, err := keystore.Open(keystore.FromConfig(config.Keyring{Backend: config.BackendSecretService, Name: config.DefaultKeyringName}), onBus)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Put("alice", keystore.Key{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
		t.Fatal(err)
	}
	ss.Lock(t, "default")

	c, ctx, stop := runWithKeyring(t, dir, cfgText, "1 sessions ready", onBus)

	st := roleStates(t, c)
	if s := st["deploy"]; !s.NeedsHuman || s.LastErrorCode != broker.CodeKeyringLocked || !strings.Contains(s.LastError, "is locked") ||
		strings.Contains(s.LastError, "/org/freedesktop") {
		t.Errorf("deploy with the collection locked: %+v", s)
	}
	if s := st["ci"]; s.State != "ready" || s.NeedsHuman {
		t.Errorf("ci, which needs no keyring: %+v", s)
	}
	metrics, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`credbroker_session_needs_human{caller="",role="deploy"} 1`, `credbroker_session_needs_human{caller="",role="ci"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	ss.Unlock(t, "default", ss.Password)
	deadline := time.Now().Add(15 * time.Second)
	for st["deploy"].State != "ready" {
		if time.Now().After(deadline) {
			t.Fatalf("the unlock was not picked up in 15 s: %+v", st["deploy"])
		}
		time.Sleep(50 * time.Millisecond)
		st = roleStates(t, c)
	}
	if s := st["deploy"]; s.NeedsHuman || s.AccessKeyID == "" {
		t.Errorf("deploy after the unlock: %+v", s)
	}
	if p := prompts(); len(p) != 0 {
		t.Errorf("the daemon asked for dialogs: %v", p)
	}
	stop()
}

// runWithKeyring runs the daemon on cfgText with the real keyring its config
// names (opened with opts), waits until it is ready and checks its READY
// status holds want; stop stops it.
func runWithKeyring(t *testing.T, dir, cfgText, want string, opts ...func(*keystore.Options)) (c *control.Client, ctx context.Context, stop func()) {
	t.Helper()
	n := &notes{ch: make(chan string, 256)}
	ready := make(chan control.Endpoints, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{
			LoadConfig: func() (*config.Config, error) { return config.Parse([]byte(cfgText), "test.hcl") },
			RuntimeDir: dir, Notify: n.notify,
			OpenKeys: func(k config.Keyring) (*keystore.Store, error) {
				return keystore.Open(append([]func(*keystore.Options){keystore.FromConfig(k)}, opts...)...)
			},
			Ready: func(e control.Endpoints) { ready <- e },
		})
	}()
	if m := n.wait(t, "READY=1"); !strings.Contains(m, want) {
		t.Errorf("READY message %q, want %q", m, want)
	}
	eps := <-ready
	return control.NewClient(eps.ControlSocket), ctx, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestRunPass: the daemon reads a key that `keys add` stored in pass and
// hands out the role's session.
func TestRunPass(t *testing.T) {
	store := t.TempDir()
	keystoretest.StartPass(t, store)
	fake := awsfake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	const id, secret = "AKIAALICE0000EXAMPLE", "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fake.AddUser("alice", id, secret)
	kc := config.Keyring{Backend: config.BackendPass, Name: config.DefaultKeyringName, PassDir: store, PassCmd: "pass"}
	keys, err := keystore.Open(keystore.FromConfig(kc))
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Put("alice", keystore.Key{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
		t.Fatal(err)
	}
	cfgText := `
listen {
  imds      = "127.0.0.1:0"
  container = "127.0.0.1:0"
}
upstream "sts" {
  endpoint = "` + fake.URL() + `"
  region   = "eu-west-1"
}
keyring {
  backend  = "pass"
  pass_dir = "` + store + `"
}
source "keyring" "alice" {}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
default_role = "deploy"
`
	c, ctx, stop := runWithKeyring(t, t.TempDir(), cfgText, "1 sessions ready")
	defer stop()
	creds, err := c.Credentials(ctx, "deploy")
	if err != nil || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
		t.Fatalf("deploy's credentials through pass: %+v, %v", creds.AccessKeyID, err)
	}
	reqs := fake.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-1].KeyID != id || reqs[len(reqs)-1].Issued != creds.AccessKeyID {
		t.Errorf("STS did not issue these credentials for alice's key from pass: %+v", reqs)
	}
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

// TestRunPassLocked: a pass store whose GPG key gpg-agent has not unlocked
// makes the role that needs it needs-human, never a pinentry, while the
// other role is served.
func TestRunPassLocked(t *testing.T) {
	store := t.TempDir()
	keystoretest.StartPassLocked(t, store, "gpg passphrase of the test")
	fake := awsfake.New()
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer fake.Stop()
	const id, secret = "AKIAALICE0000EXAMPLE", "aliceSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fake.AddUser("alice", id, secret)
	fake.AddWebIdentityToken("ci-jwt", "system:serviceaccount:ci:runner")
	keys, err := keystore.Open(keystore.FromConfig(config.Keyring{Backend: config.BackendPass, Name: config.DefaultKeyringName, PassDir: store}))
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Put("alice", keystore.Key{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("ci-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText := `
listen {
  imds      = "127.0.0.1:0"
  container = "127.0.0.1:0"
}
upstream "sts" {
  endpoint = "` + fake.URL() + `"
  region   = "eu-west-1"
}
keyring {
  backend  = "pass"
  pass_dir = "` + store + `"
}
source "keyring" "alice" {}
source "web_identity" "ci" {
  token_file = "` + tokenFile + `"
}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
role "ci" {
  arn    = "arn:aws:iam::123456789012:role/ci"
  source = "ci"
}
default_role = "deploy"
`
	c, _, stop := runWithKeyring(t, dir, cfgText, "1 sessions ready")
	defer stop()
	st := roleStates(t, c)
	if s := st["deploy"]; !s.NeedsHuman || s.LastErrorCode != broker.CodeKeyringLocked || !strings.Contains(s.LastError, "needs its passphrase") {
		t.Errorf("deploy with the GPG key locked: %+v", s)
	}
	if s := st["ci"]; s.State != "ready" {
		t.Errorf("ci, which needs no keyring: %+v", s)
	}
}
