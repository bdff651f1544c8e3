package store

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/sts/account"
)

func cryptoRandRead(p []byte) (int, error) { return crand.Read(p) }

// encodings returns the forms a secret could leak in.
func encodings(b []byte) map[string][]byte {
	return map[string][]byte{
		"raw":       b,
		"base64":    []byte(base64.StdEncoding.EncodeToString(b)),
		"base64raw": []byte(base64.RawStdEncoding.EncodeToString(b)),
		"base64url": []byte(base64.RawURLEncoding.EncodeToString(b)),
		"hex":       []byte(hex.EncodeToString(b)),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString(b))),
		"base32":    []byte(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)),
	}
}

// TestNoPlaintextSecrets creates entities with secrets in a bbolt store, closes it and
// searches the raw file for every secret in every encoding.
func TestNoPlaintextSecrets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "core.db")
	master := make([]byte, MasterKeySize)
	_, _ = crand.Read(master)
	s, err := OpenFile(ctx, path, KeySourceFunc(func(context.Context) ([]byte, error) { return bytes.Clone(master), nil }),
		func(o *Options) { o.AccountID = testAccount })
	ok(t, "OpenFile", err)
	const canary = "canary-stored-in-plaintext-on-purpose"
	secrets := map[string][]byte{"master key": master}
	err = s.Update(ctx, func(tx *Tx) error {
		for _, name := range []string{"alice", "bob", "ci"} {
			if _, err := tx.CreateUser(account.User{Name: name, Tags: account.Tags{{Key: "note", Value: canary}}}); err != nil {
				return err
			}
			for range 2 {
				k, err := tx.CreateAccessKey(name)
				if err != nil {
					return err
				}
				secrets["secret of "+k.ID] = []byte(k.Secret)
				raw, _ := base64.StdEncoding.DecodeString(k.Secret)
				secrets["decoded secret of "+k.ID] = raw
			}
			d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: name + "-mfa"})
			if err != nil {
				return err
			}
			secrets["seed of "+d.Serial] = d.Seed
			secrets["base32 seed of "+d.Serial] = []byte(d.Base32Seed())
			if err := tx.EnableMFADevice(name, d.Serial); err != nil {
				return err
			}
		}
		k, err := tx.PutAccessKey(account.AccessKey{UserName: account.RootUserName, ID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
		if err != nil {
			return err
		}
		secrets["root secret"] = []byte(k.Secret)
		svc, err := tx.AddUserCredential("bob", account.UserCredential{Kind: account.CredServiceSpecific, ServiceName: "codecommit.amazonaws.com",
			Secret: "service-password-" + base64.StdEncoding.EncodeToString(master[:12])})
		if err != nil {
			return err
		}
		secrets["service-specific password"] = []byte(svc.Secret)
		serverKey := make([]byte, 121) // stands for a PKCS #8 key: the store seals whatever it is given
		_, _ = crand.Read(serverKey)
		secrets["server certificate key"] = serverKey
		if _, err := tx.UploadServerCertificate(account.ServerCertificate{Name: "www", Body: "-----BEGIN CERTIFICATE-----", PrivateKey: bytes.Clone(serverKey)}); err != nil {
			return err
		}
		signing := make([]byte, 32)
		_, _ = crand.Read(signing)
		secrets["signing key"] = signing
		return tx.PutSecret("signing-key/k1", signing)
	})
	ok(t, "Update", err)
	// Rewrite records that hold sealed values, as the IAM API will: renames, status.
	err = s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.UpdateUser("alice", "alice2", "/x/"); err != nil {
			return err
		}
		if _, err := tx.UpdateServerCertificate("www", "www2", "/elb/"); err != nil {
			return err
		}
		svcs, err := tx.UserCredentials(account.CredServiceSpecific, "bob")
		if err != nil {
			return err
		}
		if _, err := tx.UpdateUserCredential(account.CredServiceSpecific, "bob", svcs[0].ID, func(c *account.UserCredential) error { c.Status = account.KeyInactive; return nil }); err != nil {
			return err
		}
		return tx.UpdateAccessKey("AKIAIOSFODNN7EXAMPLE", account.KeyInactive)
	})
	ok(t, "Update", err)
	ok(t, "Close", s.Close())

	file, err := os.ReadFile(path)
	ok(t, "ReadFile", err)
	if !bytes.Contains(file, []byte(canary)) {
		t.Fatal("the plaintext canary is not in the file: the search below would prove nothing")
	}
	checked := 0
	for what, secret := range secrets {
		for enc, form := range encodings(secret) {
			if len(form) < 8 {
				continue
			}
			checked++
			if bytes.Contains(file, form) {
				t.Errorf("%s (%s) is in the store file in plaintext", what, enc)
			}
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("store file mode %v, want 0600", fi.Mode().Perm())
	}
	t.Logf("searched %d bytes for %d forms of %d secrets", len(file), checked, len(secrets))
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "core.db")
	_, err := OpenFile(ctx, path, testKey())
	if err == nil || !strings.Contains(err.Error(), "no account id") {
		t.Fatalf("opening an empty store without an account id: %v", err)
	}
	s, err := OpenFile(ctx, path, testKey(), func(o *Options) { o.AccountID = testAccount })
	ok(t, "create", err)
	var key account.AccessKey
	err = s.Update(ctx, func(tx *Tx) error {
		if _, err := tx.CreateUser(account.User{Name: "u"}); err != nil {
			return err
		}
		key, err = tx.CreateAccessKey("u")
		return err
	})
	ok(t, "Update", err)
	gen := s.Generation()
	s.RecordAccessKeyUse(key.ID, "sts", "us-east-1", testEpoch)
	ok(t, "Close", s.Close()) // flushes usage

	wrong := KeySourceFunc(func(context.Context) ([]byte, error) { return make([]byte, MasterKeySize), nil })
	if _, err := OpenFile(ctx, path, wrong); err == nil || !strings.Contains(err.Error(), "master key does not open") {
		t.Errorf("opening with the wrong master key: %v", err)
	}
	if _, err := OpenFile(ctx, path, testKey(), func(o *Options) { o.AccountID = "999999999999" }); err == nil || !strings.Contains(err.Error(), "holds account 123456789012") {
		t.Errorf("opening with another account id: %v", err)
	}
	s, err = OpenFile(ctx, path, testKey())
	ok(t, "reopen", err)
	defer s.Close()
	if s.AccountID() != testAccount || s.Generation() != gen {
		t.Errorf("reopened: account %s generation %d (was %d)", s.AccountID(), s.Generation(), gen)
	}
	var k account.AccessKey
	err = s.View(ctx, func(tx *Tx) error { k, err = tx.AccessKey(key.ID); return err })
	ok(t, "AccessKey", err)
	if k.Secret != key.Secret || !k.LastUsed.Date.Equal(testEpoch) || k.LastUsed.Service != "sts" {
		t.Errorf("reopened key %+v", k)
	}
}

