package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ec2imds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/internal/testtool"
)

func e2eRoles() string {
	return fmt.Sprintf(`
source "keyring" "alice" {}
source "role" "via-deploy" {
  role = "deploy"
}
role "deploy" {
  arn    = "arn:aws:iam::123456789012:role/deploy"
  source = "alice"
}
role "readonly" {
  arn    = "arn:aws:iam::123456789012:role/readonly"
  source = "via-deploy"
}
role "mine" {
  arn          = "arn:aws:iam::123456789012:role/mine"
  source       = "alice"
  session_name = "cb-{user}"
}
client "me" {
  uids        = [%d]
  role        = "deploy"
  allow_roles = ["readonly", "mine"]
}
client "nobody" {
  uids = [65534]
  role = "readonly"
}
`, os.Getuid())
}

// callerIdentity is what `aws sts get-caller-identity` and the boto3
// script print.
type callerIdentity struct {
	Arn    string `json:"Arn"`
	UserID string `json:"UserId"`
	Key    string `json:"key"`
	Method string `json:"method"`
}

// keyOf is the access key id that signed (the STS fake puts it in UserId).
func (c callerIdentity) keyOf() string {
	_, k, _ := strings.Cut(c.UserID, ":")
	return k
}

const boto3Script = `
import boto3, json
s = boto3.Session()
c = s.get_credentials()
ident = s.client("sts").get_caller_identity()
print(json.dumps({"Arn": ident["Arn"], "UserId": ident["UserId"], "key": c.get_frozen_credentials().access_key, "method": c.method}))
`

// awsCLI is the caller identity the aws CLI gets, with args before the command.
func (e *e2e) awsCLI(t *testing.T, extra []string, args ...string) callerIdentity {
	t.Helper()
	out, err := e.aws(append([]string{"AWS_ENDPOINT_URL_STS=" + e.sts.URL()}, extra...), append(args, "sts", "get-caller-identity")...)
	if err != nil {
		t.Fatalf("aws %v: %v\n%s", args, err, stderrOf(err))
	}
	var id callerIdentity
	if err := json.Unmarshal(out, &id); err != nil {
		t.Fatalf("aws output %q: %v", out, err)
	}
	return id
}

func (e *e2e) boto3(t *testing.T, extra []string) callerIdentity {
	t.Helper()
	cmd := e.command(append([]string{"AWS_ENDPOINT_URL_STS=" + e.sts.URL()}, extra...), "python3", "-c", boto3Script)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderrOf(err))
	}
	var id callerIdentity
	if err := json.Unmarshal(out, &id); err != nil {
		t.Fatalf("boto3 output %q: %v", out, err)
	}
	return id
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// envLines runs `credbroker env` and returns its variables, unquoted as a
// shell would (what `eval "$(credbroker env)"` sets).
func (e *e2e) envLines(t *testing.T) []string {
	t.Helper()
	out, errOut, err := e.run("", "env", "--runtime-dir", e.runtimeDir)
	if err != nil {
		t.Fatalf("env: %v %s", err, errOut)
	}
	return evalEnv(t, out)
}

