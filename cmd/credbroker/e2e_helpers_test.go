package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/pgtest"

	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/internal/awsfake"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/internal/testtool"
)

// The end-to-end tests build the credbroker binary, run `credbroker serve`
// against an STS fake of the test, and judge with the real AWS CLI and
// boto3. Each runs in a fresh HOME, runtime and state directory, with no
// AWS_* variable inherited and every port picked by the kernel.

// e2eKeyID is alice's access key id; her secret is drawn at random by
// each test (a constant would sit in the test binary, on disk).
const e2eKeyID = "AKIAE2EALICE00000001"

var build struct {
	once sync.Once
	path string
	err  error
}

// shippedBinEnv names a binary the end-to-end tests run instead of building one:
// packaging's tests point it at the binary of the .deb, to prove what ships.
const shippedBinEnv = "CREDBROKER_E2E_BIN"

// credbrokerBin builds the binary once per test run (or takes $CREDBROKER_E2E_BIN's).
func credbrokerBin(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("end-to-end tests need Linux (callers are identified from the kernel)")
	}
	if p := os.Getenv(shippedBinEnv); p != "" {
		if !filepath.IsAbs(p) {
			t.Fatalf("%s=%q: give an absolute path", shippedBinEnv, p)
		}
		return p
	}
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "credbroker-e2e-bin-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "credbroker")
		out, err := exec.Command("go", "build", "-o", build.path, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// needTools skips the test in -short mode (it runs programs, slowly) or,
// loudly, when a program it runs is missing: each tool is "BIN", or
// "BIN=PACKAGES" when the Debian packages that have it are named otherwise
// (.ci/run installs them).
func needTools(t testing.TB, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: runs the binary and other programs")
	}
	testtool.Need(t, tools...)
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	if build.path != "" {
		os.RemoveAll(filepath.Dir(build.path))
	}
	os.Exit(code)
}

// e2e is one isolated environment.
type e2e struct {
	t          testing.TB
	bin        string
	root       string
	home       string
	runtimeDir string
	stateDir   string
	cfgPath    string
	keyring    string
	secret     string
	sts        *awsfake.Server
	env        []string // the base environment of every child
	// launch, when set, runs serve through it: launch[0] with launch[1:],
	// then the binary and its arguments (a shell setting limits).
	launch []string
	// serveOut, when set, takes serve's output instead of the test's
	// buffer (a file, for runs that log a lot).
	serveOut io.Writer
	// coreUpstream, when set, are more lines of writeCoreConfig's
	// upstream "core" block.
	coreUpstream string
}

func newE2E(t testing.TB) *e2e {
	t.Helper()
	e := &e2e{t: t, bin: credbrokerBin(t), root: t.TempDir(), sts: awsfake.New()}
	e.home = filepath.Join(e.root, "home")
	e.runtimeDir = filepath.Join(e.root, "run")
	e.stateDir = filepath.Join(e.root, "state")
	for _, d := range []string{e.home, e.stateDir, filepath.Join(e.root, "tmp"), filepath.Join(e.home, ".aws")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + e.home, "TMPDIR=" + filepath.Join(e.root, "tmp"),
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"), "XDG_STATE_HOME=" + e.stateDir,
		"XDG_RUNTIME_DIR=" + filepath.Join(e.root, "xdg"), "CREDBROKER_RUNTIME_DIR=" + e.runtimeDir,
		"LANG=C.UTF-8", "AWS_CONFIG_FILE=" + filepath.Join(e.home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(e.home, ".aws", "credentials"),
	}
	// The CLI and boto3 live in pyenv, found through PYENV_ROOT.
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		e.env = append(e.env, "PYENV_ROOT="+r)
	} else if h, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(h, ".pyenv")); err == nil {
			e.env = append(e.env, "PYENV_ROOT="+filepath.Join(h, ".pyenv"))
		}
	}
	if err := e.sts.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sts.Stop)
	// Clients call STS on the fake too (the daemon reads no AWS_* variable).
	e.env = append(e.env, "AWS_ENDPOINT_URL_STS="+e.sts.URL())
	b := make([]byte, 30)
	rand.Read(b)
	e.secret = base64.StdEncoding.EncodeToString(b)
	e.sts.AddUser("alice", e2eKeyID, e.secret)
	b = make([]byte, 4)
	rand.Read(b)
	e.keyring = fmt.Sprintf("cb-e2e-%x", b)
	t.Cleanup(func() {
		if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", e.keyring, 0); err == nil {
			unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		}
	})
	return e
}

