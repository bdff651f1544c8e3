package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/imds"
)

// FileDescriptorName values of the sockets systemd may hand over.
const (
	FDNameIMDS      = "imds"
	FDNameContainer = "container"
	FDNameCore      = "core"
)

// listeners are the daemon's open sockets.
type listeners struct {
	imds, container, core, metrics net.Listener
	control                        net.Listener
	controlPath                    string
	// removeControl: the control socket's file is ours to remove.
	removeControl bool
}

func (l *listeners) close() {
	for _, ln := range []net.Listener{l.imds, l.container, l.core, l.metrics, l.control} {
		if ln != nil {
			ln.Close()
		}
	}
	if l.removeControl {
		os.Remove(l.controlPath)
	}
}

// openListeners takes the sockets systemd handed over (LISTEN_FDS, by
// FileDescriptorName) and opens the others from the flags or the config.
func openListeners(cfg *config.Config, o Options, log hclog.Logger) (*listeners, error) {
	ls := &listeners{}
	ok := false
	defer func() {
		if !ok {
			ls.close() // what was opened before the failure
		}
	}()
	handed, err := activation.ListenersWithNames()
	if err != nil {
		return nil, fmt.Errorf("reading the sockets systemd handed over: %w", err)
	}
	take := func(name string) net.Listener {
		l := handed[name]
		delete(handed, name)
		if len(l) == 0 {
			return nil
		}
		for _, extra := range l[1:] {
			log.Warn("systemd handed over several sockets of one name; using the first", "name", name, "ignored", extra.Addr())
			extra.Close()
		}
		log.Info("using a socket handed over by systemd", "name", name, "addr", l[0].Addr())
		return l[0]
	}
	pick := func(flag, conf netip.AddrPort) netip.AddrPort {
		if flag.IsValid() {
			return flag
		}
		return conf
	}
	open := func(name string, fd string, addr netip.AddrPort) (net.Listener, error) {
		if fd != "" {
			if l := take(fd); l != nil {
				return l, nil
			}
		}
		if !addr.IsValid() {
			return nil, nil
		}
		l, err := net.Listen("tcp", addr.String())
		if err != nil {
			hint := ""
			if errors.Is(err, syscall.EADDRINUSE) {
				hint = ": another process (another credbroker?) listens there; stop it or pick another port (port 0 picks a free one)"
			} else if errors.Is(err, syscall.EADDRNOTAVAIL) {
				hint = ": the address is not on this host; add it to lo first (see the credbroker-addresses unit) or use 127.0.0.1"
			}
			return nil, fmt.Errorf("listening for %s on %s: %w%s", name, addr, err, hint)
		}
		return l, nil
	}
	if ls.imds, err = open("IMDS", FDNameIMDS, pick(o.IMDSAddr, cfg.Listen.IMDS)); err != nil {
		return nil, err
	}
	if ls.container, err = open("the container endpoint", FDNameContainer, pick(o.ContainerAddr, cfg.Listen.Container)); err != nil {
		return nil, err
	}
	core := pick(o.CoreAddr, cfg.Listen.Core)
	if cfg.Upstream.Kind != config.UpstreamCore {
		core = netip.AddrPort{}
	}
	if ls.core, err = open("the core", FDNameCore, core); err != nil {
		return nil, err
	}
	if ls.metrics, err = open("metrics", "", cfg.Listen.Metrics); err != nil {
		return nil, err
	}
	for name, l := range handed {
		for _, x := range l {
			log.Warn("ignoring a socket handed over by systemd under an unknown name (use FileDescriptorName=imds, container or core)", "name", name, "addr", x.Addr())
			x.Close()
		}
	}
	if ls.imds == nil && ls.container == nil {
		return nil, errors.New("neither IMDS nor the container endpoint has a listener: no process could get credentials")
	}
	ls.controlPath = cfg.Listen.ControlSocketPath(o.RuntimeDir)
	if ls.control, err = listenControl(ls.controlPath); err != nil {
		return nil, err
	}
	ls.removeControl = true
	ok = true
	return ls, nil
}

// listenControl opens the control socket, mode 0666: every local user may
// connect (the control API tells callers apart by SO_PEERCRED and answers
// other users only for themselves; a user daemon's runtime directory is
// 0700 anyway). A socket file left by a daemon that died is replaced; one
// a live daemon answers on is not.
func listenControl(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: a file that is not a socket is in the way; remove it", path)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		herr := control.NewClient(path).Health(ctx)
		cancel()
		if herr == nil {
			return nil, fmt.Errorf("control socket %s: another credbroker daemon answers there; stop it, or give this one another --runtime-dir", path)
		}
		os.Remove(path)
	}
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// containerToken returns the token of the container endpoint: the one in
// path when a previous run of this daemon left it there (so SDKs reading
// the file keep working across a restart), else a new one, written 0600.
func containerToken(path string) (string, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 == 0 && ownedByMe(fi) {
		if f, err := os.Open(path); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 2048))
			f.Close()
			tok := strings.TrimSpace(string(b))
			if imds.NewTokenSet().Add(tok, "") == nil {
				return tok, nil
			}
		}
	}
	tok, err := imds.NewToken(nil)
	if err != nil {
		return "", err
	}
	if err := imds.WriteTokenFile(path, tok); err != nil {
		return "", err
	}
	return tok, nil
}

func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
