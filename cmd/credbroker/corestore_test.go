package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	out, errOut, err := runCLI(t, "", append([]string{"core", "init", "--account-id", "123456789012"}, pg...)...)
	if err != nil {
		t.Fatalf("core init on PostgreSQL: %v\n%s", err, errOut)
	}
	m := printedKey.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("core init printed no root key:\n%s", out)
	}
	keyID, secret := m[1], m[2]
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

	out, _, err = runCLI(t, "", append([]string{"core", "rotate-session-key"}, pg...)...)
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
