package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"
	"github.com/godbus/dbus/v5"
)

// The freedesktop.org Secret Service API (GNOME Keyring, KeePassXC,
// KWallet 5.97+), spoken directly over godbus/dbus/v5. 99designs/keyring's
// own backend was not used: it stores into a collection named after the
// keyring (creating one needs a password dialog; headless there is none),
// unlocks locked items by opening the unlock dialog, and sends secrets
// over the bus in the clear. This one keeps keys in the default collection
// (the login keyring, unlocked at login) unless the config names another,
// never opens a dialog (a locked collection is ErrLocked, with the fix in
// words), and encrypts secrets on the bus (dh-ietf1024-sha256-aes128-cbc-pkcs7).
const (
	ssBus        = "org.freedesktop.secrets"
	ssPath       = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService    = "org.freedesktop.Secret.Service"
	ssCollection = "org.freedesktop.Secret.Collection"
	ssItem       = "org.freedesktop.Secret.Item"
	// noPath is D-Bus's "no object": a missing alias, or no prompt needed.
	noPath = dbus.ObjectPath("/")

	// Attributes credbroker tags its items with: application, then the
	// keyring name (so that two configs with different keyring names
	// share a collection without seeing each other's keys), then the item.
	attrApplication = "application"
	attrKeyring     = "credbroker-keyring"
	attrItem        = "credbroker-item"
	applicationName = "credbroker"
)

// ssSecret is the Secret struct of the API: (oayays).
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// secretService is a keyring.Keyring in a Secret Service collection. It
// connects on first use and again after the service or the bus went away,
// so a daemon started before the desktop's keyring still finds it later.
type secretService struct {
	addr       string // session bus address; "" when there is none
	collection string // "" for the default collection (alias "default")
	namespace  string // the attrKeyring value

	// timeout bounds each operation (0: ssTimeout).
	timeout time.Duration

	mu   sync.Mutex
	conn *dbus.Conn
	sess *ssSession
}

func newSecretService(o Options) *secretService {
	return &secretService{addr: sessionBusAddress(o.Getenv), collection: o.Collection, namespace: o.Name}
}

// sessionBusAddress is $DBUS_SESSION_BUS_ADDRESS, else the systemd user
// bus socket $XDG_RUNTIME_DIR/bus when it exists, else "".
func sessionBusAddress(getenv func(string) string) string {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "disabled:" {
		return a
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		p := filepath.Join(d, "bus")
		if st, err := os.Stat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			return "unix:path=" + dbus.EscapeBusAddressValue(p)
		}
	}
	return ""
}

// describeCollection names the configured collection for messages.
func describeCollection(name string) string {
	if name == "" {
		return "Secret Service default collection"
	}
	return fmt.Sprintf("Secret Service collection %q", name)
}

// errNoBus says there is no session bus to reach the Secret Service on.
var errNoBus = errors.New("there is no D-Bus session bus to reach the Secret Service on " +
	"($DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist): run credbroker inside your desktop session, " +
	`or choose another backend in the config (keyring { backend = "keyctl" } or "pass")`)

// with runs fn on a connection and session, connecting when needed; a
// failure that a new connection may cure (the bus or the service
// restarted) is retried once on a fresh one.
func (s *secretService) with(fn func(c ssConn, sess *ssSession) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	timeout := s.timeout
	if timeout <= 0 {
		timeout = ssTimeout
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := s.attempt(ctx, fn)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			// The reply may still come, on a connection nobody reads.
			s.closeLocked()
			return fmt.Errorf("the Secret Service did not answer in %v (is it waiting for a dialog, or hung?)", timeout)
		}
		if err == nil || attempt > 0 || !staleConn(err) {
			return err
		}
		s.closeLocked()
	}
}

func (s *secretService) attempt(ctx context.Context, fn func(c ssConn, sess *ssSession) error) error {
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	return fn(ssConn{s.conn, ctx}, s.sess)
}

// ssTimeout bounds one operation, as libdbus's default reply timeout does.
const ssTimeout = 25 * time.Second

// ssConn is a connection and the deadline of the operation under way.
type ssConn struct {
	c   *dbus.Conn
	ctx context.Context
}

// call calls method (interface.Member) on the service's object at path.
func (c ssConn) call(path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return c.c.Object(ssBus, path).CallWithContext(c.ctx, method, 0, args...)
}

// prop reads the property name (interface.Property) of the object at path.
func (c ssConn) prop(path dbus.ObjectPath, name string) (dbus.Variant, error) {
	i := strings.LastIndexByte(name, '.')
	var v dbus.Variant
	err := c.call(path, "org.freedesktop.DBus.Properties.Get", name[:i], name[i+1:]).Store(&v)
	return v, err
}

