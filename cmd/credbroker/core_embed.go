package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/daemon"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/login"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/console"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/rolesanywhere"
	"github.com/credbroker/credbroker/sts/samlsp"
	"github.com/credbroker/credbroker/sts/store"
)

// The embedded IAM/STS core: the daemon serves its handler on the core
// listener (for the AWS CLI and SDKs, through AWS_ENDPOINT_URL_STS/_IAM)
// and calls the very same handler in-process from the broker's
// aws-sdk-go-v2 STS client (broker.NewEmbeddedUpstream: the same SigV4
// requests, an in-process http.RoundTripper instead of a socket).

// embeddedCore is the core and the store it serves; closing it closes both,
// the core first (Roles Anywhere writing the subjects it saw before).
type embeddedCore struct {
	core    *sts.Core
	st      *store.Store
	console http.Handler // the IAM console (/console) and /federation
	sp      *samlsp.SP   // the SAML service provider (/saml)
	ra      *rolesanywhere.API
}

func (c embeddedCore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.console != nil && console.Serves(r.URL.Path) {
		c.console.ServeHTTP(w, r)
		return
	}
	c.core.Handler().ServeHTTP(w, r)
}

func (c embeddedCore) Close() error {
	return errors.Join(c.ra.Close(), c.core.Close(), c.st.Close())
}

// InstanceProfileForRole tells the broker which instance profile holds a
// role, for IMDS iam/info.
func (c embeddedCore) InstanceProfileForRole(ctx context.Context, roleARN string) (arn, id string, found bool, err error) {
	p, found, err := c.core.InstanceProfileForRole(ctx, roleARN)
	return p.ARN, p.ID, found, err
}

// Configure tells the core's SAML service provider its /saml URLs and the
// saml sources' login callbacks, which the core accepts as a SAML response's
// Recipient: a saml source added by a reload is accepted at once.
func (c embeddedCore) Configure(cfg *config.Config, addr string) {
	callbacks, acs := loginCallbacks(cfg), coreACS(cfg, addr)
	c.core.SetSAMLACS(append(slices.Clone(callbacks), acs...))
	own := ""
	if len(acs) > 0 {
		own = acs[0]
	}
	c.sp.Configure(own, callbacks)
}

// coreACS are the URLs of the core's own /saml on its listener's address
// (https when the listener has TLS): under each console host name first (the
// first is the one the SP metadata names), then the bound address.
func coreACS(cfg *config.Config, addr string) []string {
	if addr == "" {
		return nil
	}
	scheme := "http"
	if cfg.Listen.CoreTLSCertFile != "" {
		scheme = "https"
	}
	var out []string
	if _, port, err := net.SplitHostPort(addr); err == nil {
		for _, h := range cfg.Upstream.ConsoleHosts {
			out = append(out, scheme+"://"+net.JoinHostPort(h, port)+samlsp.Path)
		}
	}
	return append(out, scheme+"://"+addr+samlsp.Path)
}

var (
	_ daemon.ConfigurableCore      = embeddedCore{}
	_ broker.Core                  = embeddedCore{}
	_ broker.InstanceProfileLookup = embeddedCore{}
)

// newCore returns the embedded core serving the account in st, with the STS
// and IAM APIs, Roles Anywhere and the console; it takes ownership of st.
func newCore(ctx context.Context, st *store.Store, cfg *config.Config, log hclog.Logger) (broker.Core, error) {
	c, err := sts.New(ctx, st, func(o *sts.Options) {
		o.Logger = log
		o.SAMLACS = loginCallbacks(cfg)
		o.Throttle = sts.Throttle{Rate: float64(cfg.Upstream.STSRateLimit)}
	})
	var con *console.Console
	var sp *samlsp.SP
	var ra *rolesanywhere.API
	if err == nil {
		if _, err = iamapi.Register(c); err == nil {
			if ra, err = rolesanywhere.Register(c, func(o *rolesanywhere.Options) { o.Logger = log }); err == nil {
				if con, err = console.New(c, func(o *console.Options) {
					o.Logger, o.Hosts, o.Store = log.Named("console"), cfg.Upstream.ConsoleHosts, st
				}); err == nil {
					sp, err = samlsp.Register(c, func(o *samlsp.Options) {
						o.Logger = log.Named("saml")
						o.Console = con.Handler()
						o.Region = cfg.Region
					})
				}
			}
		}
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("starting the embedded core: %w", err)
	}
	return embeddedCore{core: c, st: st, console: con.Handler(), sp: sp, ra: ra}, nil
}

// loginCallbacks are the assertion consumer services of cfg's saml sources
// (`credbroker login`'s loopback callbacks), which the core accepts as a SAML
// response's Destination and Recipient (read when the core opens, and again
// at each reload: Configure).
func loginCallbacks(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.Sources {
		if s.Kind == config.SourceSAML {
			out = append(out, "http://"+s.Callback+login.Path)
		}
	}
	return out
}

// openCore opens the embedded core of upstream "core": its encrypted store
// (--core-store, else the config's store, else core.db in the state directory)
// under the configured master key.
func openCore(log hclog.Logger, sf *storeFlags) func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
	return func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
		mk, err := keystore.NewMasterKey(cfg.Upstream.MasterKey, keys)
		if err != nil {
			return nil, err
		}
		loc, pwFile, err := sf.resolve(cfg.Upstream, cfg.Upstream.StateDir)
		if err != nil {
			return nil, err
		}
		cat, err := policy.BuiltinCatalog()
		if err != nil {
			return nil, err
		}
		st, err := openStoreAt(ctx, loc, pwFile, "", mk, false, func(o *store.Options) {
			o.Logger = log.Named("store")
			o.AWSManagedPolicyExists = func(arn string) bool { _, ok := cat.Lookup(arn); return ok }
		})
		if err != nil {
			return nil, err
		}
		return newCore(ctx, st, cfg, log.Named("core"))
	}
}

// The demo account of `serve --dev` (README.md, "Try it").
const (
	devAccount = sts.DevAccountID
	devUser    = sts.DevUserName
	devRole    = sts.DevRoleName
)

// devConfig is the configuration of `serve --dev`: the embedded core, the
// user dev's key (in memory) as the source, role dev-admin for every local
// caller. Flags override the addresses.
const devConfig = `
listen {
  imds      = "127.0.0.1:8911"
  container = "127.0.0.1:8912"
  core      = "127.0.0.1:8913"
}
# In memory: the state directory and master key are not used.
upstream "core" {
  account_id = "` + devAccount + `"
  master_key {
    source = "credential"
  }
}
source "keyring" "` + devUser + `" {}
role "` + devRole + `" {
  arn    = "arn:aws:iam::` + devAccount + `:role/` + devRole + `"
  source = "` + devUser + `"
}
# Every local caller gets dev-admin.
default_role = "` + devRole + `"
`

// openDevCore builds the demo account in memory (sts.SeedDev) and the core
// over it; the user dev's key goes to keys (an in-memory keystore) only.
func openDevCore(log hclog.Logger) func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
	return func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
		st, dev, err := sts.OpenDev(ctx)
		if err != nil {
			return nil, err
		}
		if err := keys.Put(devUser, keystore.Key{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}); err != nil {
			st.Close()
			return nil, fmt.Errorf("keeping the dev user's key: %w", err)
		}
		return newCore(ctx, st, cfg, log.Named("core"))
	}
}
