package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"sync"

	"github.com/credbroker/credbroker/internal/masterkey"
)

// MasterKeySize is the size of the master key: an AES-256 key.
const MasterKeySize = masterkey.Size

// KeySource supplies the master key that encrypts the store's data key. The master key
// is never written to the store file. The broker's keyring layer implements KeySource to
// keep it in the OS keyring; KeySourceFunc adapts a function.
type KeySource interface {
	// MasterKey returns the 32-byte master key. The store does not keep the slice.
	MasterKey(ctx context.Context) ([]byte, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context) ([]byte, error)

// MasterKey implements KeySource.
func (f KeySourceFunc) MasterKey(ctx context.Context) ([]byte, error) { return f(ctx) }

// CredentialKey reads the master key from the systemd credential name: the file
// $CREDENTIALS_DIRECTORY/name that LoadCredential=name:/path (or LoadCredentialEncrypted=)
// gives the service. getenv is os.Getenv outside tests. The file holds 32 raw bytes, or
// 64 hex digits, or the base64 of 32 bytes (see WriteKeyFile); internal/masterkey's
// ReadCredential is the rule.
func CredentialKey(name string, getenv func(string) string) KeySource {
	dir := getenv("CREDENTIALS_DIRECTORY")
	return KeySourceFunc(func(context.Context) ([]byte, error) { return masterkey.ReadCredential(dir, name) })
}

// FileKey reads the master key from the file at path (same formats as CredentialKey).
// The file must not be accessible to its group or other users (internal/masterkey's
// ReadFile, the rule of the config's master_key source "file" too).
func FileKey(path string) KeySource {
	return KeySourceFunc(func(context.Context) ([]byte, error) { return masterkey.ReadFile(path) })
}

// MemoryKey returns a KeySource holding a random key in memory only, for stores that live
// no longer than the process (`serve --dev`).
func MemoryKey(rand io.Reader) KeySource {
	var (
		once sync.Once
		key  []byte
		err  error
	)
	return KeySourceFunc(func(context.Context) ([]byte, error) {
		once.Do(func() {
			key = make([]byte, MasterKeySize)
			if _, err = io.ReadFull(rand, key); err != nil {
				err = fmt.Errorf("generating an in-memory master key: %w", err)
			}
		})
		return bytes.Clone(key), err
	})
}

// WriteKeyFile creates path (it must not exist) with a new random master key in base64,
// mode 0600, and syncs it. That file can be named by FileKey, or handed to systemd's
// LoadCredential= / `systemd-creds encrypt`.
func WriteKeyFile(path string, rand io.Reader) error { return masterkey.WriteFile(path, rand) }

// sealer encrypts records with the store's data key (AES-256-GCM, random 96-bit nonce)
// and binds each ciphertext to the record that holds it through the additional data, so a
// sealed value copied into another record (or another store) does not open.
type sealer struct {
	aead    cipher.AEAD
	storeID []byte
	rand    io.Reader
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func aad(storeID []byte, purpose, id string) []byte {
	b := make([]byte, 0, 32+len(storeID)+len(purpose)+len(id))
	b = append(b, "credbroker/store/v1\x00"...)
	b = append(b, storeID...)
	b = append(b, 0)
	b = append(b, purpose...)
	b = append(b, 0)
	return append(b, id...)
}

func (s *sealer) seal(purpose, id string, plaintext []byte) ([]byte, error) {
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := io.ReadFull(s.rand, out); err != nil {
		return nil, fmt.Errorf("reading a nonce: %w", err)
	}
	return s.aead.Seal(out, out, plaintext, aad(s.storeID, purpose, id)), nil
}

func (s *sealer) open(purpose, id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("sealed %s %s is truncated", purpose, id)
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(s.storeID, purpose, id))
	if err != nil {
		return nil, fmt.Errorf("sealed %s %s does not open: %w", purpose, id, err)
	}
	return pt, nil
}
