package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/credbroker/credbroker/internal/testtool"
)

// The SDK versions people have, judged for real (issue 12 §3): Debian 12's
// own awscli (2.9.19 on botocore 1.29, which reads only
// AWS_CONTAINER_AUTHORIZATION_TOKEN and ignores AWS_ENDPOINT_URL_*), the
// current aws CLI and boto3 (TestE2E), the Go SDK v2, and the JS SDK v3
// (the legacy fromContainerMetadata reads only the token variable too);
// and users other than the daemon's own.

// jsSDKVersion is the @aws-sdk/credential-providers the test installs.
const jsSDKVersion = "3.1175.0"

// debianAWS returns Debian's own aws CLI (/usr/bin/aws on /usr/bin/python3).
func debianAWS(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/usr/bin/aws")
	if err != nil || !strings.HasPrefix(string(b), "#!/usr/bin/python3") {
		t.Skip("SKIP: Debian's awscli package is not installed (apt-get install awscli; .ci/run does)")
	}
	return "/usr/bin/aws"
}

// jsSDK returns a node_modules holding the JS SDK v3's credential
// providers, installed with npm once into the user cache directory.
func jsSDK(t *testing.T) string {
	t.Helper()
	testtool.Need(t, "node=nodejs")
	npm := testtool.Path(t, "npm")
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "credbroker-test", "js-sdk-"+jsSDKVersion)
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "@aws-sdk", "credential-providers", "package.json")); err == nil {
		return mods
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "@aws-sdk/credential-providers@"+jsSDKVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install @aws-sdk/credential-providers@%s: %v\n%s", jsSDKVersion, err, out)
	}
	return mods
}

const jsScript = `
const { fromContainerMetadata, fromNodeProviderChain } = require("@aws-sdk/credential-providers");
(async () => {
  const legacy = await fromContainerMetadata({ maxRetries: 0, timeout: 2000 })();
  const chain = await fromNodeProviderChain()();
  console.log(JSON.stringify({ legacy: legacy.accessKeyId, chain: chain.accessKeyId }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`

// asUser runs argv as uid (gid 65534) with env, from /.
func asUser(uid uint32, env []string, argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: 65534}}
	return cmd
}

// evalEnv evaluates export lines in sh and returns the AWS_* variables set,
// sorted.
func evalEnv(t *testing.T, lines string) []string {
	t.Helper()
	sh := exec.Command("sh", "-c", lines+"\nenv")
	sh.Env = []string{"PATH=/usr/bin:/bin"}
	got, err := sh.Output()
	if err != nil {
		t.Fatalf("eval of %q: %v", lines, err)
	}
	var vars []string
	for _, line := range strings.Split(string(got), "\n") {
		if strings.HasPrefix(line, "AWS_") {
			vars = append(vars, line)
		}
	}
	slices.Sort(vars)
	return vars
}

func varOf(vars []string, k string) string {
	for _, v := range vars {
		if strings.HasPrefix(v, k+"=") {
			return v[len(k)+1:]
		}
	}
	return ""
}