func TestE2E(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	d := e.serve(nil)
	st := e.status()
	deployKey := st.sessionKey("deploy")
	if deployKey == "" {
		t.Fatalf("deploy was not fetched before READY: %+v", st)
	}
	wantARN := func(role string) string {
		h, _ := os.Hostname()
		return "arn:aws:sts::123456789012:assumed-role/" + role + "/credbroker-" + h
	}
	imdsEnv := []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + d.eps.IMDSURL(), "AWS_EC2_METADATA_V1_DISABLED=true", "AWS_DEFAULT_REGION=eu-west-1"}

	t.Run("aws CLI through IMDS", func(t *testing.T) {
		id := e.awsCLI(t, imdsEnv)
		if id.Arn != wantARN("deploy") || id.keyOf() != deployKey {
			t.Errorf("aws used %s as %s; want the deploy session %s", id.keyOf(), id.Arn, deployKey)
		}
	})
	t.Run("boto3 through IMDS", func(t *testing.T) {
		id := e.boto3(t, imdsEnv)
		if id.Arn != wantARN("deploy") || id.Key != deployKey || id.keyOf() != deployKey || id.Method != "iam-role" {
			t.Errorf("boto3: %+v; want the deploy session %s through iam-role", id, deployKey)
		}
	})
	t.Run("env", func(t *testing.T) {
		vars := e.envLines(t)
		tok, file := varOf(vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), varOf(vars, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
		if b, err := os.ReadFile(file); err != nil || string(b) != tok || !strings.HasPrefix(tok, fmt.Sprintf("cbu1.%d.", os.Getuid())) {
			t.Errorf("env: token %q, its file %q holds %q (%v)", tok, file, b, err)
		}
		want := []string{
			"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + tok,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + file,
			"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + d.eps.ContainerURL(),
			"AWS_DEFAULT_REGION=eu-west-1",
			"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + d.eps.IMDSURL(),
			"AWS_REGION=eu-west-1",
		}
		if !slices.Equal(vars, want) {
			t.Errorf("eval \"$(credbroker env)\" sets\n%s\nwant\n%s", strings.Join(vars, "\n"), strings.Join(want, "\n"))
		}
		fi, err := os.Stat(filepath.Join(e.runtimeDir, control.TokenFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("token file: %v %v", fi, err)
		}
		fi, err = os.Stat(filepath.Join(e.runtimeDir, control.SocketFile))
		if err != nil || fi.Mode().Perm() != 0o666 || fi.Mode()&fs.ModeSocket == 0 {
			t.Errorf("control socket: %v %v", fi, err)
		}
		// Through the container endpoint, as eval "$(credbroker env)" leaves it.
		cli := e.awsCLI(t, vars)
		py := e.boto3(t, vars)
		if cli.keyOf() != deployKey || py.keyOf() != deployKey || py.Method != "container-role" {
			t.Errorf("through the container endpoint: aws %+v boto3 %+v; want %s", cli, py, deployKey)
		}
	})
	t.Run("credential-process", func(t *testing.T) {
		conf := fmt.Sprintf("[profile deploy]\ncredential_process = %s credential-process deploy\n\n[profile ro]\ncredential_process = %s credential-process readonly\n\n[profile nope]\ncredential_process = %s credential-process nope\n",
			e.bin, e.bin, e.bin)
		if err := os.WriteFile(filepath.Join(e.home, ".aws", "config"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(e.home, ".aws", "config"))
		id := e.awsCLI(t, []string{"AWS_DEFAULT_REGION=eu-west-1"}, "--profile", "deploy")
		if id.keyOf() != deployKey {
			t.Errorf("profile deploy used %s, want %s", id.keyOf(), deployKey)
		}
		if id := e.awsCLI(t, []string{"AWS_DEFAULT_REGION=eu-west-1"}, "--profile", "ro"); id.Arn != wantARN("readonly") {
			t.Errorf("profile ro: %s", id.Arn)
		}
		cmd := e.command([]string{"AWS_ENDPOINT_URL_STS=" + e.sts.URL(), "AWS_DEFAULT_REGION=eu-west-1"}, "aws", "--profile", "nope", "sts", "get-caller-identity")
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no such role") {
			t.Errorf("profile nope: %v %s", err, out)
		}
		out, _, err := e.run("", "credential-process", "deploy")
		var pc map[string]any
		if err != nil || json.Unmarshal([]byte(out), &pc) != nil || pc["Version"] != float64(1) || pc["AccessKeyId"] != deployKey {
			t.Errorf("credential-process printed %s (%v)", out, err)
		}
		// Speed: the whole process, start to JSON, while the daemon holds
		// the session, against the same binary's bare start (`version`) in
		// the same run, interleaved: the machine is shared, so the test
		// bounds what credential-process adds (loading the config and a
		// control-socket round trip), not wall-clock time. The fastest runs
		// bound the cost: a real regression raises the minimum too, while
		// load from other processes moves the medians by more than the
		// budget (seen: +10.5 ms median, +1 ms minimum, same binary). A
		// burst of load can still lift one round's minimum (seen: 10.2 ms
		// at load 15), so a round over budget is measured again, up to
		// three times: a regression is over budget every time.
		var extra time.Duration
		for attempt := 1; attempt <= 3; attempt++ {
			if extra = credentialProcessExtra(t, e); extra <= 10*time.Millisecond {
				break
			}
			t.Logf("round %d: %v over a bare start, more than the 10ms budget", attempt, extra)
		}
		if extra > 10*time.Millisecond {
			t.Errorf("credential-process adds %v over a bare start in each of 3 rounds, want ≤ 10ms", extra)
		}
	})
	t.Run("other users", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("running clients as other uids needs root")
		}
		curl := testtool.Path(t, "curl")
		// An IMDSv2 client as uid: token, role list, credentials.
		imdsAs := func(uid uint32) (role string, key string, code int) {
			script := fmt.Sprintf(`set -e
base=%s
tok=$(%s -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "${base}latest/api/token")
out=$(%s -s -w '\n%%{http_code}' -H "X-aws-ec2-metadata-token: $tok" "${base}latest/meta-data/iam/security-credentials/")
code=$(echo "$out" | tail -n 1)
role=$(echo "$out" | head -n 1)
if [ "$code" != 200 ]; then echo "$code"; exit 0; fi
key=$(%s -sf -H "X-aws-ec2-metadata-token: $tok" "${base}latest/meta-data/iam/security-credentials/$role" | sed -n 's/.*"AccessKeyId" *: *"\([^"]*\)".*/\1/p')
echo "200 $role $key"`, d.eps.IMDSURL(), curl, curl, curl)
			out, err := asUser(uid, []string{"PATH=/usr/bin:/bin"}, "sh", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("client as %d: %v %s", uid, err, out)
			}
			f := strings.Fields(string(out))
			code, _ = strconv.Atoi(f[0])
			if len(f) == 3 {
				return f[1], f[2], code
			}
			return "", "", code
		}
		role, key, code := imdsAs(65534)
		readonlyKey := e.status().sessionKey("readonly")
		if code != 200 || role != "readonly" || key != readonlyKey || key == deployKey {
			t.Errorf("uid 65534 got %d %q %q; want readonly's %s", code, role, key, readonlyKey)
		}
		if _, _, code := imdsAs(4321); code != 404 {
			t.Errorf("uid 4321 (no rule) got %d, want 404", code)
		}
	})
	t.Run("exec", func(t *testing.T) {
		out, errOut, err := e.run("", "exec", "mine", "--", "python3", "-c", boto3Script)
		if err != nil {
			t.Fatalf("exec: %v\n%s", err, errOut)
		}
		var id callerIdentity
		json.Unmarshal([]byte(out), &id)
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		if id.Arn != "arn:aws:sts::123456789012:assumed-role/mine/cb-"+me.Username || id.Method != "container-role" {
			t.Errorf("exec mine: %+v", id)
		}
		// No IMDS variable reaches the command; the container ones do.
		out, _, err = e.run("", "exec", "deploy", "--", "sh", "-c", "echo ${AWS_EC2_METADATA_SERVICE_ENDPOINT:-none} ${AWS_CONTAINER_CREDENTIALS_FULL_URI:+set} ${CREDBROKER_ROLE}")
		if err != nil || strings.TrimSpace(out) != "none set deploy" {
			t.Errorf("exec env: %q %v", out, err)
		}
		// The exit code passes through.
		_, _, err = e.run("", "exec", "deploy", "--", "sh", "-c", "exit 7")
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
			t.Errorf("exit code: %v", err)
		}
		// A role the rules do not give is refused.
		if _, errOut, err := e.run("", "exec", "nope", "--", "true"); err == nil || !strings.Contains(errOut, "no such role") {
			t.Errorf("exec nope: %v %s", err, errOut)
		}
		// Signals are passed on: the command traps TERM and exits 42.
		cmd := e.command(nil, e.bin, "exec", "deploy", "--", "sh", "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done`)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			t.Fatalf("child said %q", line)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 {
			t.Errorf("after SIGTERM: %v, want exit 42", err)
		}
	})
	t.Run("upstream down", func(t *testing.T) {
		e.sts.Stop()
		defer e.sts.Start()
		cmd := e.command(imdsEnv, "python3", "-c", "import boto3; print(boto3.Session().get_credentials().get_frozen_credentials().access_key)")
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != deployKey {
			t.Errorf("with the upstream down: %q %v %s, want the cached %s", out, err, stderrOf(err), deployKey)
		}
		if st := e.status(); st.sessionKey("deploy") != deployKey {
			t.Errorf("status with the upstream down: %+v", st)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		m, err := control.NewClient(d.eps.ControlSocket).Metrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`credbroker_credentials_served_total{endpoint="imds",role="deploy"}`, `credbroker_credentials_served_total{endpoint="container",role="deploy"}`,
			`credbroker_credentials_served_total{endpoint="control",role="deploy"}`, `credbroker_session_expiry_seconds{caller="",role="deploy"}`} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	if err := d.stop(); err != nil {
		t.Errorf("serve exited with %v\n%s", err, d.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(e.runtimeDir, control.EndpointsFile)); err == nil {
		t.Error("endpoints.json left after a stop")
	}
	// The audit log has a line per credential handed out, and no secret.
	log := d.stderr.String()
	if !strings.Contains(log, "credentials handed out") || !strings.Contains(log, "access_key_id="+deployKey) {
		t.Errorf("no audit lines in the log")
	}
	t.Run("no secret on disk", func(t *testing.T) {
		e.noSecretOnDisk(t, log)
	})
}

// noSecretOnDisk: after keys add, serve and fetches, no file under HOME,
// the state or runtime directory, the test's root, or /tmp holds the
// long-term secret; nor does the daemon's log.
func (e *e2e) noSecretOnDisk(t *testing.T, log string) {
	if strings.Contains(log, e.secret) {
		t.Error("the daemon's log holds the secret key")
	}
	tmp := os.TempDir()
	for _, root := range []string{e.home, e.stateDir, e.runtimeDir, e.root, "/tmp", tmp} {
		filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable or vanished: not ours
			}
			if de.IsDir() || !de.Type().IsRegular() {
				return nil
			}
			if fi, err := de.Info(); err != nil || fi.Size() > 32<<20 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), e.secret) {
				t.Errorf("%s holds the secret access key", p)
			}
			return nil
		})
	}
}

