package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exec without a daemon opens the keyring for an embedded core whose master
// key is kept there (the default master_key), as the daemon does, although no
// source reads the keyring: the role's web identity token reaches the core,
// which answers for it. (It used to fail with "no keyring is open".)
func TestExecWithoutDaemonOpensKeyringForCoreMasterKey(t *testing.T) {
	root, cfgPath := keysEnv(t)
	keyring, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "core")
	tokenFile := filepath.Join(root, "token.jwt")
	if err := os.WriteFile(tokenFile, []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := string(keyring) + fmt.Sprintf(`upstream "core" {
  state_dir  = %q
  account_id = "123456789012"
}
source "web_identity" "ci" {
  token_file = %q
}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "ci"
}
`, state, tokenFile)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runCLI(t, "", "core", "init", "--config", cfgPath); err != nil {
		t.Fatalf("core init: %v\n%s", err, errOut)
	}
	_, errOut, err := runCLI(t, "", "exec", "--config", cfgPath, "--runtime-dir", filepath.Join(root, "no-daemon"), "deploy", "--", "true")
	if err == nil {
		t.Fatal("exec succeeded with a token no provider issued")
	}
	if msg := err.Error() + errOut; strings.Contains(msg, "no keyring is open") || !strings.Contains(msg, "InvalidIdentityToken") {
		t.Fatalf("exec did not reach the core with its master key: %v\n%s", err, errOut)
	}
}