// containerGet asks the container endpoint with tok, as this process.
func containerGet(t *testing.T, url, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// openToOthers lets other uids reach the binary and the runtime directory.
func (e *e2e) openToOthers(t *testing.T) {
	t.Helper()
	for _, d := range []string{filepath.Dir(e.bin), filepath.Dir(e.root), e.root, e.runtimeDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestE2EOlderSDKsAndOtherUsers(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	d := e.serve(nil)
	deployKey := e.status().sessionKey("deploy")
	out, errOut, err := e.run("", "env", "--runtime-dir", e.runtimeDir)
	if err != nil {
		t.Fatalf("env: %v %s", err, errOut)
	}
	vars := evalEnv(t, out)
	tok := varOf(vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
	file := varOf(vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	if b, err := os.ReadFile(file); err != nil || string(b) != tok || !strings.HasPrefix(tok, "cbu1.") {
		t.Fatalf("env: token %q, file %s holds %q (%v)", tok, file, b, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file %s: %v %v", file, fi, err)
	}
	if again, _, _ := e.run("", "env", "--runtime-dir", e.runtimeDir); again != out {
		t.Errorf("a second env printed other lines:\n%s\nthen\n%s", out, again)
	}
	noPlain := slices.DeleteFunc(slices.Clone(vars), func(v string) bool { return strings.HasPrefix(v, "AWS_CONTAINER_AUTHORIZATION_TOKEN=") })

	t.Run("Debian 12 awscli", func(t *testing.T) {
		aws := debianAWS(t)
		run := func(env []string) (callerIdentity, error) {
			// It ignores AWS_ENDPOINT_URL_STS: the endpoint goes on the command line.
			cmd := e.command(env, aws, "sts", "get-caller-identity", "--endpoint-url", e.sts.URL(), "--output", "json")
			got, err := cmd.Output()
			var id callerIdentity
			if err == nil {
				err = json.Unmarshal(got, &id)
			}
			return id, err
		}
		id, err := run(vars)
		if err != nil || id.keyOf() != deployKey {
			t.Errorf("Debian's aws after eval \"$(credbroker env)\": %+v %v %s; want the deploy session %s", id, err, stderrOf(err), deployKey)
		}
		// What env printed before: the file only. Debian's CLI fails (and
		// does not fall back to IMDS), which is why the variable is there.
		if _, err := run(noPlain); err == nil {
			t.Error("Debian's aws worked without AWS_CONTAINER_AUTHORIZATION_TOKEN: the test no longer proves it is needed")
		}
		// Through exec too (its child gets the plain variable as well).
		out, errOut, err := e.run("", "exec", "deploy", "--", aws, "sts", "get-caller-identity", "--endpoint-url", e.sts.URL(), "--output", "json")
		var id2 callerIdentity
		json.Unmarshal([]byte(out), &id2)
		if err != nil || id2.keyOf() != deployKey {
			t.Errorf("credbroker exec deploy -- Debian's aws: %+v %v %s", id2, err, errOut)
		}
	})
	t.Run("Go SDK v2", func(t *testing.T) {
		for _, v := range vars {
			k, val, _ := strings.Cut(v, "=")
			t.Setenv(k, val)
		}
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(e.home, ".aws", "config"))
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.home, ".aws", "credentials"))
		cfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cr, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil || cr.AccessKeyID != deployKey || cr.Source != "CredentialsEndpointProvider" {
			t.Errorf("Go SDK v2: %s from %s (%v); want %s from the container endpoint", cr.AccessKeyID, cr.Source, err, deployKey)
		}
	})
	t.Run("JS SDK v3", func(t *testing.T) {
		mods := jsSDK(t)
		cmd := e.command(append(slices.Clone(vars), "NODE_PATH="+mods), "node", "-e", jsScript)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, stderrOf(err))
		}
		var keys struct{ Legacy, Chain string }
		json.Unmarshal(got, &keys)
		if keys.Legacy != deployKey || keys.Chain != deployKey {
			t.Errorf("JS SDK v3: fromContainerMetadata %s, fromNodeProviderChain %s; want %s", keys.Legacy, keys.Chain, deployKey)
		}
		// Through exec: a role of its own, for the legacy provider too.
		cmd = e.command([]string{"NODE_PATH=" + mods}, e.bin, "exec", "readonly", "--", "node", "-e", jsScript)
		got, err = cmd.Output()
		keys.Legacy, keys.Chain = "", ""
		json.Unmarshal(got, &keys)
		ro := e.status().sessionKey("readonly")
		if err != nil || keys.Legacy != ro || keys.Chain != ro || ro == "" {
			t.Errorf("exec readonly -- node: %+v %v %s; want %s", keys, err, stderrOf(err), ro)
		}
	})
	t.Run("other users", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("SKIP: running clients as other uids needs root")
		}
		aws := debianAWS(t)
		e.openToOthers(t)
		readonlyKey := e.status().sessionKey("readonly")
		userEnv := func(uid uint32) []string {
			home := filepath.Join(e.root, fmt.Sprintf("home-%d", uid))
			xdg := filepath.Join(e.root, fmt.Sprintf("xdg-%d", uid))
			for _, dir := range []string{home, xdg} {
				os.MkdirAll(dir, 0o700)
				os.Chown(dir, int(uid), 65534)
			}
			return []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + xdg, "CREDBROKER_RUNTIME_DIR=" + e.runtimeDir, "LANG=C.UTF-8"}
		}
		env := userEnv(65534)
		cmd := asUser(65534, env, e.bin, "env")
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("env as uid 65534: %v\n%s", err, stderrOf(err))
		}
		theirs := evalEnv(t, string(got))
		theirTok := varOf(theirs, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
		theirFile := varOf(theirs, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
		if !strings.HasPrefix(theirTok, "cbu1.65534.") || !strings.HasPrefix(theirFile, filepath.Join(e.root, "xdg-65534")) {
			t.Fatalf("env as uid 65534: token %q, file %q", theirTok, theirFile)
		}
		cmd = asUser(65534, append(slices.Clone(env), theirs...), aws, "sts", "get-caller-identity", "--endpoint-url", e.sts.URL(), "--output", "json")
		got, err = cmd.Output()
		var id callerIdentity
		json.Unmarshal(got, &id)
		if err != nil || id.keyOf() != readonlyKey {
			t.Errorf("uid 65534's aws: %+v %v %s; want readonly's %s", id, err, stderrOf(err), readonlyKey)
		}
		// Each token works for its own uid only.
		url := d.eps.ContainerURL()
		if code := containerGet(t, url, theirTok); code != http.StatusForbidden {
			t.Errorf("root presenting uid 65534's token: %d, want 403", code)
		}
		curl := asUser(65534, env, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: "+tok, url)
		if got, err := curl.Output(); err != nil || string(got) != "403" {
			t.Errorf("uid 65534 presenting root's token: %s %v, want 403", got, err)
		}
		// A uid the rules give nothing gets no container lines (SDKs go to
		// IMDS), and is told why.
		cmd = asUser(4321, userEnv(4321), e.bin, "env")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		got, err = cmd.Output()
		if err != nil || strings.Contains(string(got), "AWS_CONTAINER") || !strings.Contains(string(got), "AWS_EC2_METADATA_SERVICE_ENDPOINT") ||
			!strings.Contains(stderr.String(), "no container token for uid 4321") {
			t.Errorf("env as uid 4321: %v\n%s\n%s", err, got, stderr.String())
		}
		// Status and metrics stay the daemon owner's.
		cmd = asUser(65534, env, e.bin, "status")
		if got, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(got), "not uid 65534") {
			t.Errorf("status as uid 65534: %v %s", err, got)
		}
	})
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.runtimeDir, "container.token")); err == nil {
		t.Error("container.token left after stop")
	}
}

