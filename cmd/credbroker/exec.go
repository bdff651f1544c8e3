package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/daemon"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/imds"
	"github.com/credbroker/credbroker/internal/logging"
)

type execFlags struct {
	runtimeDir string
	config     string
}

func newExecCmd(a *app) *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec ROLE -- COMMAND [ARG...]",
		Short: "Run one command with the credentials of ROLE",
		Long: `Run COMMAND with ROLE's credentials, through the container credentials endpoint:
the command's SDKs find AWS_CONTAINER_CREDENTIALS_FULL_URI and a token bound to
ROLE and to your uid, as a file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and, for
older SDKs, as AWS_CONTAINER_AUTHORIZATION_TOKEN (the IMDS and key variables are
removed from its environment, so nothing else is picked first). When the daemon
serves the embedded core, AWS_ENDPOINT_URL_STS and _IAM point at it.

With a broker running (its control socket in the runtime directory), the token
comes from it and works only for ROLE, which your client rules must allow (your
own role or one of its allow_roles); it is withdrawn when COMMAND ends, or when
credbroker exec itself is killed (the daemon watches it). Without
one, credbroker starts an endpoint in this process from the config file, for as
long as COMMAND runs (as aws-vault does).

If ROLE needs an MFA session and this is a terminal, the code is asked for.
Signals are passed on to COMMAND, and its exit code is credbroker's.`,
		Example: `  credbroker exec deploy -- aws s3 ls
  credbroker exec deploy -- terraform apply
  credbroker exec dev-admin -- python3 -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			argv, err := execArgs(cmd, args)
			if err != nil {
				return err
			}
			return runExec(cmd, a, &f, args[0], argv)
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false) // COMMAND's own flags are its own
	runtimeDirFlag(fl, &f.runtimeDir)
	fl.StringVar(&f.config, "config", "", "config file for the in-process endpoint when no daemon runs (default as for serve)")
	return cmd
}

// execArgs returns COMMAND and its arguments from ROLE [FLAGS] [--] COMMAND
// [ARG...]: flags are parsed up to COMMAND (so `exec ROLE --runtime-dir X
// -- cmd` works as `exec --runtime-dir X ROLE -- cmd`); after it every
// argument is COMMAND's.
func execArgs(cmd *cobra.Command, args []string) ([]string, error) {
	rest := args[1:]
	dash := slices.Index(rest, "--")
	if dash > 0 && strings.HasPrefix(rest[0], "-") {
		fs := cmd.Flags()
		if err := fs.Parse(rest[:dash]); err != nil {
			return nil, fmt.Errorf("exec %s: %w", args[0], err)
		}
		if extra := fs.Args(); len(extra) > 0 {
			return nil, fmt.Errorf("exec %s: %q before -- is not a flag of exec (the command goes after --)", args[0], extra[0])
		}
		rest = rest[dash:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("exec %s: no command after --", args[0])
	}
	return rest, nil
}

// grant is where the child gets its credentials, and how to withdraw them.
type grant struct {
	token, url, region string
	core               string // the embedded core's URL, when the daemon serves it
	done               func()
}

func runExec(cmd *cobra.Command, a *app, f *execFlags, role string, argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	ctx := cmd.Context()
	g, err := daemonGrant(ctx, cmd, f, role)
	if errors.Is(err, control.ErrNoDaemon) {
		a.log.Debug("no daemon; serving the container endpoint in this process", "reason", err)
		g, err = inProcessGrant(ctx, cmd, a, f, role)
	}
	if err != nil {
		return err
	}
	defer g.done()

	dir, err := execTempDir(a)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	if err := imds.WriteTokenFile(tokenFile, g.token); err != nil {
		return err
	}
	child := exec.Command(path, argv[1:]...)
	child.Args[0] = argv[0]
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The plain variable too: older SDKs read no token file (Debian 12's
	// awscli, the JS SDK v3's fromContainerMetadata). The token is bound to
	// this uid and withdrawn when exec ends; README says what it exposes.
	env := append(execEnv(os.Environ(), g.url, tokenFile, g.region, role), "AWS_CONTAINER_AUTHORIZATION_TOKEN="+g.token)
	child.Env = withCore(env, g.core)
	return runChild(child)
}

// execDirPrefix names exec's token directories: credbroker-exec-PID-*.
const execDirPrefix = "credbroker-exec-"

// execTempDir makes the directory of this exec's token file, under
// $XDG_RUNTIME_DIR when it is the caller's (a tmpfs emptied at logout),
// else the temp directory, named after this process; first it removes the
// ones of execs that are gone (SIGKILLed: no defer ran), whose tokens the
// daemon withdrew when they exited.
func execTempDir(a *app) (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if !ownDir(base) {
		base = os.TempDir()
	}
	sweepExecDirs(base, a.log)
	return os.MkdirTemp(base, fmt.Sprintf("%s%d-", execDirPrefix, os.Getpid()))
}

// sweepExecDirs removes base/credbroker-exec-PID-* of this user whose PID
// no longer runs.
func sweepExecDirs(base string, log hclog.Logger) {
	matches, _ := filepath.Glob(filepath.Join(base, execDirPrefix+"*"))
	for _, m := range matches {
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(m), execDirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || !ownDir(m) {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			log.Debug("removing the token directory of an exec that is gone", "dir", m, "pid", pid)
			os.RemoveAll(m)
		}
	}
}

// withCore adds the embedded core's AWS_ENDPOINT_URL_STS and _IAM to env,
// unless env names them already.
func withCore(env []string, core string) []string {
	if core == "" {
		return env
	}
	for _, k := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"} {
		if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") }) {
			env = append(env, k+"="+core)
		}
	}
	return env
}

