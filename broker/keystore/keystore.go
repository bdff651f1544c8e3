// Package keystore keeps IAM users' long-term keys in the OS keyring: the
// kernel keyring (keyctl) and an encrypted file through
// github.com/99designs/keyring; the Secret Service (over D-Bus) and pass
// (through the pass program) with backends of its own; or, read-only,
// systemd credentials.
//
// A daemon opens its Store once at start-up and reads keys from it at each
// fetch. It never prompts: a locked keyring (a locked Secret Service
// collection, a GPG key whose passphrase gpg-agent has not cached) is
// ErrLocked, with the fix in words, and Watch says when it may have been
// unlocked. Secrets live only in the keyring and in memory: the Key type
// never prints its secret, and nothing here writes one to a plain file.
//
// It also provides the embedded core's master key (MasterKeyProvider).
package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker/config"
)

var (
	// ErrNotFound: no key of that name.
	ErrNotFound = errors.New("keystore: no such key")
	// ErrLocked: the keyring needs a passphrase and there is no way to ask.
	ErrLocked = errors.New("keystore: the keyring is locked")
	// ErrReadOnly: the backend (systemd credentials) cannot be written.
	ErrReadOnly = errors.New("keystore: this keyring backend is read-only")
)

// lockedError is ErrLocked with its own words (what is locked and how to
// unlock it) instead of ErrLocked's.
type lockedError struct{ msg string }

func (e *lockedError) Error() string        { return e.msg }
func (e *lockedError) Is(target error) bool { return target == ErrLocked }

func lockedf(format string, args ...any) error {
	return &lockedError{msg: fmt.Sprintf(format, args...)}
}

// Item name prefixes inside the keyring.
const (
	keyPrefix    = "aws-key:"
	masterPrefix = "master-key:"
)

var reName = regexp.MustCompile(`^[A-Za-z0-9._@+=-]{1,64}$`)

// ValidName reports whether name can name a key.
func ValidName(name string) error {
	if !reName.MatchString(name) {
		return fmt.Errorf("keystore: %q is not a key name: use 1 to 64 letters, digits and ._@+=-", name)
	}
	return nil
}

// Key is an IAM user's long-term access key. It never prints its secret.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
	// Added is when the key was stored.
	Added time.Time
	// Previous is the key being rotated out: set from the moment `keys
	// rotate` stores the new key until the old one is deleted in IAM. A
	// source may fall back to it while the new key is not yet accepted.
	Previous *Key
}

// String shows the key id only.
func (k Key) String() string { return k.AccessKeyID + " (secret hidden)" }

// GoString shows the key id only, for %#v.
func (k Key) GoString() string { return "keystore.Key{" + k.AccessKeyID + ", secret hidden}" }

// Credentials returns the key as SDK credentials (they do not expire).
func (k Key) Credentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, Source: "credbroker keyring"}
}

