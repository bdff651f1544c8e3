package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/keystore/keystoretest"
)

// TestE2EDesktopKeyrings: the built binary with the desktop keyrings, as a
// developer uses them: `credbroker keys add` into a real GNOME Keyring's
// default collection (and into a real pass store), `serve` reading the key
// from there, the aws CLI getting the role's session through IMDS; and no
// file anywhere (the services' encrypted stores aside) holding the secret.
func TestE2EDesktopKeyrings(t *testing.T) {
	for name, setUp := range map[string]func(t *testing.T, e *e2e) (keyring string){
		"secret-service": func(t *testing.T, e *e2e) string {
			ss := keystoretest.StartSecretService(t, filepath.Join(e.home, ".local", "share"))
			e.env = append(e.env, "DBUS_SESSION_BUS_ADDRESS="+ss.Addr)
			return `backend = "secret-service"`
		},
		"pass": func(t *testing.T, e *e2e) string {
			p := keystoretest.StartPass(t, filepath.Join(e.home, ".password-store"))
			e.env = append(e.env, "GNUPGHOME="+p.GNUPGHOME)
			return fmt.Sprintf("backend  = \"pass\"\n  pass_dir = %q", p.Dir)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newE2E(t)
			keyring := setUp(t, e)
			e.cfgPath = filepath.Join(e.root, "credbroker.hcl")
			cfg := fmt.Sprintf("region = \"eu-west-1\"\nupstream \"sts\" {\n  endpoint = %q\n  region   = \"eu-west-1\"\n}\nkeyring {\n  %s\n}\n",
				e.sts.URL(), keyring) + e2eRoles()
			if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			e.addKey()
			out, errOut, err := e.run("", "keys", "list", "--config", e.cfgPath)
			if err != nil || !strings.Contains(out, "alice  "+e2eKeyID) {
				t.Fatalf("keys list: %v\n%s%s", err, out, errOut)
			}
			d := e.serve(nil)
			deployKey := e.status().sessionKey("deploy")
			if deployKey == "" {
				t.Fatalf("deploy was not fetched before READY:\n%s", d.stderr.String())
			}
			id := e.awsCLI(t, []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + d.eps.IMDSURL(), "AWS_EC2_METADATA_V1_DISABLED=true", "AWS_DEFAULT_REGION=eu-west-1"})
			if !strings.HasPrefix(id.Arn, "arn:aws:sts::123456789012:assumed-role/deploy/") || id.keyOf() != deployKey {
				t.Errorf("aws used %s as %s; want the deploy session %s", id.keyOf(), id.Arn, deployKey)
			}
			if err := d.stop(); err != nil {
				t.Errorf("serve: %v", err)
			}
			e.noSecretOnDisk(t, d.stderr.String())
		})
	}
}