func (s *secretService) connect(ctx context.Context) error {
	if s.addr == "" {
		return errNoBus
	}
	conn, err := dbus.Connect(s.addr)
	if err != nil {
		return fmt.Errorf("connecting to the D-Bus session bus for the Secret Service: %w", err)
	}
	sess, err := openSSSession(ssConn{conn, ctx})
	if err != nil {
		conn.Close()
		return ssError("opening a session with the Secret Service", err)
	}
	s.conn, s.sess = conn, sess
	return nil
}

func (s *secretService) closeLocked() {
	if s.conn != nil {
		s.conn.Close()
	}
	s.conn, s.sess = nil, nil
}

// staleConn reports whether err may be cured by connecting again.
func staleConn(err error) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		switch de.Name {
		case "org.freedesktop.Secret.Error.NoSession", "org.freedesktop.DBus.Error.UnknownObject",
			"org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected":
			return true
		}
		return false
	}
	return errors.Is(err, dbus.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// ssError turns a D-Bus failure into words: the error's name and what to
// do, never an object path.
func ssError(what string, err error) error {
	var de dbus.Error
	if !errors.As(err, &de) {
		// Already in words (ours), or the connection's own failure.
		return err
	}
	switch de.Name {
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
		return fmt.Errorf("%s: no Secret Service runs on this D-Bus session: start your desktop's keyring "+
			"(GNOME Keyring: `gnome-keyring-daemon --start --components=secrets`; or KeePassXC with its Secret Service integration), "+
			`or choose another backend in the config (keyring { backend = "keyctl" } or "pass")`, what)
	case "org.freedesktop.Secret.Error.IsLocked":
		return lockedf("%s: the collection is locked: unlock it (log in to the desktop, or unlock it in Passwords and Keys); credbroker never opens the unlock dialog itself", what)
	case "org.freedesktop.DBus.Error.AccessDenied":
		return fmt.Errorf("%s: the Secret Service refused access (%s)", what, de.Name)
	}
	return fmt.Errorf("%s: the Secret Service answered %s", what, de.Name)
}

// resolve finds the collection to use: the default one, or the one the
// config names (an alias such as "login", or a label such as "Work"). It
// fails, with the fix in words, when there is none or it is locked.
func (s *secretService) resolve(c ssConn) (dbus.ObjectPath, error) {
	alias := s.collection
	if alias == "" {
		alias = "default"
	}
	var path dbus.ObjectPath
	if err := c.call(ssPath, ssService+".ReadAlias", alias).Store(&path); err != nil {
		return "", err
	}
	if path == noPath && s.collection != "" {
		v, err := c.prop(ssPath, ssService+".Collections")
		if err != nil {
			return "", err
		}
		paths, _ := v.Value().([]dbus.ObjectPath)
		for _, p := range paths {
			if l, err := c.prop(p, ssCollection+".Label"); err == nil && l.Value() == s.collection {
				path = p
				break
			}
		}
	}
	if path == noPath || path == "" {
		if s.collection == "" {
			return "", errors.New("the Secret Service has no default collection: make your login keyring the default " +
				"(Passwords and Keys: right-click it, Set as Default), or name a collection in the config (keyring { collection = \"login\" })")
		}
		return "", fmt.Errorf("the Secret Service has no collection %q, and credbroker does not create one "+
			"(creating a collection asks for its new password in a dialog, which credbroker never opens): create it in Passwords and Keys "+
			"(+, Password keyring, named %q), or remove `collection` from the keyring block to keep keys in your login keyring (the default collection)",
			s.collection, s.collection)
	}
	locked, err := c.prop(path, ssCollection+".Locked")
	if err != nil {
		return "", err
	}
	if b, _ := locked.Value().(bool); b {
		return "", lockedf("the %s (%s) is locked: unlock it (log in to the desktop, or unlock it in Passwords and Keys); "+
			"credbroker never opens the unlock dialog itself", describeCollection(s.collection), collectionLabel(c, path))
	}
	return path, nil
}

// collectionLabel is the collection's label, as Passwords and Keys shows
// it ("Login"), quoted; "no label" when it cannot be read.
func collectionLabel(c ssConn, path dbus.ObjectPath) string {
	v, err := c.prop(path, ssCollection+".Label")
	if err != nil {
		return "no label"
	}
	l, _ := v.Value().(string)
	return fmt.Sprintf("%q", l)
}

func (s *secretService) attrs(key string) map[string]string {
	a := map[string]string{attrApplication: applicationName, attrKeyring: s.namespace}
	if key != "" {
		a[attrItem] = key
	}
	return a
}

// search returns the items of the collection tagged for key (every item of ours when
// key is "").
func (s *secretService) search(c ssConn, key string) ([]dbus.ObjectPath, error) {
	coll, err := s.resolve(c)
	if err != nil {
		return nil, err
	}
	var items []dbus.ObjectPath
	err = c.call(coll, ssCollection+".SearchItems", s.attrs(key)).Store(&items)
	return items, err
}

// searchKey is search for one key: no item is keyring.ErrKeyNotFound.
func (s *secretService) searchKey(c ssConn, key string) ([]dbus.ObjectPath, error) {
	items, err := s.search(c, key)
	if err == nil && len(items) == 0 {
		err = keyring.ErrKeyNotFound
	}
	return items, err
}

func (s *secretService) Get(key string) (keyring.Item, error) {
	var out keyring.Item
	err := s.with(func(c ssConn, sess *ssSession) error {
		items, err := s.searchKey(c, key)
		if err != nil {
			return err
		}
		var sec ssSecret
		if err := c.call(items[0], ssItem+".GetSecret", sess.path).Store(&sec); err != nil {
			return err
		}
		data, err := sess.open(sec)
		if err != nil {
			return err
		}
		out = keyring.Item{Key: key, Data: data}
		return nil
	})
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
		return keyring.Item{}, ssError("reading an item", err)
	}
	return out, err
}

