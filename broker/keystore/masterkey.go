package keystore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"

	"github.com/credbroker/credbroker/broker/config"
)

// MasterKeySize is the length of the embedded core's master key.
const MasterKeySize = 32

// MasterKeyProvider gives the embedded core's store its master key. (The
// store declares the same one-method interface on its side; this is the
// broker's implementation of it.)
type MasterKeyProvider interface {
	MasterKey(ctx context.Context) ([]byte, error)
}

// MasterKeyOptions configure NewMasterKey.
type MasterKeyOptions struct {
	// Getenv reads CREDENTIALS_DIRECTORY. Default os.Getenv.
	Getenv func(string) string
	// Rand makes a new key for the keyring source. Default crypto/rand.
	Rand io.Reader
	// NoCreate: a keyring master key that is missing is an error, not
	// made (for reading an existing core, whose key a new one cannot be).
	NoCreate bool
}

// NewMasterKey returns the provider the config's master_key describes.
// store is needed for source "keyring" only.
func NewMasterKey(m config.MasterKey, store *Store, optFns ...func(*MasterKeyOptions)) (MasterKeyProvider, error) {
	o := MasterKeyOptions{Getenv: os.Getenv, Rand: rand.Reader}
	for _, fn := range optFns {
		fn(&o)
	}
	switch m.Source {
	case config.MasterKeyKeyring:
		if store == nil {
			return nil, errors.New("keystore: master key in the keyring, but no keyring is open")
		}
		if store.Backend() == config.BackendSystemdCredentials {
			return nil, errors.New("keystore: the systemd-credentials keyring is read-only; use master_key { source = \"credential\" }")
		}
		return &keyringMasterKey{s: store, name: m.Name, rand: o.Rand, noCreate: o.NoCreate}, nil
	case config.MasterKeyFile:
		return fileMasterKey{path: m.Path, strict: true}, nil
	case config.MasterKeyCredential:
		dir := o.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			return nil, fmt.Errorf("keystore: master key credential %q: $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredentialEncrypted=%s:/etc/credstore.encrypted/%s (made with `head -c32 /dev/urandom | systemd-creds encrypt --name=%s - /etc/credstore.encrypted/%s`)", m.Name, m.Name, m.Name, m.Name, m.Name)
		}
		// systemd makes the directory and files private to the service.
		return fileMasterKey{path: filepath.Join(dir, m.Name)}, nil
	}
	return nil, fmt.Errorf("keystore: unknown master key source %q", m.Source)
}

// keyringMasterKey keeps the key in the keyring, made on first use.
type keyringMasterKey struct {
	s        *Store
	name     string
	rand     io.Reader
	noCreate bool
}

func (k *keyringMasterKey) MasterKey(context.Context) ([]byte, error) {
	item := masterPrefix + k.name
	it, err := k.s.kr.Get(item)
	if err == nil {
		key, derr := decodeMasterKey(it.Data)
		if derr != nil {
			return nil, fmt.Errorf("keystore: master key %q in the %s: %w", k.name, k.s.desc, derr)
		}
		return key, nil
	}
	if !errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, fmt.Errorf("keystore: reading master key %q from the %s: %w", k.name, k.s.desc, err)
	}
	if k.noCreate {
		return nil, fmt.Errorf("keystore: no master key %q in the %s (name the key the core was made with: the config's master_key, or --master-key-file)", k.name, k.s.desc)
	}
	key := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(k.rand, key); err != nil {
		return nil, fmt.Errorf("keystore: making a master key: %w", err)
	}
	if err := k.s.kr.Set(keyring.Item{Key: item, Data: []byte(base64.StdEncoding.EncodeToString(key)),
		Label: "credbroker master key " + k.name}); err != nil {
		return nil, fmt.Errorf("keystore: storing master key %q in the %s: %w", k.name, k.s.desc, err)
	}
	k.s.log.Info("made a new master key for the embedded core", "name", k.name, "keyring", k.s.desc)
	return key, nil
}

// fileMasterKey reads the key from a file; strict refuses a file others
// may read.
type fileMasterKey struct {
	path   string
	strict bool
}

func (f fileMasterKey) MasterKey(context.Context) ([]byte, error) {
	if f.strict {
		st, err := os.Stat(f.path)
		if err != nil {
			return nil, fmt.Errorf("keystore: master key file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("keystore: master key file %s is readable by others (mode %04o); chmod 600 it", f.path, st.Mode().Perm())
		}
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("keystore: master key: %w", err)
	}
	key, err := decodeMasterKey(data)
	if err != nil {
		return nil, fmt.Errorf("keystore: master key in %s: %w", f.path, err)
	}
	return key, nil
}

// decodeMasterKey accepts 32 raw bytes, or 32 bytes in hex or base64.
func decodeMasterKey(data []byte) ([]byte, error) {
	if len(data) == MasterKeySize {
		return append([]byte(nil), data...), nil
	}
	text := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(text); err == nil && len(b) == MasterKeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("it must hold %d bytes: raw, hex or base64 (e.g. `head -c32 /dev/urandom`)", MasterKeySize)
}
