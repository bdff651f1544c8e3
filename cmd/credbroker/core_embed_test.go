package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/sts/store"
)

// TestDemoAccount: the account serve --dev builds (DESIGN.md): user dev
// with one key, role dev-admin with AdministratorAccess that dev may assume.
func TestDemoAccount(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenMemory(ctx, devAccount)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := demoAccount(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LookupAccessKey(ctx, key.ID)
	if err != nil || got.UserARN != "arn:aws:iam::123456789012:user/dev" || got.Secret != key.Secret {
		t.Fatalf("dev's key: %+v %v", got, err)
	}
	err = st.View(ctx, func(tx *store.Tx) error {
		r, err := tx.Role(devRole)
		if err != nil {
			return err
		}
		if r.ARN != "arn:aws:iam::123456789012:role/dev-admin" || !slices.Contains(r.ManagedPolicies, "arn:aws:iam::aws:policy/AdministratorAccess") {
			t.Errorf("role %+v", r)
		}
		var trust struct {
			Statement []struct {
				Effect    string
				Principal struct{ AWS string }
				Action    []string
			}
		}
		if err := json.Unmarshal([]byte(r.AssumeRolePolicy), &trust); err != nil || len(trust.Statement) != 1 ||
			trust.Statement[0].Principal.AWS != "arn:aws:iam::123456789012:user/dev" || !slices.Contains(trust.Statement[0].Action, "sts:AssumeRole") {
			t.Errorf("trust policy %s", r.AssumeRolePolicy)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The dev config parses, and gives every caller dev-admin.
	cfg, err := config.Parse([]byte(devConfig), "serve --dev")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultRole != devRole || cfg.Role(devRole) == nil || cfg.Upstream.Kind != config.UpstreamCore || !cfg.Listen.Core.IsValid() {
		t.Errorf("dev config %+v", cfg)
	}
}

// TestCoreSeam: until the core is built, both ways to the core say so.
func TestCoreSeam(t *testing.T) {
	if coreBuilt {
		t.Skip("the core is built")
	}
	cfg, _ := config.Parse([]byte(devConfig), "serve --dev")
	if _, err := openDevCore(nil)(context.Background(), cfg, keystore.NewMemory()); !errors.Is(err, errDevNotBuilt) {
		t.Errorf("dev core: %v", err)
	}
	if _, err := openCore(nil)(context.Background(), cfg, nil); !errors.Is(err, broker.ErrCoreNotBuilt) {
		t.Errorf("core: %v", err)
	}
}
