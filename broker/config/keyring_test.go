package config

import "testing"

// TestKeyringCollection: keyring { collection } names the Secret Service
// collection; without it, the default collection ("").
func TestKeyringCollection(t *testing.T) {
	for src, want := range map[string]string{
		``:                                       "",
		`keyring { backend = "secret-service" }`: "",
		`keyring { collection = "login" }`:       "login",
		`keyring { collection = "Work keys" }`:   "Work keys",
	} {
		if cfg := parseOK(t, src); cfg.Keyring.Collection != want {
			t.Errorf("%s: collection %q, want %q", src, cfg.Keyring.Collection, want)
		}
	}
}