// writeCoreConfig writes a config whose upstream is the embedded core in state
// (account acct, master key in keyFile) with the test's kernel keyring, then rest.
func (e *e2e) writeCoreConfig(state, acct, keyFile, rest string) {
	e.t.Helper()
	e.cfgPath = filepath.Join(e.root, "credbroker.hcl")
	cfg := fmt.Sprintf(`region = "us-east-1"
upstream "core" {
  state_dir  = %q
  account_id = %q
%s  master_key {
    source = "file"
    path   = %q
  }
}
keyring {
  backend      = "keyctl"
  keyctl_scope = "user"
  name         = %q
}
`, state, acct, e.coreUpstream, keyFile, e.keyring) + rest
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// coreInit runs `core init` for account acct, its master key in keyFile, on
// the config written, and returns root's access key, which it prints once.
func (e *e2e) coreInit(keyFile, acct string) (keyID, secret string) {
	e.t.Helper()
	keyID, secret, _ = e.coreInitWith("", "--master-key-file", keyFile, "--account-id", acct)
	return keyID, secret
}

// coreInitWith runs `core init` on the config written with more arguments and
// stdin, fails the test unless it succeeds and prints root's access key, and
// returns that key and all init printed (stdout, then stderr).
func (e *e2e) coreInitWith(stdin string, args ...string) (keyID, secret, printed string) {
	e.t.Helper()
	out, errOut, err := e.run(stdin, append([]string{"core", "init", "--config", e.cfgPath}, args...)...)
	if err != nil {
		e.t.Fatalf("core init: %v\n%s%s", err, out, errOut)
	}
	m := printedKey.FindStringSubmatch(out)
	if m == nil {
		e.t.Fatalf("core init printed no root key:\n%s%s", out, errOut)
	}
	return m[1], m[2], out + errOut
}

// coreRootEnv is the environment in which the aws CLI is root (keyID and
// secret, as core init printed them) of the core at coreURL, for IAM and STS.
func coreRootEnv(keyID, secret, coreURL string) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + keyID, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL_IAM=" + coreURL, "AWS_ENDPOINT_URL_STS=" + coreURL}
}

// aws runs the aws CLI, JSON output, in the base environment plus env.
func (e *e2e) aws(env []string, args ...string) ([]byte, error) {
	return e.command(env, "aws", append(args, "--output", "json")...).Output()
}

// mustAWS is aws, failing the test on an error.
func (e *e2e) mustAWS(env []string, args ...string) []byte {
	e.t.Helper()
	b, err := e.aws(env, args...)
	if err != nil {
		e.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
	}
	return b
}

// serveDev runs `serve --dev` (the demo account, no config file) like serve,
// and fails the test unless it stops cleanly.
func (e *e2e) serveDev() *daemonProc {
	e.t.Helper()
	d := e.serve(nil, "--dev", "--core-addr", "127.0.0.1:0")
	e.t.Cleanup(func() {
		if err := d.stop(); err != nil {
			e.t.Errorf("serve --dev: %v\n%s", err, d.stderr.String())
		}
	})
	return d
}

// writeConfig writes the config file, with the STS fake as upstream and
// the test's own kernel keyring.
func (e *e2e) writeConfig(body string) {
	e.t.Helper()
	e.cfgPath = filepath.Join(e.root, "credbroker.hcl")
	cfg := fmt.Sprintf(`region = "eu-west-1"
upstream "sts" {
  endpoint = %q
  region   = "eu-west-1"
}
keyring {
  backend      = "keyctl"
  keyctl_scope = "user"
  name         = %q
}
`, e.sts.URL(), e.keyring) + body
	if err := os.WriteFile(e.cfgPath, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// run runs the binary to completion.
func (e *e2e) run(stdin string, args ...string) (string, string, error) {
	e.t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	cmd.Dir = e.home
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// command returns a command with the base environment plus extra.
func (e *e2e) command(extra []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, e.env...), extra...)
	cmd.Dir = e.home
	return cmd
}

// addKey stores alice's key with `credbroker keys add` (stdin, never argv).
func (e *e2e) addKey() {
	e.t.Helper()
	out, errOut, err := e.run(e2eKeyID+"\n"+e.secret+"\n", "keys", "add", "alice", "--config", e.cfgPath)
	if err != nil {
		e.t.Fatalf("keys add: %v\n%s%s", err, out, errOut)
	}
}

// notifySocket is a NOTIFY_SOCKET of the test: it records every message.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan notifyMsg
	mu   sync.Mutex
	seen []notifyMsg
}

