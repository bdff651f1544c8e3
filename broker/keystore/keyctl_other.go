//go:build !linux

package keystore

// keyctlDiagnose has nothing to say where there is no kernel keyring.
func keyctlDiagnose(scope, name string) error { return nil }
