package keystore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/99designs/keyring"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/internal/masterkey"
)

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
		return fileMasterKey(func() ([]byte, error) { return masterkey.ReadFile(m.Path) }), nil
	case config.MasterKeyCredential:
		dir := o.Getenv("CREDENTIALS_DIRECTORY")
		if dir == "" {
			_, err := masterkey.ReadCredential(dir, m.Name) // the error says how to set it up
			return nil, fmt.Errorf("keystore: %w", err)
		}
		return fileMasterKey(func() ([]byte, error) { return masterkey.ReadCredential(dir, m.Name) }), nil
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
		key, derr := masterkey.Decode(it.Data)
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
	key := make([]byte, masterkey.Size)
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

// fileMasterKey reads the key from a file with internal/masterkey's rules.
type fileMasterKey func() ([]byte, error)

func (f fileMasterKey) MasterKey(context.Context) ([]byte, error) {
	key, err := f()
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return key, nil
}
