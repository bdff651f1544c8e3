package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/internal/pgtest"
	"github.com/credbroker/credbroker/sts/store"
)

// TestCoreOnPostgres: core init on PostgreSQL (--core-store, the password from a file),
// export --to a bbolt file and import --from it into another database lose nothing
// (root's key opens in each), and rotate-session-key adds a key in the database.
func TestCoreOnPostgres(t *testing.T) {
	c := pgtest.Shared(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credbroker.hcl")
	if err := os.WriteFile(cfg, []byte("region = \"eu-west-1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk := filepath.Join(dir, "master.key")
	url := c.NewDatabase(t)
	pg := []string{"--config", cfg, "--master-key-file", mk, "--core-store", url, "--core-store-password-file", c.PasswordFile()}
	_, _, keyID, secret := initCore(t, pg...)
	if _, _, err := runCLI(t, "", append([]string{"core", "init"}, pg...)...); err == nil || !strings.Contains(err.Error(), "already holds a core") {
		t.Errorf("second init on PostgreSQL: %v", err)
	}
	// The password is refused in the URL, without being echoed.
	bad := strings.Replace(url, "credbroker@", "credbroker:hunter2@", 1)
	if _, _, err := runCLI(t, "", "core", "export", "--config", cfg, "--master-key-file", mk, "--core-store", bad); err == nil ||
		strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "file") {
		t.Errorf("a password in --core-store: %v", err)
	}

	// PostgreSQL -> bbolt -> another database.
	file := filepath.Join(dir, "copy", "core.db")
	if out, _, err := runCLI(t, "", append([]string{"core", "export", "--to", file}, pg...)...); err != nil || !strings.Contains(out, "Copied") {
		t.Fatalf("export --to %s: %v %s", file, err, out)
	}
	url2 := c.NewDatabase(t)
	pg2 := []string{"--config", cfg, "--master-key-file", mk, "--core-store", url2, "--core-store-password-file", c.PasswordFile()}
	if out, _, err := runCLI(t, "", append([]string{"core", "import", "--from", file}, pg2...)...); err != nil || !strings.Contains(out, "Copied") {
		t.Fatalf("import --from %s: %v %s", file, err, out)
	}
	if _, _, err := runCLI(t, "", append([]string{"core", "import", "--from", file}, pg2...)...); err == nil || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("a second import --from: %v", err)
	}
	ctx := context.Background()
	for _, loc := range []string{url, file, url2} {
		db, err := store.OpenDB(ctx, loc, c.PasswordFile())
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, db, store.FileKey(mk))
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		k, err := st.LookupAccessKey(ctx, keyID)
		st.Close()
		if err != nil || k.Secret != secret {
			t.Errorf("root's key in %s: %v (secret matches: %v)", loc, err, k.Secret == secret)
		}
	}

	out, _, err := runCLI(t, "", append([]string{"core", "rotate-session-key"}, pg...)...)
	if err != nil || !strings.Contains(out, "signed with key") {
		t.Fatalf("rotate-session-key: %v %s", err, out)
	}
	db, err := store.OpenDB(ctx, url, c.PasswordFile())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, db, store.FileKey(mk))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kid := strings.TrimSpace(out[strings.LastIndex(out, " ")+1:])
	kid = strings.TrimSuffix(kid, ".")
	err = st.View(ctx, func(tx *store.Tx) error {
		names, err := tx.SecretNames("sts/session-key/")
		// The newest by name signs: it must be the key just made, even within one second.
		if len(names) != 2 || names[1] != "sts/session-key/"+kid {
			t.Errorf("session keys after rotate-session-key = %v, want the new %s last", names, kid)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCoreStoreLocation pins the one rule by which the core subcommands find
// the store (coreFlags.locate): --state-dir, else the config's state_dir unless
// --core-store names the store; --core-store, else the config's store, else
// core.db there. The hints repeat a state directory only when it played a part.
func TestCoreStoreLocation(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(pw, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const url = "postgres://credbroker@db/credbroker"
	core := config.Upstream{Kind: config.UpstreamCore, StateDir: "/cfg/state"}
	coreOnPG := config.Upstream{Kind: config.UpstreamCore, StateDir: "/cfg/state", Store: url, StorePasswordFile: pw}
	sts := config.Upstream{Kind: config.UpstreamSTS}
	cases := map[string]struct {
		up                  config.Upstream
		stateDir, coreStore string
		want                coreLocation
		wantErr             string
	}{
		"the config's state_dir":         {up: core, want: coreLocation{stateDir: "/cfg/state", store: "/cfg/state/core.db"}},
		"--state-dir":                    {up: core, stateDir: "/flag", want: coreLocation{stateDir: "/flag", store: "/flag/core.db"}},
		"--core-store alone":             {up: core, coreStore: "/x/y.db", want: coreLocation{store: "/x/y.db"}},
		"--core-store and --state-dir":   {up: core, stateDir: "/flag", coreStore: "/x/y.db", want: coreLocation{stateDir: "/flag", store: "/x/y.db"}},
		"the config's store":             {up: coreOnPG, want: coreLocation{stateDir: "/cfg/state", store: url, passwordFile: pw}},
		"--core-store over the config's": {up: coreOnPG, coreStore: "/x/y.db", want: coreLocation{store: "/x/y.db", passwordFile: pw}},
		"sts upstream":                   {up: sts, wantErr: `the config's upstream is "sts", not the embedded core`},
		"sts upstream, --state-dir":      {up: sts, stateDir: "/flag", want: coreLocation{stateDir: "/flag", store: "/flag/core.db"}},
		"sts upstream, --core-store":     {up: sts, coreStore: url, want: coreLocation{store: url}},
	}
	for name, c := range cases {
		f := &coreFlags{stateDir: c.stateDir, store: storeFlags{location: c.coreStore}}
		got, err := f.locate(&config.Config{Upstream: c.up})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %+v, %v; want an error with %q", name, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, c.want)
		}
	}

	// The copies follow the same rule: with an STS upstream and no flag naming
	// the store, export --to and import --from refuse (they used to copy
	// core.db of the working directory).
	dir := t.TempDir()
	cfg := filepath.Join(dir, "credbroker.hcl")
	if err := os.WriteFile(cfg, []byte("upstream \"sts\" {\n  region = \"eu-west-1\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"core", "export", "--to", filepath.Join(dir, "copy.db")},
		{"core", "import", "--from", filepath.Join(dir, "copy.db")},
	} {
		if _, _, err := runCLI(t, "", append(args, "--config", cfg)...); err == nil || !strings.Contains(err.Error(), "not the embedded core") {
			t.Errorf("%s with an STS upstream: %v", strings.Join(args[:3], " "), err)
		}
	}
}