// all returns every message so far.
func (n *notifySocket) all() []notifyMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]notifyMsg(nil), n.seen...)
}

type notifyMsg struct {
	at     time.Time
	fields map[string]string
	raw    string
}

func newNotifySocket(t testing.TB, dir string) *notifySocket {
	t.Helper()
	sub, err := os.MkdirTemp(dir, "notify") // one per daemon started, even in the same dir
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &notifySocket{path: path, conn: conn, msgs: make(chan notifyMsg, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			m := notifyMsg{at: time.Now(), fields: map[string]string{}, raw: string(buf[:k])}
			for _, line := range strings.Split(m.raw, "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					m.fields[k] = v
				}
			}
			n.mu.Lock()
			n.seen = append(n.seen, m)
			n.mu.Unlock()
			n.msgs <- m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// wait returns the next message with field k (and value v, if not "").
func (n *notifySocket) wait(t testing.TB, k, v string, timeout time.Duration) notifyMsg {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %s=%s", k, v)
			}
			if got, has := m.fields[k]; has && (v == "" || got == v) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s=%s from the daemon within %v", k, v, timeout)
		}
	}
}

// daemon is a running `credbroker serve`.
type daemonProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *logtest.Buffer
	notify *notifySocket
	eps    control.Endpoints
	exited chan error
}

// serve starts the daemon and waits for READY=1 on its notify socket.
func (e *e2e) serve(extraEnv []string, args ...string) *daemonProc {
	e.t.Helper()
	n := newNotifySocket(e.t, e.root)
	all := append([]string{"--log-level", "debug", "serve", "--config", e.cfgPath, "--runtime-dir", e.runtimeDir,
		"--imds-addr", "127.0.0.1:0", "--container-addr", "127.0.0.1:0"}, args...)
	name := e.bin
	if len(e.launch) > 0 {
		name, all = e.launch[0], append(append(append([]string{}, e.launch[1:]...), e.bin), all...)
	}
	cmd := e.command(append([]string{"NOTIFY_SOCKET=" + n.path}, extraEnv...), name, all...)
	d := &daemonProc{t: e.t, cmd: cmd, stderr: &logtest.Buffer{}, notify: n, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = d.stderr, d.stderr
	if e.serveOut != nil {
		cmd.Stdout, cmd.Stderr = e.serveOut, e.serveOut
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { d.exited <- cmd.Wait() }()
	e.t.Cleanup(func() { d.stop() })
	ready := make(chan struct{})
	go func() {
		defer close(ready)
		for m := range n.msgs {
			if m.fields["READY"] == "1" {
				return
			}
		}
	}()
	select {
	case <-ready:
	case err := <-d.exited:
		d.exited <- err
		e.t.Fatalf("serve exited before READY: %v\n%s", err, d.stderr.String())
	case <-time.After(60 * time.Second):
		e.t.Fatalf("serve not READY in 60s\n%s", d.stderr.String())
	}
	eps, err := control.ReadEndpoints(e.runtimeDir)
	if err != nil {
		e.t.Fatal(err)
	}
	d.eps = eps
	return d
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (d *daemonProc) stop() error {
	if d.cmd.ProcessState != nil {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
		return err
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		d.t.Errorf("serve did not stop within 20s\n%s", d.stderr.String())
		return <-d.exited
	}
}

// status returns the daemon's status through the CLI.
func (e *e2e) status() statusJSON {
	e.t.Helper()
	out, errOut, err := e.run("", "status", "--output", "json")
	if err != nil {
		e.t.Fatalf("status: %v %s", err, errOut)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("status json: %v\n%s", err, out)
	}
	return st
}

type statusJSON struct {
	Upstream string `json:"upstream"`
	Roles    []struct {
		Role     string `json:"role"`
		Sessions []struct {
			Caller      string `json:"caller"`
			State       string `json:"state"`
			AccessKeyID string `json:"access_key_id"`
			NeedsHuman  bool   `json:"needs_human"`
			BelowFloor  bool   `json:"below_floor"`
			LastError   string `json:"last_error"`
		} `json:"sessions"`
	} `json:"roles"`
}

// sessionKey returns the access key id of role's shared session.
func (s statusJSON) sessionKey(role string) string {
	for _, r := range s.Roles {
		if r.Role == role {
			for _, ss := range r.Sessions {
				if ss.Caller == "" {
					return ss.AccessKeyID
				}
			}
		}
	}
	return ""
}

// freePort asks the kernel for a free loopback port (for tools that cannot
// take port 0, like systemd-socket-activate).
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