// TestE2EExecTokenSIGKILL (issue 12 §4): the token of an exec works for
// its uid only, is withdrawn when exec is SIGKILLed, and the next exec
// removes the dead one's directory. Before the fix the token stayed valid,
// for any uid, and the directory stayed.
func TestE2EExecTokenSIGKILL(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	d := e.serve(nil)
	cmd := e.command(nil, e.bin, "exec", "deploy", "--", "sh", "-c",
		`cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"; echo; echo "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"; exec sleep 60`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	r := bufio.NewReader(stdout)
	tok, _ := r.ReadString('\n')
	file, _ := r.ReadString('\n')
	tok, file = strings.TrimSpace(tok), strings.TrimSpace(file)
	url := d.eps.ContainerURL()
	if code := containerGet(t, url, tok); code != http.StatusOK {
		t.Fatalf("the exec's token: %d, want 200", code)
	}
	if os.Geteuid() == 0 {
		e.openToOthers(t)
		curl := asUser(65534, []string{"PATH=/usr/bin:/bin"}, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: "+tok, url)
		if got, err := curl.Output(); err != nil || string(got) != "403" {
			t.Errorf("uid 65534 presenting root's exec token: %s %v, want 403", got, err)
		}
	} else {
		t.Log("SKIP part: presenting the token as another uid needs root")
	}

	cmd.Process.Kill() // exec only: its child sleeps on
	cmd.Process.Wait() // reaped, as a shell would
	deadline := time.Now().Add(10 * time.Second)
	for containerGet(t, url, tok) != http.StatusForbidden {
		if time.Now().After(deadline) {
			t.Fatal("the token of a SIGKILLed exec still works after 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the dead exec's directory %s: %v (expected until the next exec)", dir, err)
	}
	if out, errOut, err := e.run("", "exec", "deploy", "--", "true"); err != nil {
		t.Fatalf("exec: %v %s %s", err, out, errOut)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the next exec left the dead one's directory %s", dir)
	}
}

// TestE2EUserTokenAcrossRestarts: under systemd's StateDirectory= a user's
// env token survives a restart of the daemon (a package upgrade must not
// break every user's shell: old SDKs do not fall back to IMDS); without one
// the token changes with the daemon's, whose file a stop removes.
func TestE2EUserTokenAcrossRestarts(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	userToken := func(extra []string) (string, string) {
		d := e.serve(extra)
		tok := varOf(e.envLines(t), "AWS_CONTAINER_AUTHORIZATION_TOKEN")
		url := d.eps.ContainerURL()
		if code := containerGet(t, url, tok); code != http.StatusOK {
			t.Fatalf("the user token: %d", code)
		}
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(e.runtimeDir, "container.token")); err == nil {
			t.Error("container.token left after stop")
		}
		return tok, url
	}
	state := []string{"STATE_DIRECTORY=" + e.stateDir}
	first, _ := userToken(state)
	d := e.serve(state)
	if code := containerGet(t, d.eps.ContainerURL(), first); code != http.StatusOK {
		t.Errorf("after a restart with STATE_DIRECTORY, the shell's token gets %d, want 200", code)
	}
	if fi, err := os.Stat(filepath.Join(e.stateDir, userKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("user key file: %v %v", fi, err)
	}
	d.stop()
	// Without a state directory: a new token after every start.
	plain, _ := userToken(nil)
	d = e.serve(nil)
	if code := containerGet(t, d.eps.ContainerURL(), plain); code != http.StatusForbidden {
		t.Errorf("without STATE_DIRECTORY, the old token gets %d after a restart, want 403", code)
	}
}
