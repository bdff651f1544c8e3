package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// The embedded IAM/STS core plugs in here. Everything around it is built:
// the daemon serves the handler newCoreHandler returns on the core
// listener (for the AWS CLI and SDKs, through AWS_ENDPOINT_URL_STS/_IAM)
// and calls the very same handler in-process from the broker's
// aws-sdk-go-v2 STS client (broker.NewEmbeddedUpstream: the same SigV4
// requests, an in-process http.RoundTripper instead of a socket). To wire
// the core: set coreBuilt to true and make newCoreHandler return the
// core's STS+IAM http.Handler over st (plus a Close that closes st).

// coreBuilt says whether this build has the core's API handler.
const coreBuilt = false

// errDevNotBuilt is what `serve --dev` says until then.
var errDevNotBuilt = errors.New(`serve --dev needs the embedded IAM/STS core, which is not built yet (issue 6). ` +
	`Until it is, run the broker against AWS or another STS: ` +
	`credbroker serve --config FILE with upstream "sts" { endpoint = "..." } (README: Configuration)`)

// newCoreHandler returns the embedded core serving the account in st.
func newCoreHandler(st *store.Store, region string, log hclog.Logger) (broker.Core, error) {
	_, _, _ = st, region, log
	return nil, broker.ErrCoreNotBuilt
}

// storeCore closes the store with the core.
type storeCore struct {
	http.Handler
	st *store.Store
}

func (c storeCore) Close() error { return c.st.Close() }

var _ broker.Core = storeCore{}

// openCore opens the embedded core of upstream "core": its encrypted
// store in the state directory, under the configured master key.
func openCore(log hclog.Logger) func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
	return func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
		if !coreBuilt {
			return nil, broker.ErrCoreNotBuilt
		}
		mk, err := keystore.NewMasterKey(cfg.Upstream.MasterKey, keys)
		if err != nil {
			return nil, err
		}
		st, err := store.OpenFile(ctx, filepath.Join(cfg.Upstream.StateDir, "core.db"), mk)
		if err != nil {
			return nil, err
		}
		c, err := newCoreHandler(st, cfg.Region, log.Named("core"))
		if err != nil {
			st.Close()
			return nil, err
		}
		return c, nil
	}
}

// The demo account of `serve --dev` (DESIGN.md).
const (
	devAccount = config.DefaultAccountID
	devUser    = "dev"
	devRole    = "dev-admin"
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

// openDevCore builds the demo account in memory and the core over it; the
// user dev's key goes to keys (an in-memory keystore) only.
func openDevCore(log hclog.Logger) func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
	return func(ctx context.Context, cfg *config.Config, keys *keystore.Store) (broker.Core, error) {
		if !coreBuilt {
			return nil, errDevNotBuilt
		}
		st, err := store.OpenMemory(ctx, devAccount)
		if err != nil {
			return nil, err
		}
		key, err := demoAccount(ctx, st)
		if err == nil {
			err = keys.Put(devUser, keystore.Key{AccessKeyID: key.ID, SecretAccessKey: key.Secret})
		}
		var c broker.Core
		if err == nil {
			c, err = newCoreHandler(st, cfg.Region, log.Named("core"))
		}
		if err != nil {
			st.Close()
			return nil, err
		}
		return c, nil
	}
}

// demoAccount creates user dev with an access key, and role dev-admin
// (AdministratorAccess) that dev may assume.
func demoAccount(ctx context.Context, st *store.Store) (account.AccessKey, error) {
	userARN := "arn:aws:iam::" + devAccount + ":user/" + devUser
	roleARN := "arn:aws:iam::" + devAccount + ":role/" + devRole
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + userARN +
		`"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`
	assume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"` + roleARN + `"}]}`
	var key account.AccessKey
	err := st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: devUser, Path: "/"}); err != nil {
			return err
		}
		if err := tx.PutInlinePolicy(account.UserRef(devUser), "assume-dev-admin", assume); err != nil {
			return err
		}
		if _, err := tx.CreateRole(account.Role{Name: devRole, Path: "/", AssumeRolePolicy: trust,
			Description: "credbroker serve --dev: administrator of the demo account"}); err != nil {
			return err
		}
		if err := tx.AttachPolicy(account.RoleRef(devRole), "arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
			return err
		}
		var err error
		key, err = tx.CreateAccessKey(devUser)
		return err
	})
	if err != nil {
		return account.AccessKey{}, fmt.Errorf("creating the demo account: %w", err)
	}
	return key, nil
}