// TestE2EExecWithoutDaemon: with no daemon, exec serves the container
// endpoint in its own process for as long as the command runs.
func TestE2EExecWithoutDaemon(t *testing.T) {
	e := newE2E(t)
	e.writeConfig(e2eRoles())
	e.addKey()
	out, errOut, err := e.run("", "exec", "--config", e.cfgPath, "deploy", "--", "python3", "-c", boto3Script)
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, errOut)
	}
	var id callerIdentity
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if arn, ok := e.sts.Issued(id.Key); !ok || !strings.Contains(arn, "assumed-role/deploy/") || id.Method != "container-role" {
		t.Errorf("exec without a daemon: %+v (%q)", id, arn)
	}
	_, _, err = e.run("", "exec", "--config", e.cfgPath, "deploy", "--", "sh", "-c", "kill -TERM $$")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(syscall.SIGTERM) {
		t.Errorf("a command killed by SIGTERM: %v, want exit 143", err)
	}
	e.noSecretOnDisk(t, errOut)
}

// TestE2EDev: serve --dev, then the AWS CLI and boto3, pointed at it by
// `credbroker env`, are the assumed role dev-admin at the embedded core.
func TestE2EDev(t *testing.T) {
	e := newE2E(t)
	e.serveDev().stderr.WaitFor(t, "export AWS_ENDPOINT_URL_STS=", 5*time.Second)
	vars := e.envLines(t)
	if !slices.ContainsFunc(vars, func(v string) bool { return strings.HasPrefix(v, "AWS_ENDPOINT_URL_IAM=http://127.0.0.1:") }) {
		t.Fatalf("env: %q", vars)
	}
	base := slices.DeleteFunc(slices.Clone(e.env), func(v string) bool { return strings.HasPrefix(v, "AWS_ENDPOINT_URL_STS=") })
	for _, via := range []string{"container", "imds"} {
		env := append(slices.Clone(base), vars...)
		if via == "imds" {
			env = slices.DeleteFunc(env, func(v string) bool { return strings.HasPrefix(v, "AWS_CONTAINER_") })
			env = append(env, "AWS_EC2_METADATA_V1_DISABLED=true")
		}
		for _, argv := range [][]string{{"aws", "sts", "get-caller-identity", "--output", "json"}, {"python3", "-c", boto3Script}} {
			c := exec.Command(argv[0], argv[1:]...)
			c.Env, c.Dir = env, e.home
			got, err := c.Output()
			if err != nil {
				t.Fatalf("%s via %s: %v\n%s", argv[0], via, err, stderrOf(err))
			}
			var id callerIdentity
			json.Unmarshal(got, &id)
			if !strings.HasPrefix(id.Arn, "arn:aws:sts::123456789012:assumed-role/dev-admin/") {
				t.Errorf("%s via %s: %s", argv[0], via, got)
			}
		}
	}
	// IAM is served too: the CLI, as dev-admin, sees the demo user and the
	// instance profile of dev-admin; IMDS iam/info reports that very profile.
	env := append(slices.Clone(base), vars...)
	c := exec.Command("aws", "iam", "list-users", "--output", "json")
	c.Env, c.Dir = env, e.home
	got, err := c.Output()
	if err != nil || !strings.Contains(string(got), `"UserName": "dev"`) {
		t.Fatalf("iam list-users: %v %s\n%s", err, got, stderrOf(err))
	}
	c = exec.Command("aws", "iam", "get-instance-profile", "--instance-profile-name", "dev-admin", "--output", "json")
	c.Env, c.Dir = env, e.home
	if got, err = c.Output(); err != nil {
		t.Fatalf("iam get-instance-profile: %v\n%s", err, stderrOf(err))
	}
	// exec in a fresh shell (no AWS_* at all), ROLE's flags after it, as
	// its --help example runs: the core's endpoints reach the command.
	c = exec.Command(e.bin, "exec", "dev-admin", "--runtime-dir", e.runtimeDir, "--", "python3", "-c", boto3Script)
	c.Env, c.Dir = base, e.home
	if got, err := c.Output(); err != nil || !strings.Contains(string(got), "assumed-role/dev-admin/") {
		t.Errorf("exec dev-admin --runtime-dir DIR -- python3 (sts): %v %s\n%s", err, got, stderrOf(err))
	}
	c = exec.Command(e.bin, "exec", "dev-admin", "--runtime-dir", e.runtimeDir, "--", "aws", "iam", "list-users", "--output", "json")
	c.Env, c.Dir = base, e.home
	if got, err := c.Output(); err != nil || !strings.Contains(string(got), `"UserName": "dev"`) {
		t.Errorf("exec dev-admin -- aws iam list-users: %v %s\n%s", err, got, stderrOf(err))
	}
	var ip struct {
		InstanceProfile struct{ InstanceProfileId, Arn string }
	}
	json.Unmarshal(got, &ip)
	eps, err := control.ReadEndpoints(e.runtimeDir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ec2imds.New(ec2imds.Options{Endpoint: "http://" + eps.IMDS + "/"}).GetIAMInfo(context.Background(), nil)
	if err != nil || info.InstanceProfileArn != ip.InstanceProfile.Arn || info.InstanceProfileID != ip.InstanceProfile.InstanceProfileId || ip.InstanceProfile.Arn == "" {
		t.Errorf("IMDS iam/info %+v, %v; the core's profile %+v", info.IAMInfo, err, ip.InstanceProfile)
	}
}

// credentialProcessExtra runs `credential-process deploy` and `version` 15
// times each, interleaved, and returns how much the fastest credential-process
// took over the fastest bare start.
func credentialProcessExtra(t *testing.T, e *e2e) time.Duration {
	t.Helper()
	var took, base []time.Duration
	for range 15 {
		start := time.Now()
		if _, _, err := e.run("", "version"); err != nil {
			t.Fatal(err)
		}
		base = append(base, time.Since(start))
		start = time.Now()
		if _, _, err := e.run("", "credential-process", "deploy"); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	slices.Sort(base)
	t.Logf("credential-process end to end: median %v (min %v, max %v); credbroker version: median %v (min %v)",
		took[7], took[0], took[14], base[7], base[0])
	return took[0] - base[0]
}

// TestE2EMFACommand is `credbroker mfa` as a person runs it: a role with
// mfa_serial waits (needs-human, and credential-process names the fix) until
// the code, read from stdin and never from argv, reaches the daemon; a wrong
// code is refused with STS's answer; a right one starts the MFA session, and
// the role is served from it.
func TestE2EMFACommand(t *testing.T) {
	needTools(t)
	e := newE2E(t)
	const serial, code = "arn:aws:iam::123456789012:mfa/alice", "493817"
	e.writeConfig(`
source "keyring" "alice" {}
role "admin" {
  arn        = "arn:aws:iam::123456789012:role/admin"
  source     = "alice"
  mfa_serial = "` + serial + `"
}
default_role = "admin"
`)
	e.addKey()
	e.sts.SetMFACode(serial, code)
	d := e.serve(nil)
	defer d.stop()

	if !e.waitNeedsHuman("admin", 10*time.Second) {
		t.Fatalf("admin never showed needs-human: %+v", e.status())
	}
	if _, errOut, err := e.run("", "credential-process", "admin"); err == nil || !strings.Contains(errOut, "credbroker mfa admin") {
		t.Errorf("credential-process before mfa: %v\n%s", err, errOut)
	}
	if out, errOut, err := e.run("000000\n", "mfa", "admin"); err == nil || !strings.Contains(errOut, "MFA") || strings.Contains(out, "MFA session") {
		t.Errorf("mfa with a wrong code: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := e.run(code+"\n", "mfa", "admin")
	if err != nil || !strings.HasPrefix(out, "MFA session for admin until ") {
		t.Fatalf("mfa: %v\n%s%s", err, out, errOut)
	}
	until, err := time.Parse(time.RFC3339, strings.TrimSpace(strings.TrimPrefix(out, "MFA session for admin until ")))
	if err != nil || until.Before(time.Now().Add(time.Hour)) {
		t.Errorf("the MFA session ends %v (%v), want hours from now", until, err)
	}
	pcOut, errOut, err := e.run("", "credential-process", "admin")
	var pc struct{ AccessKeyId, SecretAccessKey string }
	if err != nil || json.Unmarshal([]byte(pcOut), &pc) != nil || pc.AccessKeyId == "" {
		t.Fatalf("credential-process after mfa: %v\n%s%s", err, pcOut, errOut)
	}
	if strings.Contains(d.stderr.String(), code) {
		t.Error("the daemon's log holds the MFA code")
	}
}

// waitNeedsHuman reports whether role's shared session shows needs-human within wait.
func (e *e2e) waitNeedsHuman(role string, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, r := range e.status().Roles {
			for _, s := range r.Sessions {
				if r.Role == role && s.Caller == "" && s.NeedsHuman {
					return true
				}
			}
		}
	}
	return false
}
