package config

import (
	"os"
	"path/filepath"
)

// RuntimeDir resolves the runtime directory as the contract says: flag,
// else $CREDBROKER_RUNTIME_DIR, else $XDG_RUNTIME_DIR/credbroker, else
// /run/credbroker.
func RuntimeDir(flag string, getenv func(string) string) string {
	if flag != "" {
		return flag
	}
	if d := getenv("CREDBROKER_RUNTIME_DIR"); d != "" {
		return d
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "credbroker")
	}
	return "/run/credbroker"
}

// ControlSocketPath is the control socket's path: the configured one, else
// <runtimeDir>/control.sock.
func (l Listen) ControlSocketPath(runtimeDir string) string {
	if l.ControlSocket != "" {
		return l.ControlSocket
	}
	return filepath.Join(runtimeDir, "control.sock")
}

// DefaultPath returns the configuration file to read when --config is not
// given: $CREDBROKER_CONFIG, else the first that exists of
// $XDG_CONFIG_HOME/credbroker/credbroker.hcl (~/.config/… without it, for a
// non-root user) and $CONFIGURATION_DIRECTORY/credbroker.hcl (systemd),
// /etc/credbroker/credbroker.hcl; "" when none does (built-in defaults).
func DefaultPath(getenv func(string) string, uid int) string {
	if p := getenv("CREDBROKER_CONFIG"); p != "" {
		return p
	}
	var candidates []string
	if uid != 0 {
		if d := getenv("XDG_CONFIG_HOME"); d != "" {
			candidates = append(candidates, filepath.Join(d, "credbroker", "credbroker.hcl"))
		} else if h := getenv("HOME"); h != "" {
			candidates = append(candidates, filepath.Join(h, ".config", "credbroker", "credbroker.hcl"))
		}
	}
	if d := getenv("CONFIGURATION_DIRECTORY"); d != "" {
		candidates = append(candidates, filepath.Join(d, "credbroker.hcl"))
	}
	candidates = append(candidates, "/etc/credbroker/credbroker.hcl")
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
