package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// keysBackend sets up a real keyring inside keysEnv's directory root,
// rewrites the config at cfgPath to use it and returns how the CLI names it.
type keysBackend func(t *testing.T, root, cfgPath string) string

// keysBackends are the real keyrings `credbroker keys` is tested on: each
// sets up its service inside keysEnv's directory, rewrites the config to
// use it and returns how the CLI names it.
var keysBackends = map[string]keysBackend{
	"keyctl": func(*testing.T, string, string) string { return "kernel keyring" },
	"secret-service": func(t *testing.T, root, cfgPath string) string {
		ss := keystoretest.StartSecretService(t, os.Getenv("XDG_DATA_HOME"))
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", ss.Addr)
		writeKeyringConfig(t, cfgPath, `backend = "secret-service"`)
		return "Secret Service default collection"
	},
	"pass": func(t *testing.T, root, cfgPath string) string {
		p := keystoretest.StartPass(t, filepath.Join(os.Getenv("HOME"), ".password-store"))
		writeKeyringConfig(t, cfgPath, fmt.Sprintf("backend = \"pass\"\n  pass_dir = %q", p.Dir))
		return "pass store"
	},
}

// onEachKeysBackend runs test once per real keyring backend.
func onEachKeysBackend(t *testing.T, test func(*testing.T, keysBackend)) {
	for name, setUp := range keysBackends {
		t.Run(name, func(t *testing.T) { test(t, setUp) })
	}
}
