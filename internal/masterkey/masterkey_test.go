package masterkey

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFileAndCredential(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{0xCD}, Size)
	files := map[string]struct {
		content []byte
		mode    os.FileMode
	}{
		"raw":   {key, 0o600},
		"hex":   {[]byte(hex.EncodeToString(key) + "\n"), 0o400},
		"b64":   {[]byte(base64.StdEncoding.EncodeToString(key)), 0o600},
		"group": {key, 0o640},
		"other": {key, 0o604},
		"short": {[]byte("c2hvcnQta2V5LW1hdGVyaWFs"), 0o600},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f.content, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		read func() ([]byte, error)
		want string // "" : the key
	}{
		"file raw":          {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "raw")) }, ""},
		"file hex":          {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "hex")) }, ""},
		"file base64":       {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "b64")) }, ""},
		"file group-read":   {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "group")) }, "chmod 600"},
		"file other-read":   {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "other")) }, "chmod 600"},
		"file short":        {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "short")) }, "32-byte key"},
		"file missing":      {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "none")) }, "no such file"},
		"file directory":    {func() ([]byte, error) { return ReadFile(filepath.Join(dir, "dir")) }, "not a regular file"},
		"credential group":  {func() ([]byte, error) { return ReadCredential(dir, "group") }, ""},
		"credential other":  {func() ([]byte, error) { return ReadCredential(dir, "other") }, "chmod o-rwx"},
		"credential path":   {func() ([]byte, error) { return ReadCredential(dir, "../raw") }, "plain file name"},
		"credential no dir": {func() ([]byte, error) { return ReadCredential("", "raw") }, "LoadCredentialEncrypted=raw"},
	}
	for name, c := range cases {
		got, err := c.read()
		if c.want == "" {
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("%s: %x, %v", name, got, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new.key")
	if err := WriteFile(p, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, rand.Reader); err == nil {
		t.Error("WriteFile overwrote an existing key")
	}
	if got, err := ReadFile(p); err != nil || len(got) != Size {
		t.Errorf("ReadFile of a written key: %d bytes, %v", len(got), err)
	}
}

// Decode reads whatever a key file holds: it returns 32 bytes or an error,
// and its error never repeats the file's content.
func FuzzDecode(f *testing.F) {
	key := bytes.Repeat([]byte{0x5A}, Size)
	f.Add(key)
	f.Add([]byte(hex.EncodeToString(key) + "\n"))
	f.Add([]byte(base64.StdEncoding.EncodeToString(key)))
	f.Add([]byte(" c2hvcnQta2V5LW1hdGVyaWFs \n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, err := Decode(raw)
		if err != nil {
			if text := strings.TrimSpace(string(raw)); len(text) >= 8 && strings.Contains(err.Error(), text) {
				t.Fatalf("the error shows the input: %v", err)
			}
			return
		}
		if len(k) != Size {
			t.Fatalf("Decode returned %d bytes", len(k))
		}
	})
}