// item is the stored form.
type item struct {
	Version         int       `json:"version"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	Added           time.Time `json:"added,omitzero"`
	Previous        *item     `json:"previous,omitempty"`
}

func toItem(k *Key) *item {
	if k == nil {
		return nil
	}
	return &item{Version: 1, AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, Added: k.Added, Previous: toItem(k.Previous)}
}

func fromItem(it *item) *Key {
	if it == nil {
		return nil
	}
	return &Key{AccessKeyID: it.AccessKeyID, SecretAccessKey: it.SecretAccessKey, Added: it.Added, Previous: fromItem(it.Previous)}
}

// Entry is what List shows of a key: never the secret.
type Entry struct {
	Name        string
	AccessKeyID string
	Added       time.Time
	// PreviousKeyID is set while a rotation is unfinished.
	PreviousKeyID string
}

// Options configure Open. FromConfig fills them from the config file.
type Options struct {
	// Keyring is the config's keyring block: the backend, the name (the named
	// keyring of keyctl, the item tag of the Secret Service, the prefix in
	// pass), the collection, the keyctl scope, pass's and the file backend's
	// settings.
	config.Keyring
	// Prompt asks for the file backend's passphrase when neither
	// PassphraseFile nor PassphraseCredential gives it (nil: no way to ask,
	// and a file keyring is ErrLocked). Without a Prompt, pass runs gpg with
	// --pinentry-mode=error, so that a GPG key gpg-agent has not unlocked
	// is ErrLocked rather than a pinentry dialog.
	Prompt func(message string) (string, error)
	// Getenv reads DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR,
	// CREDENTIALS_DIRECTORY, and for pass PASSWORD_STORE_DIR, HOME and
	// PASSWORD_STORE_GPG_OPTS. Default os.Getenv.
	Getenv func(string) string
	Now    func() time.Time
	Logger hclog.Logger
}

// FromConfig applies the config file's keyring settings.
func FromConfig(k config.Keyring) func(*Options) {
	return func(o *Options) { o.Keyring = k }
}

// Store is an open keyring. It is safe for concurrent use to the extent
// the backend is (all of them serialise in the kernel or the service).
type Store struct {
	kr      keyring.Keyring
	backend config.Backend
	desc    string
	now     func() time.Time
	log     hclog.Logger
	// watch, when the backend can tell, calls fn on each change that may
	// unlock it (see Watch).
	watch func(ctx context.Context, fn func()) error
}

// Open opens the keyring once; keep the Store for the life of the process.
func Open(optFns ...func(*Options)) (*Store, error) {
	o := Options{Keyring: config.Keyring{Backend: config.BackendAuto, Name: config.DefaultKeyringName, KeyctlScope: "user", PassCmd: "pass"},
		Getenv: os.Getenv, Now: time.Now}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	backend := o.Backend
	if backend == config.BackendAuto || backend == "" {
		backend = autoBackend(o.Getenv, dialBus)
	}
	s := &Store{backend: backend, now: o.Now, log: o.Logger}
	if backend == config.BackendSystemdCredentials {
		dir := o.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			return nil, errors.New("keystore: backend systemd-credentials needs $CREDENTIALS_DIRECTORY: run under systemd with LoadCredentialEncrypted=NAME:FILE (one per key; create FILE with `systemd-creds encrypt`)")
		}
		s.kr, s.desc = credentialsKeyring{dir: dir}, "systemd credentials in "+dir
		return s, nil
	}
	cfg := keyring.Config{
		ServiceName:      o.Name,
		KeyCtlScope:      o.KeyctlScope,
		FileDir:          o.FileDir,
		FilePasswordFunc: passphrase(o),
		// Keys readable by every process of the owning user, possessed or
		// not: a service whose session keyring does not link the user
		// keyring (systemd's KeyringMode=private) must still read them.
		KeyCtlPerm: keyring.KEYCTL_PERM_ALL<<keyring.KEYCTL_PERM_PROCESS | keyring.KEYCTL_PERM_ALL<<keyring.KEYCTL_PERM_USER,
	}
	switch backend {
	case config.BackendKeyctl:
		cfg.AllowedBackends = []keyring.BackendType{keyring.KeyCtlBackend}
		s.desc = fmt.Sprintf("kernel keyring %q (%s scope)", o.Name, o.KeyctlScope)
	case config.BackendSecretService:
		ss := newSecretService(o)
		s.kr, s.desc = ss, describeCollection(o.Collection)
		s.watch = func(ctx context.Context, fn func()) error { return ss.watch(ctx, fn, nil) }
		return s, nil
	case config.BackendPass:
		ps, err := newPassStore(o)
		if err != nil {
			return nil, err
		}
		s.kr, s.desc = ps, fmt.Sprintf("pass store %s (prefix %q)", ps.dir, o.Name)
		return s, nil
	case config.BackendFile:
		if o.FileDir == "" {
			return nil, errors.New("keystore: the file backend needs a directory (keyring { file_dir = ... })")
		}
		cfg.AllowedBackends = []keyring.BackendType{keyring.FileBackend}
		s.desc = "encrypted files in " + o.FileDir
	case "platform":
		s.desc = "the platform keyring"
	default:
		return nil, fmt.Errorf("keystore: unknown backend %q", backend)
	}
	open := keyring.Open
	if backend == config.BackendKeyctl {
		open = func(cfg keyring.Config) (keyring.Keyring, error) { return openKernelKeyring(cfg, time.Sleep) }
	}
	kr, err := open(cfg)
	if err != nil {
		return nil, fmt.Errorf("keystore: opening the %s: %w", s.desc, err)
	}
	s.kr = kr
	return s, nil
}

// autoBackend picks Secret Service when a D-Bus session bus answers, the
// kernel keyring otherwise (on Linux). The bus is dialled, not just named:
// 99designs/keyring's init() (through godbus) sets $DBUS_SESSION_BUS_ADDRESS
// to /run/user/UID/bus even where that cannot be opened (the system
// service, whose ProtectHome= makes /run/user answer EACCES).
func autoBackend(getenv func(string) string, dial func(network, addr string) error) config.Backend {
	if runtime.GOOS != "linux" {
		return "platform"
	}
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "disabled:" && busAnswers(a, dial) {
		return config.BackendSecretService
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && dial("unix", filepath.Join(d, "bus")) == nil {
		return config.BackendSecretService
	}
	return config.BackendKeyctl
}

// busAnswers dials the Unix sockets a D-Bus address names (the first that
// answers will do); an address of another transport is taken as it is.
func busAnswers(addr string, dial func(network, addr string) error) bool {
	for _, entry := range strings.Split(addr, ";") {
		transport, params, _ := strings.Cut(entry, ":")
		if transport != "unix" {
			return true
		}
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "path":
				if dial("unix", v) == nil {
					return true
				}
			case "abstract":
				if dial("unix", "@"+v) == nil {
					return true
				}
			}
		}
	}
	return false
}

// dialBus connects to a bus socket and hangs up.
func dialBus(network, addr string) error {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// passphrase returns the file backend's passphrase source.
func passphrase(o Options) keyring.PromptFunc {
	return func(msg string) (string, error) {
		path := o.PassphraseFile
		if o.PassphraseCredential != "" {
			dir := o.Getenv("CREDENTIALS_DIRECTORY")
			if dir == "" {
				return "", fmt.Errorf("%w: passphrase_credential %q needs $CREDENTIALS_DIRECTORY (systemd LoadCredentialEncrypted=)", ErrLocked, o.PassphraseCredential)
			}
			path = filepath.Join(dir, o.PassphraseCredential)
		}
		if path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("%w: reading the passphrase: %v", ErrLocked, err)
			}
			p := strings.TrimRight(string(b), "\r\n")
			if p == "" {
				return "", fmt.Errorf("%w: the passphrase file %s is empty", ErrLocked, path)
			}
			return p, nil
		}
		if o.Prompt == nil {
			return "", fmt.Errorf("%w: the file keyring's passphrase cannot be asked here; set passphrase_file or passphrase_credential", ErrLocked)
		}
		return o.Prompt(msg)
	}
}

// Watch calls fn each time the keyring may have become readable (a Secret
// Service collection unlocked, the service started), until ctx ends. It
// returns at once, with nil, for backends that do not tell (the others are
// never locked in a way that goes away by itself). A daemon uses it to
// fetch again, at once, the sessions that wait for a locked keyring.
func (s *Store) Watch(ctx context.Context, fn func()) error {
	if s.watch == nil {
		return nil
	}
	return s.watch(ctx, fn)
}

// Backend is the backend in use (auto resolved).
func (s *Store) Backend() config.Backend { return s.backend }

// String describes the keyring, for messages.
func (s *Store) String() string { return s.desc }

// Put stores k under name, replacing what was there.
func (s *Store) Put(name string, k Key) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return errors.New("keystore: a key needs an access key id and a secret")
	}
	if k.Added.IsZero() {
		k.Added = s.now().UTC().Truncate(time.Second)
	}
	data, err := json.Marshal(toItem(&k))
	if err != nil {
		return err
	}
	if err := s.kr.Set(keyring.Item{Key: keyPrefix + name, Data: data, Label: "credbroker key " + name,
		Description: "AWS access key " + k.AccessKeyID}); err != nil {
		return fmt.Errorf("keystore: storing key %q in the %s: %w", name, s.desc, err)
	}
	return nil
}

// Get returns the key stored under name.
func (s *Store) Get(name string) (Key, error) {
	if err := ValidName(name); err != nil {
		return Key{}, err
	}
	it, err := s.kr.Get(keyPrefix + name)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return Key{}, fmt.Errorf("%w: no key named %q in the %s (add it with `credbroker keys add %s`)", ErrNotFound, name, s.desc, name)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keystore: reading key %q from the %s: %w", name, s.desc, err)
	}
	k, err := decodeItem(it.Data)
	if err != nil {
		return Key{}, fmt.Errorf("keystore: key %q in the %s: %w", name, s.desc, err)
	}
	return k, nil
}

func decodeItem(data []byte) (Key, error) {
	var it item
	if err := json.Unmarshal(data, &it); err == nil && it.Version == 1 {
		if it.AccessKeyID == "" || it.SecretAccessKey == "" {
			return Key{}, errors.New("the stored key lacks its id or secret")
		}
		return *fromItem(&it), nil
	}
	// Not our format: a key written by hand or by systemd-creds.
	id, secret, err := ParseKeyInput(data)
	if err != nil {
		return Key{}, err
	}
	return Key{AccessKeyID: id, SecretAccessKey: secret}, nil
}

// List returns the stored keys, by name, without secrets.
func (s *Store) List() ([]Entry, error) {
	names, err := s.kr.Keys()
	if err != nil {
		return nil, fmt.Errorf("keystore: listing the %s: %w", s.desc, err)
	}
	var out []Entry
	for _, n := range names {
		name, ok := strings.CutPrefix(n, keyPrefix)
		if !ok || ValidName(name) != nil {
			continue
		}
		k, err := s.Get(name)
		if err != nil {
			return nil, err
		}
		e := Entry{Name: name, AccessKeyID: k.AccessKeyID, Added: k.Added}
		if k.Previous != nil {
			e.PreviousKeyID = k.Previous.AccessKeyID
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove deletes the key stored under name.
func (s *Store) Remove(name string) error {
	if _, err := s.Get(name); err != nil {
		return err
	}
	if err := s.kr.Remove(keyPrefix + name); err != nil {
		return fmt.Errorf("keystore: removing key %q from the %s: %w", name, s.desc, err)
	}
	return nil
}
