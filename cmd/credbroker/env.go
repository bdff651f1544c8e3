package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/imds"
)

func newEnvCmd(_ *app) *cobra.Command {
	var runtimeDir string
	var fileOnly bool
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print export lines that point this shell's SDKs at the running broker",
		Long: `Print the export lines that point AWS SDKs and the AWS CLI at the running
broker, read from its runtime directory (the addresses it really listens on):

  AWS_EC2_METADATA_SERVICE_ENDPOINT        the emulated instance metadata service
  AWS_CONTAINER_CREDENTIALS_FULL_URI       the container credentials endpoint
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE   your token for it (a file of mode 0600)
  AWS_CONTAINER_AUTHORIZATION_TOKEN        the same token, for SDKs that read
                                           only this variable (botocore < 1.30,
                                           the JS SDK v3's fromContainerMetadata)
  AWS_REGION, AWS_DEFAULT_REGION           the configured region
  AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM   the embedded core, when served
  AWS_ENDPOINT_URL_ROLESANYWHERE           the core's Roles Anywhere, when served

The token is yours: the daemon issues it to your uid through its control
socket and the container endpoint accepts it from your uid only, for the
role your client rules give you (what IMDS gives you too). It is the same
on every call, written under $XDG_RUNTIME_DIR (else your cache directory).
It survives restarts of a daemon run with systemd's StateDirectory= (the
system service); others give new tokens at each start: run env again then.
When the daemon
has no role for you, the container lines are left out and SDKs use IMDS.

SDKs try the container endpoint before IMDS, so with both set they use the
container endpoint. Values are shell-quoted.`,
		Example: `  eval "$(credbroker env)"
  aws sts get-caller-identity

  # A daemon started with --runtime-dir
  eval "$(credbroker env --runtime-dir /tmp/cb)"

  # For a container: pass the variables on
  credbroker env > broker.env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := config.RuntimeDir(runtimeDir, os.Getenv)
			e, err := control.ReadEndpoints(dir)
			if err != nil {
				return err
			}
			plain, err := userToken(cmd.Context(), dir, &e)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "credbroker env: %v\n", err)
			}
			if fileOnly {
				plain = ""
			}
			writeEnv(cmd.OutOrStdout(), e, plain)
			return nil
		},
	}
	runtimeDirFlag(cmd.Flags(), &runtimeDir)
	cmd.Flags().BoolVar(&fileOnly, "token-file-only", false, "leave out AWS_CONTAINER_AUTHORIZATION_TOKEN (every SDK you use reads the _FILE variable)")
	return cmd
}

// userToken asks the daemon for the caller's own container token, writes
// it to a file of the caller's, and points e.TokenFile at it; it returns
// the token for the plain variable. When there is none to be had, it
// leaves the container endpoint out of e (so SDKs use IMDS), unless the
// daemon's own token file is readable (the daemon's user), and says why.
func userToken(ctx context.Context, dir string, e *control.Endpoints) (string, error) {
	if e.Container == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	g, err := controlClient(dir).UserToken(ctx)
	if err == nil {
		path, werr := userTokenPath(dir)
		if werr == nil {
			werr = imds.WriteTokenFile(path, g.Token)
		}
		if werr == nil {
			e.TokenFile = path
			return g.Token, nil
		}
		err = werr
	}
	if f, oerr := os.Open(e.TokenFile); oerr == nil && e.TokenFile != "" {
		f.Close()
		return "", nil // the daemon's own user: its token file serves
	}
	e.Container, e.ContainerPath, e.TokenFile = "", "", ""
	return "", fmt.Errorf("no container token for uid %d (%v); the container lines are left out, so SDKs use IMDS", os.Getuid(), err)
}

// userTokenPath is where env keeps the caller's token of the daemon whose
// runtime directory is dir: under $XDG_RUNTIME_DIR (a tmpfs of the user's,
// emptied at logout) when it is the caller's, else the user cache
// directory; one file per daemon.
func userTokenPath(dir string) (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if !ownDir(base) {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no directory of yours for the token file: set XDG_RUNTIME_DIR or HOME: %w", err)
		}
		base = c
	}
	d := filepath.Join(base, "credbroker-env")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("token file directory: %w", err)
	}
	if fi, err := os.Lstat(d); err != nil || !fi.IsDir() || !ownDir(d) {
		return "", fmt.Errorf("token file directory %s is not a directory of uid %d (is HOME another user's?)", d, os.Geteuid())
	}
	if err := os.Chmod(d, 0o700); err != nil {
		return "", fmt.Errorf("token file directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(d, "container-"+hex.EncodeToString(sum[:6])+".token"), nil
}

// ownDir reports whether dir is a directory of the caller's own.
func ownDir(dir string) bool {
	if dir == "" || !filepath.IsAbs(dir) {
		return false
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// runtimeDirFlag adds --runtime-dir, by which a client command finds the
// running daemon (controlClient), to fl.
func runtimeDirFlag(fl flagSet, p *string) {
	fl.StringVar(p, "runtime-dir", "", "the daemon's runtime directory (default: $CREDBROKER_RUNTIME_DIR, $XDG_RUNTIME_DIR/credbroker, /run/credbroker)")
}

// flagSet is where a command's string flags are added (its Flags or
// PersistentFlags).
type flagSet interface {
	StringVar(p *string, name, value, usage string)
}

// controlClient is the client of the daemon whose runtime directory the
// flag or environment names.
func controlClient(runtimeDir string) *control.Client {
	dir := config.RuntimeDir(runtimeDir, os.Getenv)
	path := dir + "/" + control.SocketFile
	if e, err := control.ReadEndpoints(dir); err == nil && e.ControlSocket != "" {
		path = e.ControlSocket
	}
	return control.NewClient(path)
}

// asksDaemon makes cmd a command that asks the running daemon one thing through
// its control socket: it gets --runtime-dir, and run gets the daemon's client and
// a context that gives up after timeout (a hung daemon must not hang an SDK's
// credential_process or systemctl reload).
func asksDaemon(cmd *cobra.Command, timeout time.Duration,
	run func(ctx context.Context, c *control.Client, cmd *cobra.Command, args []string) error) *cobra.Command {
	var runtimeDir string
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		return run(ctx, controlClient(runtimeDir), cmd, args)
	}
	runtimeDirFlag(cmd.Flags(), &runtimeDir)
	return cmd
}

// writeEnv prints the export lines for e (README.md, "The endpoints"): shell-quoted.
// plainToken, if set, is printed as AWS_CONTAINER_AUTHORIZATION_TOKEN for
// the SDKs that read no token file.
func writeEnv(w io.Writer, e control.Endpoints, plainToken string) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "export %s=%s\n", k, shellQuote(v))
		}
	}
	line("AWS_EC2_METADATA_SERVICE_ENDPOINT", e.IMDSURL())
	line("AWS_CONTAINER_CREDENTIALS_FULL_URI", e.ContainerURL())
	if e.ContainerURL() != "" {
		line("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", e.TokenFile)
		line("AWS_CONTAINER_AUTHORIZATION_TOKEN", plainToken)
	}
	line("AWS_REGION", e.Region)
	line("AWS_DEFAULT_REGION", e.Region)
	line("AWS_ENDPOINT_URL_STS", e.CoreURL())
	line("AWS_ENDPOINT_URL_IAM", e.CoreURL())
	line("AWS_ENDPOINT_URL_ROLESANYWHERE", e.CoreURL())
}