func TestKeySources(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := bytes.Repeat([]byte{0xAB}, MasterKeySize)
	write := func(name string, content []byte, mode os.FileMode) {
		ok(t, "write", os.WriteFile(filepath.Join(dir, name), content, mode))
		ok(t, "chmod", os.Chmod(filepath.Join(dir, name), mode))
	}
	write("raw", key, 0o400)
	write("hex", []byte(hex.EncodeToString(key)+"\n"), 0o440)
	write("b64", []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
	write("short", []byte("c2hvcnQta2V5LW1hdGVyaWFs"), 0o600)
	write("open", key, 0o644)
	write("group", key, 0o640)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	systemd := env(map[string]string{"CREDENTIALS_DIRECTORY": dir})
	for _, name := range []string{"raw", "hex", "b64"} {
		got, err := CredentialKey(name, systemd).MasterKey(ctx)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("CredentialKey(%s) = %x, %v", name, got, err)
		}
	}
	cases := map[string]struct {
		src  KeySource
		want string
	}{
		"no CREDENTIALS_DIRECTORY": {CredentialKey("raw", env(nil)), "LoadCredentialEncrypted=raw"},
		"path in the name":         {CredentialKey("../raw", systemd), "plain file name"},
		"missing":                  {CredentialKey("absent", systemd), "no such file"},
		"wrong size":               {FileKey(filepath.Join(dir, "short")), "32-byte key"},
		"readable by others":       {FileKey(filepath.Join(dir, "open")), "accessible to other users"},
		"readable by the group":    {FileKey(filepath.Join(dir, "group")), "chmod 600"},
		"credential for others":    {CredentialKey("open", systemd), "chmod o-rwx"},
	}
	for name, c := range cases {
		_, err := c.src.MasterKey(ctx)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
	m := MemoryKey(cryptoRand{})
	a, _ := m.MasterKey(ctx)
	b, _ := m.MasterKey(ctx)
	if len(a) != MasterKeySize || !bytes.Equal(a, b) {
		t.Errorf("MemoryKey is not one stable key: %x %x", a, b)
	}
	kf := filepath.Join(dir, "new.key")
	ok(t, "WriteKeyFile", WriteKeyFile(kf, cryptoRand{}))
	if err := WriteKeyFile(kf, cryptoRand{}); err == nil {
		t.Error("WriteKeyFile overwrote an existing key")
	}
	if got, err := FileKey(kf).MasterKey(ctx); err != nil || len(got) != MasterKeySize {
		t.Errorf("FileKey of a written key: %d bytes, %v", len(got), err)
	}
}