func (s *secretService) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}

func (s *secretService) Set(it keyring.Item) error {
	err := s.with(func(c ssConn, sess *ssSession) error {
		coll, err := s.resolve(c)
		if err != nil {
			return err
		}
		sec, err := sess.seal(it.Data)
		if err != nil {
			return err
		}
		label := it.Label
		if label == "" {
			label = "credbroker " + it.Key
		}
		props := map[string]dbus.Variant{
			ssItem + ".Label":      dbus.MakeVariant(label),
			ssItem + ".Attributes": dbus.MakeVariant(s.attrs(it.Key)),
		}
		var item, prompt dbus.ObjectPath
		if err := c.call(coll, ssCollection+".CreateItem", props, sec, true).Store(&item, &prompt); err != nil {
			return err
		}
		if prompt != noPath {
			return lockedf("the Secret Service wants a confirmation dialog to store the item, and credbroker never opens one: unlock the %s first", describeCollection(s.collection))
		}
		return nil
	})
	if err != nil {
		return ssError("storing an item", err)
	}
	return nil
}

func (s *secretService) Remove(key string) error {
	err := s.with(func(c ssConn, _ *ssSession) error {
		items, err := s.searchKey(c, key)
		if err != nil {
			return err
		}
		for _, item := range items {
			var prompt dbus.ObjectPath
			if err := c.call(item, ssItem+".Delete").Store(&prompt); err != nil {
				return err
			}
			if prompt != noPath {
				return lockedf("the Secret Service wants a confirmation dialog to delete the item, and credbroker never opens one")
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
		return ssError("removing an item", err)
	}
	return err
}

func (s *secretService) Keys() ([]string, error) {
	var out []string
	err := s.with(func(c ssConn, _ *ssSession) error {
		out = nil
		items, err := s.search(c, "")
		if err != nil {
			return err
		}
		for _, item := range items {
			v, err := c.prop(item, ssItem+".Attributes")
			if err != nil {
				return err
			}
			if a, ok := v.Value().(map[string]string); ok && a[attrItem] != "" {
				out = append(out, a[attrItem])
			}
		}
		return nil
	})
	if err != nil {
		return nil, ssError("listing items", err)
	}
	return out, nil
}

// watch calls fn whenever the Secret Service says a collection changed
// (locked, unlocked, created, deleted) or the service itself (re)started,
// until ctx ends. It uses a connection of its own, and closes ready (when
// not nil) once it listens.
func (s *secretService) watch(ctx context.Context, fn func(), ready chan<- struct{}) error {
	if s.addr == "" {
		return errNoBus
	}
	conn, err := dbus.Connect(s.addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("keystore: connecting to the D-Bus session bus to watch the Secret Service: %w", err)
	}
	defer conn.Close()
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchInterface(ssService), dbus.WithMatchObjectPath(ssPath)},
		{dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchPathNamespace(ssPath)},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, ssBus)},
	} {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("keystore: watching the Secret Service: %w", err)
		}
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	if ready != nil {
		close(ready)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-ch:
			if !ok {
				return errors.New("keystore: the D-Bus session bus closed the connection that watched the Secret Service")
			}
			if sig != nil {
				fn()
			}
		}
	}
}
