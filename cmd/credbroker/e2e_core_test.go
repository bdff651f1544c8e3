package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2ECoreHost is the persistent embedded core as a host runs it: `core
// init` makes the account and shows the root key once; root, with the real
// aws CLI against the core `serve` exposes, creates a user and a role for it;
// the user's key goes to the keyring with `keys add`; after a restart (the
// account is on disk, encrypted under the master key file) the broker hands
// that role to the aws CLI through IMDS.
func TestE2ECoreHost(t *testing.T) {
	needTools(t, "aws=awscli")
	e := newE2E(t)
	const acct = "111122223333"
	state := filepath.Join(e.root, "core")
	keyFile := filepath.Join(e.root, "master.key")
	writeCfg := func(roles string) { e.writeCoreConfig(state, acct, keyFile, roles) }
	appRole := fmt.Sprintf(`source "keyring" "ops" {}
role "app" {
  arn    = "arn:aws:iam::%s:role/app"
  source = "ops"
}
default_role = "app"
`, acct)
	// serve before init, with a role, names the fix and exits.
	writeCfg(appRole)
	out, errOut, err := e.run("", "serve", "--config", e.cfgPath, "--runtime-dir", e.runtimeDir,
		"--imds-addr", "127.0.0.1:0", "--container-addr", "127.0.0.1:0", "--core-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(out+errOut, "credbroker core init") {
		t.Fatalf("serve with no core: %v\n%s%s", err, out, errOut)
	}
	// With no roles yet (the packaged config on a fresh host) it starts,
	// serves no role, and names the fix.
	writeCfg("")
	idle := e.serve(nil)
	idle.stderr.WaitFor(t, "credbroker core init", 10*time.Second)
	if err := idle.stop(); err != nil {
		t.Fatalf("serve with no roles and no core: %v\n%s", err, idle.stderr.String())
	}

	rootID, rootSecret := e.coreInit(keyFile, acct)
	if _, _, err := e.run("", "core", "init", "--config", e.cfgPath, "--master-key-file", keyFile, "--account-id", acct); err == nil {
		t.Fatal("a second core init succeeded")
	}

	// Root administers the account through the core listener.
	d := e.serve(nil, "--core-addr", "127.0.0.1:0")
	root := coreRootEnv(rootID, rootSecret, "http://"+d.eps.Core)
	awsAs := e.mustAWS
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:user/ops"},"Action":"sts:AssumeRole"}]}`, acct)
	allow := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::%s:role/app"}]}`, acct)
	awsAs(root, "iam", "create-user", "--user-name", "ops")
	awsAs(root, "iam", "put-user-policy", "--user-name", "ops", "--policy-name", "assume-app", "--policy-document", allow)
	awsAs(root, "iam", "create-role", "--role-name", "app", "--assume-role-policy-document", trust)
	awsAs(root, "iam", "attach-role-policy", "--role-name", "app", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal(awsAs(root, "iam", "create-access-key", "--user-name", "ops"), &key); err != nil || key.AccessKey.SecretAccessKey == "" {
		t.Fatalf("create-access-key: %v", err)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, d.stderr.String())
	}

	// The user's key into the keyring (stdin, never argv), a role for every caller.
	if out, errOut, err := e.run(key.AccessKey.AccessKeyId+"\n"+key.AccessKey.SecretAccessKey+"\n", "keys", "add", "ops", "--config", e.cfgPath); err != nil {
		t.Fatalf("keys add: %v\n%s%s", err, out, errOut)
	}
	writeCfg(appRole)
	d = e.serve(nil, "--core-addr", "127.0.0.1:0")
	defer d.stop()
	imdsEnv := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + d.eps.IMDS + "/", "AWS_EC2_METADATA_V1_DISABLED=true",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL_STS=http://" + d.eps.Core}
	var id callerIdentity
	if err := json.Unmarshal(awsAs(imdsEnv, "sts", "get-caller-identity"), &id); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.Arn, "arn:aws:sts::"+acct+":assumed-role/app/") {
		t.Errorf("through IMDS after a restart: %+v", id)
	}
	// The secrets are encrypted at rest: neither key is in the state directory.
	for _, secret := range []string{rootSecret, key.AccessKey.SecretAccessKey} {
		filepath.WalkDir(state, func(p string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
					t.Errorf("%s holds a secret access key in the clear", p)
				}
			}
			return nil
		})
	}
}
