package secretfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRead: each rule refuses the modes it forbids, with the fix, and reads the
// others; a directory is refused; For picks Credential only inside
// $CREDENTIALS_DIRECTORY.
func TestRead(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", filepath.Join(t.TempDir(), "creds"))
	creds := os.Getenv("CREDENTIALS_DIRECTORY")
	dir := filepath.Dir(creds)
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
		want string // "" read
	}{
		{filepath.Join(dir, "k"), 0o600, ""},
		{filepath.Join(dir, "k"), 0o640, "accessible to its group (mode 0640): chmod 600 it"},
		{filepath.Join(dir, "k"), 0o644, "accessible to other users (mode 0644): chmod 600 it"},
		{filepath.Join(creds, "k"), 0o640, ""},
		{filepath.Join(creds, "k"), 0o604, "accessible to other users (mode 0604): chmod o-rwx it"},
		{filepath.Join(creds, "..", "k"), 0o640, "chmod 600 it"}, // outside, by its clean path
	} {
		if err := os.WriteFile(tc.path, []byte("secret"), tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tc.path, tc.mode); err != nil {
			t.Fatal(err)
		}
		b, err := Read(tc.path, "key file", For(tc.path))
		switch {
		case tc.want == "" && (err != nil || string(b) != "secret"):
			t.Errorf("%s %04o: %q, %v", tc.path, tc.mode, b, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret")):
			t.Errorf("%s %04o: error %v, want %q", tc.path, tc.mode, err, tc.want)
		}
	}
	if _, err := Read(creds, "key file", File); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
}
