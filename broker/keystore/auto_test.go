package keystore

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
)

// TestAutoBackend: auto takes the Secret Service only where the keyring
// library reached a session bus. Inside the system service's sandbox the
// library's init() has set $DBUS_SESSION_BUS_ADDRESS to a bus it could not
// open: that must still pick the kernel keyring.
func TestAutoBackend(t *testing.T) {
	run := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(run, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	noBus := t.TempDir()
	tests := map[string]struct {
		env   map[string]string
		busUp bool
		want  config.Backend
	}{
		"sandbox: variable set by init, bus unreachable": {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/999/bus"}, want: config.BackendKeyctl},
		"desktop session":                     {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}, busUp: true, want: config.BackendSecretService},
		"bus socket in XDG_RUNTIME_DIR":       {env: map[string]string{"XDG_RUNTIME_DIR": run}, busUp: true, want: config.BackendSecretService},
		"bus disabled":                        {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "disabled:", "XDG_RUNTIME_DIR": noBus}, busUp: true, want: config.BackendKeyctl},
		"no session at all":                   {env: map[string]string{}, want: config.BackendKeyctl},
		"XDG_RUNTIME_DIR unreachable, no bus": {env: map[string]string{"XDG_RUNTIME_DIR": run}, want: config.BackendKeyctl},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := autoBackend(func(k string) string { return tc.env[k] }, tc.busUp)
			if got != tc.want {
				t.Errorf("autoBackend = %q, want %q", got, tc.want)
			}
		})
	}
}
