package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/broker/daemon"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/internal/harden"
)

// serveFlags are the command line of `credbroker serve` (README.md, "Commands").
type serveFlags struct {
	config        string
	dev           bool
	imdsAddr      string
	containerAddr string
	coreAddr      string
	runtimeDir    string
	store         storeFlags
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the broker daemon (IMDS, container endpoint, optional IAM/STS core)",
		Long: `Run the broker: the emulated EC2 instance metadata service and the container
credentials endpoint in front, the embedded IAM/STS core or a remote STS behind,
long-term keys in the OS keyring underneath. Sessions of the configured roles are
fetched before the daemon says it is ready; a role that needs a person (an MFA
code, a locked keyring) is reported by ` + "`credbroker status`" + ` instead.

The bound addresses go to the runtime directory (endpoints.json), with the
control socket (control.sock, mode 0600) and the container token
(container.token, mode 0600), so that ` + "`credbroker env`" + ` prints the real ones.

Under systemd (Type=notify) it reports READY/RELOADING/STOPPING and STATUS,
answers the watchdog, and takes the sockets named imds, container and core
from socket activation. ` + "`credbroker reload`" + ` (the units' ExecReload) or SIGHUP
reloads the config (a bad one is refused, the old one keeps serving, and
reload prints why); SIGTERM or SIGINT stops gracefully. A config refused at
start exits 78 (EX_CONFIG), which the units do not restart on.`,
		Example: `  # The demo: embedded core, account 123456789012, role dev-admin for everyone
  credbroker serve --dev

  # With a config file, on free ports, state in a directory of your own
  credbroker serve --config ~/.config/credbroker/credbroker.hcl \
      --imds-addr 127.0.0.1:0 --container-addr 127.0.0.1:0 --runtime-dir /tmp/cb

  # Then, in another shell
  eval "$(credbroker env --runtime-dir /tmp/cb)"
  aws sts get-caller-identity

  # Reload the config
  kill -HUP "$(jq .pid /tmp/cb/endpoints.json)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, a, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "HCL config file (default: $CREDBROKER_CONFIG, ~/.config/credbroker/credbroker.hcl, /etc/credbroker/credbroker.hcl; built-in defaults without one)")
	fl.BoolVar(&f.dev, "dev", false, "run an in-memory IAM/STS core with a demo account; every local caller gets role dev-admin")
	fl.StringVar(&f.imdsAddr, "imds-addr", "", "IMDS listener HOST:PORT (port 0 picks a free port)")
	fl.StringVar(&f.containerAddr, "container-addr", "", "container credentials endpoint HOST:PORT")
	fl.StringVar(&f.coreAddr, "core-addr", "", "IAM/STS core listener HOST:PORT")
	f.store.register(fl)
	fl.StringVar(&f.runtimeDir, "runtime-dir", "", "where endpoints.json, the control socket and the token file go (default: $CREDBROKER_RUNTIME_DIR, $XDG_RUNTIME_DIR/credbroker, /run/credbroker)")
	return cmd
}

// addrFlag parses an address flag; "" is the zero value (the config's).
func addrFlag(name, v string) (netip.AddrPort, error) {
	if v == "" {
		return netip.AddrPort{}, nil
	}
	ap, err := netip.ParseAddrPort(v)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("--%s %q: write IP:PORT, such as 127.0.0.1:8911 or [::1]:0 (port 0 picks a free one)", name, v)
	}
	return ap, nil
}

func runServe(cmd *cobra.Command, a *app, f *serveFlags) error {
	// Before any secret is read: no core dump may hold them.
	if err := harden.NoCoreDumps(); err != nil {
		a.log.Warn("the daemon stays dumpable: a core dump would hold its secrets; set LimitCORE=0 (systemd) or ulimit -c 0", "error", err)
	}
	o := daemon.Options{RuntimeDir: config.RuntimeDir(f.runtimeDir, os.Getenv), Logger: a.log}
	// Under systemd's StateDirectory=, users' env tokens survive restarts.
	if sd, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); sd != "" && !f.dev {
		o.UserKeyFile = filepath.Join(sd, userKeyFile)
	}
	var err error
	if o.IMDSAddr, err = addrFlag("imds-addr", f.imdsAddr); err != nil {
		return err
	}
	if o.ContainerAddr, err = addrFlag("container-addr", f.containerAddr); err != nil {
		return err
	}
	if o.CoreAddr, err = addrFlag("core-addr", f.coreAddr); err != nil {
		return err
	}
	if f.dev {
		if f.config != "" {
			return errors.New("--dev runs its own demo configuration: leave out --config")
		}
		o.LoadConfig = func() (*config.Config, error) { return config.Parse([]byte(devConfig), "serve --dev") }
		o.OpenKeys = func(config.Keyring) (*keystore.Store, error) { return keystore.NewMemory(), nil }
		o.OpenCore = openDevCore(a.log)
		out := cmd.OutOrStdout()
		o.Ready = func(e control.Endpoints) {
			fmt.Fprintln(out, "# credbroker --dev is ready. In another shell:")
			fmt.Fprintln(out, "#   eval \"$(credbroker env --runtime-dir "+shellQuote(o.RuntimeDir)+")\"")
			writeEnv(out, e, "")
		}
	} else {
		path := f.config
		if path == "" {
			path = config.DefaultPath(os.Getenv, os.Geteuid())
		}
		o.LoadConfig = func() (*config.Config, error) {
			if path == "" {
				a.log.Info("no config file: built-in defaults (see `credbroker serve --help`)")
				return config.Default(), nil
			}
			return config.Load(path)
		}
		o.OpenCore = openCore(a.log, &f.store)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	o.Reload = reload
	if err := daemon.Run(ctx, o); err != nil {
		var ce *daemon.ConfigError
		if errors.As(err, &ce) {
			return exitError{code: exitConfig, msg: "serve: " + err.Error()}
		}
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// userKeyFile, in $STATE_DIRECTORY, keeps the key of users' container
// tokens across restarts.
const userKeyFile = "user-tokens.key"

// exitConfig is serve's exit status for a configuration it refuses
// (sysexits.h EX_CONFIG): the units' RestartPreventExitStatus=.
const exitConfig = 78

// shellQuote quotes s for POSIX shells: in single quotes, each single quote
// in s closing the quotes, escaped, then reopening them.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
