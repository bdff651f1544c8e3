package daemon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// openKeyring opens the real keyring the config names, with opts.
func openKeyring(opts ...func(*keystore.Options)) func(config.Keyring) (*keystore.Store, error) {
	return func(k config.Keyring) (*keystore.Store, error) {
		return keystore.Open(append([]func(*keystore.Options){keystore.FromConfig(k)}, opts...)...)
	}
}

// putAlice stores alice's key in the keyring kc names, as `credbroker keys add alice` does.
func putAlice(t *testing.T, kc config.Keyring, opts ...func(*keystore.Options)) {
	t.Helper()
	keys, err := openKeyring(opts...)(kc)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Put("alice", aliceKey); err != nil {
		t.Fatal(err)
	}
}

// TestRunLockedSecretService runs the daemon on a real GNOME Keyring whose
// login collection is locked: the role that needs its key is needs-human
// (status and metrics) while the other role is served; no dialog is ever
// asked for; and unlocking the collection is picked up at once, without a
// restart or a reload (the slow retry would take minutes).
func TestRunLockedSecretService(t *testing.T) {
	ss := keystoretest.StartSecretService(t, t.TempDir())
	prompts := ss.Prompts(t)
	fake, _ := aliceSTS(t)
	dir := t.TempDir()
	cfgText := aliceConfig(fake.URL(), "keyring {\n  backend = \"secret-service\"\n}\n", "  metrics   = \"127.0.0.1:0\"\n") +
		ciRole(t, fake, dir)
	onBus := func(o *keystore.Options) {
		o.Getenv = func(k string) string { return map[string]string{"DBUS_SESSION_BUS_ADDRESS": ss.Addr}[k] }
	}
	// `credbroker keys add alice`, then the desktop locks the keyring.
	putAlice(t, config.Keyring{Backend: config.BackendSecretService, Name: config.DefaultKeyringName}, onBus)
	ss.Lock(t, "default")

	d := runDaemon(t, cfgText, Options{RuntimeDir: dir, OpenKeys: openKeyring(onBus)})
	d.ready("1 sessions ready")
	c := d.client()

	st := roleStates(t, c)
	if s := st["deploy"]; !s.NeedsHuman || s.LastErrorCode != broker.CodeKeyringLocked || !strings.Contains(s.LastError, "is locked") ||
		strings.Contains(s.LastError, "/org/freedesktop") {
		t.Errorf("deploy with the collection locked: %+v", s)
	}
	if s := st["ci"]; s.State != "ready" || s.NeedsHuman {
		t.Errorf("ci, which needs no keyring: %+v", s)
	}
	metrics, err := c.Metrics(context.Background())
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
	d.stop()
}

// passKeyring is the config's keyring block for the pass store in dir.
func passKeyring(dir string) string {
	return "keyring {\n  backend  = \"pass\"\n  pass_dir = \"" + dir + "\"\n}\n"
}

// TestRunPass: the daemon reads a key that `keys add` stored in pass and
// hands out the role's session.
func TestRunPass(t *testing.T) {
	store := t.TempDir()
	keystoretest.StartPass(t, store)
	fake, _ := aliceSTS(t)
	putAlice(t, config.Keyring{Backend: config.BackendPass, Name: config.DefaultKeyringName, PassDir: store, PassCmd: "pass"})
	d := runDaemon(t, aliceConfig(fake.URL(), passKeyring(store), ""), Options{OpenKeys: openKeyring()})
	d.ready("1 sessions ready")
	creds, err := d.client().Credentials(context.Background(), "deploy")
	if err != nil || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
		t.Fatalf("deploy's credentials through pass: %+v, %v", creds.AccessKeyID, err)
	}
	reqs := fake.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-1].KeyID != aliceKey.AccessKeyID || reqs[len(reqs)-1].Issued != creds.AccessKeyID {
		t.Errorf("STS did not issue these credentials for alice's key from pass: %+v", reqs)
	}
}

// TestRunPassLocked: a pass store whose GPG key gpg-agent has not unlocked
// makes the role that needs it needs-human, never a pinentry, while the
// other role is served.
func TestRunPassLocked(t *testing.T) {
	store := t.TempDir()
	keystoretest.StartPassLocked(t, store, "gpg passphrase of the test")
	fake, _ := aliceSTS(t)
	putAlice(t, config.Keyring{Backend: config.BackendPass, Name: config.DefaultKeyringName, PassDir: store})
	dir := t.TempDir()
	d := runDaemon(t, aliceConfig(fake.URL(), passKeyring(store), "")+ciRole(t, fake, dir), Options{RuntimeDir: dir, OpenKeys: openKeyring()})
	d.ready("1 sessions ready")
	st := roleStates(t, d.client())
	if s := st["deploy"]; !s.NeedsHuman || s.LastErrorCode != broker.CodeKeyringLocked || !strings.Contains(s.LastError, "needs its passphrase") {
		t.Errorf("deploy with the GPG key locked: %+v", s)
	}
	if s := st["ci"]; s.State != "ready" {
		t.Errorf("ci, which needs no keyring: %+v", s)
	}
}
