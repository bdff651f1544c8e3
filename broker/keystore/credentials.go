package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"
)

// credentialsKeyring is the read-only backend over systemd credentials:
// the key NAME is the credential NAME ($CREDENTIALS_DIRECTORY/NAME), made
// with LoadCredentialEncrypted=NAME:/etc/credstore.encrypted/NAME and
// holding the two lines or the create-access-key JSON ParseKeyInput reads.
type credentialsKeyring struct {
	dir string
}

func (k credentialsKeyring) path(item string) (string, bool) {
	name, ok := strings.CutPrefix(item, keyPrefix)
	if !ok || ValidName(name) != nil {
		return "", false
	}
	return filepath.Join(k.dir, name), true
}

func (k credentialsKeyring) Get(item string) (keyring.Item, error) {
	p, ok := k.path(item)
	if !ok {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	if err != nil {
		return keyring.Item{}, err
	}
	return keyring.Item{Key: item, Data: data}, nil
}

func (k credentialsKeyring) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}

func (k credentialsKeyring) Set(keyring.Item) error {
	return errors.New("systemd credentials are read-only: encrypt the key with `systemd-creds encrypt --name=NAME - /etc/credstore.encrypted/NAME` and add LoadCredentialEncrypted=NAME to the unit")
}

func (k credentialsKeyring) Remove(string) error {
	return errors.New("systemd credentials are read-only: remove the LoadCredentialEncrypted= line and its file")
}

func (k credentialsKeyring) Keys() ([]string, error) {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && ValidName(e.Name()) == nil {
			// Other credentials of the unit (a master key, a passphrase)
			// are not keys: only those that parse as one are listed.
			data, err := os.ReadFile(filepath.Join(k.dir, e.Name()))
			if err != nil {
				continue
			}
			if _, err := decodeItem(data); err == nil {
				out = append(out, keyPrefix+e.Name())
			}
		}
	}
	return out, nil
}
