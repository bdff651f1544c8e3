package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/sts/store"
)

// storeFlags select the core's store: --core-store LOCATION and the file of its
// PostgreSQL password (never the password itself: argv is readable by every local user).
type storeFlags struct {
	location     string
	passwordFile string
}

func (f *storeFlags) register(fl flagSet) {
	fl.StringVar(&f.location, "core-store", "", "the core's store: a bbolt file's `PATH` or a postgres://USER@HOST/DB URL without password (default: the config's upstream \"core\" store, else STATE_DIR/core.db)")
	fl.StringVar(&f.passwordFile, "core-store-password-file", "", "`FILE` holding the PostgreSQL password (default: the config's store_password_file, else the systemd credential core-store-password)")
}

// resolve returns the store's location and password file: the flags, else the
// config's upstream "core" block, else core.db in stateDir.
func (f *storeFlags) resolve(u config.Upstream, stateDir string) (loc, passwordFile string, err error) {
	loc, passwordFile = f.location, f.passwordFile
	if loc == "" {
		loc = u.Store
	}
	if loc == "" {
		loc = filepath.Join(stateDir, coreDBName)
	}
	if passwordFile == "" {
		passwordFile = u.StorePasswordFile
	}
	if store.IsPostgres(loc) {
		if _, err := os.Stat(store.PasswordFile(passwordFile)); passwordFile != "" && err != nil {
			return "", "", fmt.Errorf("the PostgreSQL password file: %w", err)
		}
	} else if !filepath.IsAbs(loc) {
		if loc, err = filepath.Abs(loc); err != nil {
			return "", "", err
		}
	}
	return loc, passwordFile, nil
}

// coreLocation is where a core subcommand finds the core's store.
type coreLocation struct {
	// stateDir is the state directory the store was found by; "" when
	// --core-store alone named it, so that hints repeat only the flags that
	// played a part.
	stateDir     string
	store        string // a bbolt file's absolute path or a postgres:// URL
	passwordFile string // the PostgreSQL password's file, "" for the default
}

// locate is the one rule by which every core subcommand (init, import, export,
// rotate-session-key, and the copies of import --from and export --to) finds the
// core's store: the state directory is --state-dir, else, unless --core-store
// names the store itself, the config's upstream "core" state_dir (a config whose
// upstream is not the core is refused: it names no core); the store is then
// --core-store, else the config's store, else core.db in the state directory.
func (f *coreFlags) locate(cfg *config.Config) (coreLocation, error) {
	dir := f.stateDir
	if dir == "" && f.store.location == "" {
		if cfg.Upstream.Kind != config.UpstreamCore {
			return coreLocation{}, fmt.Errorf("the config's upstream is %q, not the embedded core: name the core's store with --core-store or its directory with --state-dir", cfg.Upstream.Kind)
		}
		dir = cfg.Upstream.StateDir
	}
	loc, pw, err := f.store.resolve(cfg.Upstream, dir)
	if err != nil {
		return coreLocation{}, err
	}
	return coreLocation{stateDir: dir, store: loc, passwordFile: pw}, nil
}

// configuredStore is locate on the config that --config names.
func (f *coreFlags) configuredStore() (coreLocation, error) {
	cfg, err := loadKeysConfig(&f.keys)
	if err != nil {
		return coreLocation{}, err
	}
	return f.locate(cfg)
}

// openStoreAt opens the store at loc: create makes a new one (refusing one that
// exists), else it must exist. What is refused names the command that fixes it.
//
// flags repeat, for the hints, the flags that name this core and its master key.
func openStoreAt(ctx context.Context, loc, passwordFile, flags string, keys store.KeySource, create bool, fns ...func(*store.Options)) (*store.Store, error) {
	if flags == "" && !store.IsPostgres(loc) {
		flags = " --core-store " + shellQuote(loc)
	}
	if !store.IsPostgres(loc) {
		_, statErr := os.Stat(loc)
		switch {
		case create && statErr == nil:
			return nil, fmt.Errorf("%s already holds a core: init runs once (read it with `credbroker core export%s`)", loc, flags)
		case !create && errors.Is(statErr, os.ErrNotExist):
			return nil, fmt.Errorf("no core in %s: create it with `credbroker core init%s`", filepath.Dir(loc), flags)
		}
	}
	db, err := store.OpenDB(ctx, loc, passwordFile)
	if err != nil {
		return nil, err
	}
	if store.IsPostgres(loc) {
		exists, err := store.Exists(ctx, db)
		switch {
		case err != nil:
			_ = db.Close()
			return nil, fmt.Errorf("reading the core's store: %w", err)
		case create && exists:
			_ = db.Close()
			return nil, fmt.Errorf("the PostgreSQL database already holds a core: init runs once (read it with `credbroker core export%s`)", flags)
		case !create && !exists:
			_ = db.Close()
			return nil, fmt.Errorf("no core in the PostgreSQL database: create it with `credbroker core init%[1]s`, or copy one in with `credbroker core import --from core.db%[1]s`", flags)
		}
	}
	st, err := store.Open(ctx, db, keys, fns...)
	if err != nil {
		_ = db.Close()
		if create && !store.IsPostgres(loc) {
			_ = os.Remove(loc)
		}
		return nil, err
	}
	return st, nil
}

// copyStore copies the whole store at from into the empty store at to (records as
// they are, secrets still sealed: both open under the same master key).
func copyStore(cmd *cobra.Command, from, fromPW, to, toPW string) error {
	ctx := cmdContext(cmd)
	if !store.IsPostgres(from) {
		if _, err := os.Stat(from); err != nil {
			return fmt.Errorf("no core to copy: %w", err)
		}
	}
	src, err := store.OpenDB(ctx, from, fromPW)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.OpenDB(ctx, to, toPW)
	if err != nil {
		return err
	}
	n, err := store.Copy(ctx, dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying the core's store (nothing was copied): %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Copied the core's store (%d records, secrets still sealed under the same master key) to %s.\n", n, redactLocation(to))
	return nil
}

// redactLocation is a location fit for output (URLs carry no password; this keeps the
// rule if one slips through).
func redactLocation(loc string) string {
	if !store.IsPostgres(loc) {
		return loc
	}
	return "the PostgreSQL database"
}
