// Package masterkey is the one loader of the embedded core's master key from a
// file, shared by the store (sts/store's FileKey and CredentialKey, used by
// `core --master-key-file`) and the broker's keyring layer (the config's
// master_key source "file" and "credential"), so that every path applies the
// same rules, internal/secretfile's (which the x509 source's private keys follow
// too):
//
//   - a key file the operator made (ReadFile) must be a regular file that
//     neither its group nor other users may access (mode 0600 or 0400);
//   - a systemd credential (ReadCredential) may carry group bits (its ACL's
//     mask), so only other users' access is refused.
//
// A key is 32 bytes: raw, 64 hex digits, or base64 (whitespace around the text
// forms ignored). Errors never include key material.
package masterkey

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/credbroker/credbroker/internal/secretfile"
)

// Size is the size of the master key: an AES-256 key.
const Size = 32

// ReadFile reads the master key from a key file at path. It refuses a file
// its group or other users may access.
func ReadFile(path string) ([]byte, error) {
	return read(path, secretfile.File)
}

// ReadCredential reads the master key from systemd credential name in dir
// ($CREDENTIALS_DIRECTORY). It refuses a name with a path in it and a file
// other users may access.
func ReadCredential(dir, name string) ([]byte, error) {
	if dir == "" {
		return nil, fmt.Errorf("master key credential %q: $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredentialEncrypted=%s:/etc/credstore.encrypted/%s (made with `head -c32 /dev/urandom | systemd-creds encrypt --name=%s - /etc/credstore.encrypted/%s`)", name, name, name, name, name)
	}
	if name == "" || name != filepath.Base(name) {
		return nil, fmt.Errorf("master key credential name %q must be a plain file name", name)
	}
	return read(filepath.Join(dir, name), secretfile.Credential)
}

// read reads and decodes the key at path under rule (internal/secretfile).
func read(path string, rule secretfile.Rule) ([]byte, error) {
	raw, err := secretfile.Read(path, "master key file", rule)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	key, err := Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, nil
}

// Decode accepts 32 raw bytes, 64 hex digits or the base64 of 32 bytes
// (whitespace around the text forms ignored).
func Decode(raw []byte) ([]byte, error) {
	if len(raw) == Size {
		return bytes.Clone(raw), nil
	}
	text := bytes.TrimSpace(raw)
	if len(text) == 2*Size {
		if k, err := hex.DecodeString(string(text)); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(string(text)); err == nil && len(k) == Size {
			return k, nil
		}
	}
	return nil, fmt.Errorf("it must hold a %d-byte key: raw, hex or base64 (%d bytes found; e.g. `head -c32 /dev/urandom`)", Size, len(raw))
}

// WriteFile creates path (it must not exist) with a new random master key in
// base64, mode 0600, and syncs it. ReadFile reads it; systemd's
// LoadCredential= and `systemd-creds encrypt` take it too.
func WriteFile(path string, rand io.Reader) error {
	key := make([]byte, Size)
	if _, err := io.ReadFull(rand, key); err != nil {
		return fmt.Errorf("generating a master key: %w", err)
	}
	defer clear(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating master key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("writing master key file %s: %w", path, err)
	}
	return nil
}
