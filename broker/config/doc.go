// Package config reads the broker's HCL configuration file.
//
// The pipeline is Parse (syntax and types, through gohcl) → defaults and
// resolution (durations, addresses, profiles of ~/.aws/config) → Validate,
// which never mutates and reports every problem with its file, line, column
// and the fix. Load runs all three and returns a *Config only when it is
// valid, so a daemon can load a new file on SIGHUP and keep serving the old
// one when the new one is bad.
//
// The format is documented in README.md ("Configuration") and by the
// commented example at packaging/credbroker.hcl, which the tests parse.
package config
