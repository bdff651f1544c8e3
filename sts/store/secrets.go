package store

import (
	"fmt"
	"strings"

	"github.com/credbroker/credbroker/sts/account"
)

const purposeSecret = "secret"

func checkSecretName(name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("secret name %q must have 1 to 256 bytes", name)
	}
	return nil
}

// PutSecret stores value under name, encrypted: the core's session-token signing keys and
// any other secret of its own ("signing-key/<kid>", …).
func (tx *Tx) PutSecret(name string, value []byte) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if err := checkSecretName(name); err != nil {
		return err
	}
	sealed, err := tx.s.sealer.seal(purposeSecret, name, value)
	if err != nil {
		return err
	}
	return tx.putRaw(bSecrets, []byte(name), sealed)
}

// Secret returns the secret name (NoSuchEntity when absent).
func (tx *Tx) Secret(name string) ([]byte, error) {
	sealed, err := tx.kv.Get(bSecrets, []byte(name))
	if err != nil || sealed == nil {
		return nil, orErr(err, notFound("Secret %s cannot be found.", name))
	}
	return tx.s.sealer.open(purposeSecret, name, sealed)
}

// SecretNames returns the names of the secrets that start with prefix, sorted.
func (tx *Tx) SecretNames(prefix string) ([]string, error) {
	var out []string
	err := tx.kv.Scan(bSecrets, []byte(prefix), nil, func(k, _ []byte) bool {
		out = append(out, string(k))
		return true
	})
	return out, err
}

// DeleteSecret deletes the secret name (NoSuchEntity when absent).
func (tx *Tx) DeleteSecret(name string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if v, err := tx.kv.Get(bSecrets, []byte(name)); err != nil || v == nil {
		return orErr(err, account.Errorf(account.NoSuchEntity, "Secret %s cannot be found.", strings.TrimSpace(name)))
	}
	return tx.del(bSecrets, []byte(name))
}