// execEnv is the child's environment: the container endpoint and the
// token file of its role, and nothing that an SDK's chain would pick
// before them.
func execEnv(env []string, url, tokenFile, region, role string) []string {
	drop := map[string]bool{
		"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true,
		"AWS_PROFILE": true, "AWS_DEFAULT_PROFILE": true, "AWS_WEB_IDENTITY_TOKEN_FILE": true, "AWS_ROLE_ARN": true,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": true, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": true,
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": true, "AWS_CONTAINER_CREDENTIALS_FULL_URI": true,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN": true, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": true,
		"CREDBROKER_ROLE": true,
	}
	hasRegion := false
	out := make([]string, 0, len(env)+6)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" {
			hasRegion = true
		}
		out = append(out, kv)
	}
	out = append(out, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+url, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile, "CREDBROKER_ROLE="+role)
	if !hasRegion && region != "" {
		out = append(out, "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	}
	return out
}

// runChild runs the child, passing signals on, and returns its exit code
// as an exitError (128+N when a signal killed it, as shells do).
func runChild(child *exec.Cmd) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	if err := child.Start(); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := child.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitError{code: 128 + int(ws.Signal())}
		}
		return exitError{code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// isTerminal reports whether stdin is a terminal (so an MFA code can be asked).
func isTerminal(cmd *cobra.Command) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// daemonGrant gets a token bound to role from the running daemon.
func daemonGrant(ctx context.Context, cmd *cobra.Command, f *execFlags, role string) (grant, error) {
	c := controlClient(f.runtimeDir)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	g, err := c.IssueToken(wctx, role)
	var ce *control.Error
	if errors.As(err, &ce) && ce.Code == broker.CodeMFARequired && isTerminal(cmd) {
		code, rerr := readMFACode(cmd, role)
		if rerr != nil {
			return grant{}, rerr
		}
		if _, err = c.StartMFA(wctx, role, code); err != nil {
			return grant{}, err
		}
		g, err = c.IssueToken(wctx, role)
	}
	if err != nil {
		return grant{}, err
	}
	var core string
	if e, err := control.ReadEndpoints(config.RuntimeDir(f.runtimeDir, os.Getenv)); err == nil {
		core = e.CoreURL()
	}
	return grant{token: g.Token, url: g.ContainerURL, region: g.Region, core: core, done: func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.RevokeToken(rctx, g.Token)
	}}, nil
}

