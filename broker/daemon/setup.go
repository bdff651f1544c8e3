package daemon

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
)

// OpenCoreFunc opens the embedded IAM/STS core for upstream "core"; keys is
// the open keyring (nil when the config needs none).
type OpenCoreFunc func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error)

// ConfigurableCore is a core that follows the configuration and learns the
// address its listener is bound to ("" when it is not served): the embedded
// core's SAML service provider takes the saml sources' login callbacks and its
// own /saml URL from them. The daemon calls Configure once the listeners are
// bound and after every reload.
type ConfigurableCore interface {
	Configure(cfg *config.Config, listenAddr string)
}

// configureCore tells core (when it is a ConfigurableCore) cfg and addr.
func configureCore(core broker.Core, cfg *config.Config, addr string) {
	if cc, ok := core.(ConfigurableCore); ok {
		cc.Configure(cfg, addr)
	}
}

// Backends are what a configuration needs besides the broker: the keyring and
// the upstream. Setup opens them; the daemon does at start, and `credbroker
// exec` without a daemon does the same, so that both read the same keys.
type Backends struct {
	// Keys is the open keyring; nil when the config reads none, or when it
	// failed to open (KeyErr says why).
	Keys   *keystore.Store
	KeyErr error
	// Upstream is real STS or the embedded core.
	Upstream *broker.Upstream
	// Core is the embedded core of upstream "core" (the caller closes it).
	Core broker.Core
}

// SetupOptions configure Setup.
type SetupOptions struct {
	// OpenKeys opens the keyring. Default keystore.Open with the config's
	// settings and no prompt.
	OpenKeys func(config.Keyring) (*keystore.Store, error)
	// OpenCore opens the embedded core. Without it an upstream "core" fails
	// with broker.ErrNoCore.
	OpenCore OpenCoreFunc
	Logger   hclog.Logger
}

func (o *SetupOptions) defaults() {
	if o.OpenKeys == nil {
		o.OpenKeys = func(k config.Keyring) (*keystore.Store, error) { return keystore.Open(keystore.FromConfig(k)) }
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
}

// Setup opens the keyring cfg reads (for keyring sources, or the embedded
// core's master key) and builds its upstream. A keyring that does not open is
// not an error: it is reported in KeyErr, and the roles that need it fail with
// it (BrokerKeys). An upstream that cannot be built is an error.
func Setup(ctx context.Context, cfg *config.Config, o SetupOptions) (Backends, error) {
	o.defaults()
	var b Backends
	b.Keys, b.KeyErr = openKeys(cfg, o)
	var err error
	b.Upstream, b.Core, err = newUpstream(ctx, cfg, b.Keys, o.OpenCore)
	return b, err
}

// NeedsKeys reports whether cfg reads the keyring.
func NeedsKeys(cfg *config.Config) bool {
	for _, s := range cfg.Sources {
		if s.Kind == config.SourceKeyring {
			return true
		}
	}
	return cfg.Upstream.Kind == config.UpstreamCore && cfg.Upstream.MasterKey.Source == config.MasterKeyKeyring
}

// openKeys opens the keyring when cfg needs one.
func openKeys(cfg *config.Config, o SetupOptions) (*keystore.Store, error) {
	if !NeedsKeys(cfg) {
		return nil, nil
	}
	k, err := o.OpenKeys(cfg.Keyring)
	if err != nil {
		o.Logger.Error("cannot open the keyring; roles with keyring sources are reported in status until it opens", "error", err)
		return nil, fmt.Errorf("%w: opening the keyring at start-up failed (%v); fix it, then reload (SIGHUP) or restart", keystore.ErrLocked, err)
	}
	o.Logger.Info("keyring open", "keyring", k.String())
	return k, nil
}

// newUpstream builds the configured upstream.
func newUpstream(ctx context.Context, cfg *config.Config, keys *keystore.Store, openCore OpenCoreFunc) (*broker.Upstream, broker.Core, error) {
	u := cfg.Upstream
	switch u.Kind {
	case config.UpstreamSTS:
		region := u.Region
		if region == "" {
			region = cfg.Region
		}
		return broker.NewSTSUpstream(region, func(o *broker.UpstreamOptions) { o.Endpoint = u.Endpoint }), nil, nil
	case config.UpstreamCore:
		if openCore == nil {
			return nil, nil, broker.ErrNoCore
		}
		core, err := openCore(ctx, cfg, keys)
		if err != nil {
			return nil, nil, err
		}
		return broker.NewEmbeddedUpstream(core, cfg.Region), core, nil
	}
	return nil, nil, fmt.Errorf("unknown upstream %q", u.Kind)
}

// lockedKeys stands for a keyring that could not be opened: every read
// says why, as a failure that needs a person.
type lockedKeys struct{ err error }

func (k lockedKeys) Get(string) (keystore.Key, error) { return keystore.Key{}, k.err }

// BrokerKeys is the key store the broker reads: the keyring, one that fails
// every read with KeyErr, or nil when the config reads none.
func (b Backends) BrokerKeys() broker.KeyStore {
	switch {
	case b.KeyErr != nil:
		return lockedKeys{b.KeyErr}
	case b.Keys == nil:
		return nil
	}
	return b.Keys
}
