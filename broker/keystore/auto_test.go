package keystore

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
)

// TestAutoBackend: auto takes the Secret Service only where a session bus
// answers. Inside the system service's sandbox 99designs/keyring's init()
// has set $DBUS_SESSION_BUS_ADDRESS to a bus it cannot open: that must
// still pick the kernel keyring.
func TestAutoBackend(t *testing.T) {
	run := t.TempDir()
	bus := filepath.Join(run, "bus")
	ln, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone := filepath.Join(t.TempDir(), "bus") // named, never listened on
	tests := map[string]struct {
		env  map[string]string
		want config.Backend
	}{
		"sandbox: the variable init() set, the bus unreachable": {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + gone}, want: config.BackendKeyctl},
		"desktop session":                      {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + bus}, want: config.BackendSecretService},
		"second address answers":               {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + gone + ";unix:path=" + bus}, want: config.BackendSecretService},
		"a transport not dialled here":         {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "tcp:host=127.0.0.1,port=1"}, want: config.BackendSecretService},
		"bus socket in XDG_RUNTIME_DIR":        {env: map[string]string{"XDG_RUNTIME_DIR": run}, want: config.BackendSecretService},
		"XDG_RUNTIME_DIR without a bus":        {env: map[string]string{"XDG_RUNTIME_DIR": filepath.Dir(gone)}, want: config.BackendKeyctl},
		"bus disabled":                         {env: map[string]string{"DBUS_SESSION_BUS_ADDRESS": "disabled:"}, want: config.BackendKeyctl},
		"no session at all":                    {env: map[string]string{}, want: config.BackendKeyctl},
		"unreadable runtime dir (ProtectHome)": {env: map[string]string{"XDG_RUNTIME_DIR": "/proc/1/root/nonexistent"}, want: config.BackendKeyctl},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := autoBackend(func(k string) string { return tc.env[k] }, dialBus); got != tc.want {
				t.Errorf("autoBackend = %q, want %q", got, tc.want)
			}
		})
	}
}