// inProcessGrant serves the container endpoint from this process, for as
// long as the command runs, with a broker built from the config file.
func inProcessGrant(ctx context.Context, cmd *cobra.Command, a *app, f *execFlags, role string) (grant, error) {
	path := f.config
	if path == "" {
		path = config.DefaultPath(os.Getenv, os.Geteuid())
	}
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return grant{}, err
		}
	}
	if cfg.Role(role) == nil {
		return grant{}, fmt.Errorf("no role %q in %s (no daemon is running, so the config file is used)", role, orDefault(path))
	}
	// This process serves its own user only: that user gets ROLE.
	uid := uint32(os.Getuid())
	cfg.Clients = append([]config.Client{{Name: "exec", UIDs: []uint32{uid}, Role: role}}, cfg.Clients...)
	log := a.log
	if a.logLevel == "info" { // keep the command's terminal for the command
		log, _ = logging.New("credbroker", logging.Options{Level: "warn", Format: a.logFormat})
	}
	// The keyring and upstream as the daemon opens them (one set-up for both).
	var keyErr error // this process serves one command: a keyring that does not open is fatal
	bk, err := daemon.Setup(ctx, cfg, daemon.SetupOptions{
		OpenKeys: func(k config.Keyring) (*keystore.Store, error) {
			s, err := keystore.Open(keystore.FromConfig(k), func(o *keystore.Options) {
				o.Logger = log
				o.Prompt = ttyPrompt(cmd.ErrOrStderr())
			})
			keyErr = err
			return s, err
		},
		OpenCore: openCore(log, &storeFlags{}),
		Logger:   hclog.NewNullLogger(), // its lines are the daemon's; exec returns the error
	})
	if keyErr != nil {
		err = keyErr
	}
	if err != nil {
		if bk.Core != nil {
			bk.Core.Close()
		}
		return grant{}, err
	}
	up, core := bk.Upstream, bk.Core
	b, err := broker.New(cfg, func(o *broker.Options) {
		o.Upstream, o.Keys, o.Logger = up, bk.BrokerKeys(), log.Named("broker")
	})
	if err != nil {
		return grant{}, err
	}
	closeAll := func() {
		b.Close()
		if core != nil {
			core.Close()
		}
	}
	me := peer.NewCaller(uid, os.Getpid())
	tok, err := b.IssueToken(ctx, me, role)
	var se *session.Error
	if errors.As(err, &se) && se.Code == broker.CodeMFARequired && isTerminal(cmd) {
		code, rerr := readMFACode(cmd, role)
		if rerr != nil {
			closeAll()
			return grant{}, rerr
		}
		if _, err = b.StartMFA(ctx, me, role, code); err == nil {
			tok, err = b.IssueToken(ctx, me, role)
		}
	}
	if err != nil {
		closeAll()
		return grant{}, err
	}
	h, err := imds.NewContainer(b, b.Tokens(), func(o *imds.ContainerOptions) { o.Logger = log.Named("container") })
	if err != nil {
		closeAll()
		return grant{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeAll()
		return grant{}, err
	}
	res := peer.New()
	srv := imds.NewServer(h, log)
	srv.ConnContext = res.ConnContext
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("in-process container endpoint failed", "error", err)
		}
	}()
	return grant{token: tok, url: "http://" + ln.Addr().String() + imds.DefaultContainerPath, region: cfg.Region, done: func() {
		srv.Close()
		res.Close()
		closeAll()
	}}, nil
}

func orDefault(path string) string {
	if path == "" {
		return "the built-in defaults"
	}
	return path
}
