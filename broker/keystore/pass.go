package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"
)

// passStore is a keyring.Keyring over pass(1), "the standard unix password
// manager": one gpg-encrypted file per item under DIR/PREFIX/, written and
// read by the pass program (and so by gpg and gpg-agent). 99designs/keyring's
// own pass backend was not used: it sends gpg's words to the daemon's
// stderr and returns only "exit status 2", so a missing gpg-agent or a
// locked GPG key could not be told apart or explained.
//
// Without a way to ask (a daemon), gpg runs with --pinentry-mode=error: a
// GPG key whose passphrase gpg-agent has not cached is ErrLocked, never a
// pinentry dialog.
type passStore struct {
	cmd, dir, prefix string
	// interactive lets gpg-agent ask for a GPG key's passphrase.
	interactive bool
	getenv      func(string) string
}

func newPassStore(o Options) (*passStore, error) {
	p := &passStore{cmd: o.PassCmd, dir: o.PassDir, prefix: o.Name, interactive: o.Prompt != nil, getenv: o.Getenv}
	if p.cmd == "" {
		p.cmd = "pass"
	}
	if p.dir == "" {
		p.dir = o.Getenv("PASSWORD_STORE_DIR")
	}
	if p.dir == "" {
		home := o.Getenv("HOME")
		if home == "" {
			return nil, errors.New("keystore: the pass backend needs its store's directory: set keyring { pass_dir = ... } or $HOME")
		}
		p.dir = filepath.Join(home, ".password-store")
	}
	if _, err := exec.LookPath(p.cmd); err != nil {
		return nil, fmt.Errorf("keystore: the pass backend needs the %q program: install it (Debian: apt-get install pass gnupg) or set keyring { pass_cmd = ... }", p.cmd)
	}
	return p, nil
}

// run runs pass with args and stdin; stdout is returned, and gpg's and
// pass's words on stderr are turned into an error that says the fix.
func (p *passStore) run(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(p.cmd, args...)
	env := append(os.Environ(), "PASSWORD_STORE_DIR="+p.dir, "LC_ALL=C")
	if !p.interactive {
		env = append(env, "PASSWORD_STORE_GPG_OPTS="+strings.TrimSpace(p.getenv("PASSWORD_STORE_GPG_OPTS")+" --pinentry-mode=error"))
	}
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, p.explain(args[0], stderr.String(), err)
	}
	return stdout.Bytes(), nil
}

// explain turns a failed pass run into words. pass and gpg never print a
// secret on stderr; only their last line is quoted.
func (p *passStore) explain(op, stderr string, err error) error {
	last := lastLine(stderr)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(stderr, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("is not in the password store"):
		return keyring.ErrKeyNotFound
	case has("can't connect to the agent", "failed to start agent", "no gpg-agent running", "connecting to the agent"):
		return fmt.Errorf("pass %s: gpg could not reach gpg-agent, which holds the GPG key's secret (%s): "+
			"install it (Debian: apt-get install gpg-agent) and start it in the same GNUPGHOME (`gpgconf --launch gpg-agent`); "+
			"for a service, give it the user's GNUPGHOME and runtime directory", op, last)
	case has("No pinentry", "Inappropriate ioctl", "Operation cancelled", "No passphrase given", "Bad passphrase", "pinentry"):
		return p.locked(op)
	case has("You must run:", "pass init"):
		return fmt.Errorf("pass %s: the pass store at %s is not set up: run `pass init YOUR-GPG-KEY-ID` (with PASSWORD_STORE_DIR=%s)", op, p.dir, p.dir)
	case has("No secret key") && p.haveSecretKey():
		// With --pinentry-mode=error, gpg words a key it may not unlock
		// as a key it lacks.
		return p.locked(op)
	case has("No secret key"):
		return fmt.Errorf("pass %s: gpg has no secret key to decrypt the entry (%s): the store's .gpg-id names a key this user's GNUPGHOME lacks", op, last)
	case has("No public key", "unusable public key", "encryption failed"):
		return fmt.Errorf("pass %s: gpg cannot encrypt to the key in the store's .gpg-id (%s): import that key, or run `pass init` with one you have", op, last)
	}
	if last == "" {
		return fmt.Errorf("pass %s failed: %w", op, err)
	}
	return fmt.Errorf("pass %s failed: %s", op, last)
}

// locked is the error of a GPG key that needs its passphrase.
func (p *passStore) locked(op string) error {
	return lockedf("pass %s: the GPG key of the pass store at %s needs its passphrase, and credbroker never asks for it: "+
		"decrypt any entry once in a terminal (`pass show %s/...`) so gpg-agent caches it, or use a key gpg-agent holds unlocked",
		op, p.dir, p.prefix)
}

// haveSecretKey reports whether gpg has the secret half of every key the
// store's .gpg-id names.
func (p *passStore) haveSecretKey() bool {
	ids, err := os.ReadFile(filepath.Join(p.dir, p.prefix, ".gpg-id"))
	if err != nil {
		ids, err = os.ReadFile(filepath.Join(p.dir, ".gpg-id"))
	}
	fields := strings.Fields(string(ids))
	if err != nil || len(fields) == 0 {
		return false
	}
	cmd := exec.Command("gpg", append([]string{"--batch", "--list-secret-keys", "--"}, fields...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.Run() == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// entry is the pass name of a keyring item.
func (p *passStore) entry(key string) string { return p.prefix + "/" + key }

func (p *passStore) exists(key string) bool {
	_, err := os.Stat(filepath.Join(p.dir, p.prefix, key+".gpg"))
	return err == nil
}

func (p *passStore) Get(key string) (keyring.Item, error) {
	if !p.exists(key) {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	out, err := p.run(nil, "show", p.entry(key))
	if err != nil {
		return keyring.Item{}, err
	}
	return keyring.Item{Key: key, Data: bytes.TrimRight(out, "\n")}, nil
}

func (p *passStore) GetMetadata(string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}

func (p *passStore) Set(it keyring.Item) error {
	_, err := p.run(it.Data, "insert", "--multiline", "--force", p.entry(it.Key))
	return err
}

func (p *passStore) Remove(key string) error {
	if !p.exists(key) {
		return keyring.ErrKeyNotFound
	}
	_, err := p.run(nil, "rm", "--force", p.entry(key))
	return err
}

// Keys lists the entries under the prefix; it needs neither gpg nor the
// agent (names are file names).
func (p *passStore) Keys() ([]string, error) {
	root := filepath.Join(p.dir, p.prefix)
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == root {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if name, ok := strings.CutSuffix(d.Name(), ".gpg"); ok && d.Type().IsRegular() && filepath.Dir(path) == root {
			out = append(out, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the pass store at %s: %w", root, err)
	}
	return out, nil
}
