package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/gaad"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store"
)

// coreDBName is the embedded core's store file in its state directory.
const coreDBName = "core.db"

type coreFlags struct {
	keys          keysFlags // --config and the keyring flags, shared with `keys`
	stateDir      string
	masterKeyFile string
	store         storeFlags
}

func newCoreCmd(a *app) *cobra.Command {
	f := &coreFlags{}
	cmd := &cobra.Command{
		Use:   "core",
		Short: "Manage the embedded IAM/STS core's account (init, import, export)",
		Long: `Manage the embedded IAM/STS core's account: one AWS account's IAM (users,
groups, roles, policies, access keys, MFA devices, ...) in one file, core.db, under
the state directory (the config's upstream "core" block: state_dir, else
$STATE_DIRECTORY, $XDG_STATE_HOME/credbroker or /var/lib/credbroker).

Secrets in the file (access key secrets, MFA seeds, signing keys) are encrypted with
a master key kept outside it: the config's master_key (the keyring, a systemd
credential, or a file), or --master-key-file.

  credbroker core init                     # create the account; prints root's key once
  credbroker core import gaad.json         # load a real account's IAM
  credbroker core export > gaad.json       # write it back out

Once the daemon serves the core (credbroker serve; eval "$(credbroker env)"), manage
the account with the AWS CLI itself: aws iam create-user, ... .`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.keys.configPath, "config", "", "config file (default: $CREDBROKER_CONFIG, ~/.config/credbroker/credbroker.hcl, /etc/credbroker/credbroker.hcl)")
	pf.StringVar(&f.stateDir, "state-dir", "", "the core's state directory (default: the config's upstream \"core\" state_dir)")
	pf.StringVar(&f.masterKeyFile, "master-key-file", "", "`FILE` holding the 32-byte master key, instead of the config's master_key (core init creates it, mode 0600, when it does not exist)")
	pf.StringVar(&f.keys.backend, "keyring-backend", "", "keyring backend for a master key or root key kept in the keyring (default: the config's)")
	f.store.register(pf)
	pf.StringVar(&f.keys.scope, "keyctl-scope", "", "kernel keyring scope (default: the config's, else user)")
	cmd.AddCommand(newCoreInitCmd(a, f), newCoreImportCmd(a, f), newCoreExportCmd(a, f), newCoreRotateCmd(a, f),
		newCoreRootPasswordCmd(a, f))
	return cmd
}

// coreStore is an opened core store and what it was opened from.
type coreStore struct {
	st   *store.Store
	path string
	cfg  *config.Config
}

func (c *coreStore) Close() error { return c.st.Close() }

// openCoreStore opens the core's store for the core subcommands; create makes a
// new one for accountID (and refuses an existing one), else the store must exist.
func openCoreStore(cmd *cobra.Command, a *app, f *coreFlags, create bool, accountID string) (*coreStore, error) {
	ctx := cmdContext(cmd)
	cfg, err := loadKeysConfig(&f.keys)
	if err != nil {
		return nil, err
	}
	at, err := f.locate(cfg)
	if err != nil {
		return nil, err
	}
	keys, err := masterKey(cmd, a, f, cfg, create)
	if err != nil {
		return nil, err
	}
	// Read the key once before the store is made, so that a missing key leaves nothing
	// behind.
	mk, err := keys.MasterKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("the core's master key: %w", err)
	}
	clear(mk)
	cat, err := policy.BuiltinCatalog()
	if err != nil {
		return nil, err
	}
	st, err := openStoreAt(ctx, at.store, at.passwordFile, sameCoreFlags(f, at.stateDir), keys, create, func(o *store.Options) {
		if create {
			o.AccountID = accountID
		}
		o.Logger = a.log.Named("store")
		if create {
			o.AWSManagedPolicyExists = func(arn string) bool { _, ok := cat.Lookup(arn); return ok }
		} // else an import may name AWS managed policies the core does not hold: see unknownManaged
	})
	if err != nil {
		return nil, err
	}
	return &coreStore{st: st, path: at.store, cfg: cfg}, nil
}

// sameCoreFlags repeats the flags that name this core and its master key,
// for a hint to run another core command on it.
func sameCoreFlags(f *coreFlags, dir string) string {
	var b strings.Builder
	for _, fl := range [][2]string{{"--config", f.keys.configPath}, {"--state-dir", dir}, {"--core-store", f.store.location},
		{"--core-store-password-file", f.store.passwordFile}, {"--master-key-file", f.masterKeyFile},
		{"--keyring-backend", f.keys.backend}, {"--keyctl-scope", f.keys.scope}} {
		if fl[1] != "" {
			b.WriteString(" " + fl[0] + " " + shellQuote(fl[1]))
		}
	}
	return b.String()
}

// masterKey is --master-key-file (made by init when missing), else the config's.
func masterKey(cmd *cobra.Command, a *app, f *coreFlags, cfg *config.Config, create bool) (store.KeySource, error) {
	if f.masterKeyFile != "" {
		if _, err := os.Stat(f.masterKeyFile); create && errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(f.masterKeyFile), 0o700); err != nil {
				return nil, err
			}
			if err := store.WriteKeyFile(f.masterKeyFile, rand.Reader); err != nil {
				return nil, err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Made a new master key in %s (mode 0600). Without it, the core's secrets cannot be read: back it up apart from the state directory.\n", f.masterKeyFile)
		}
		return store.FileKey(f.masterKeyFile), nil
	}
	mk := cfg.Upstream.MasterKey
	if mk.Source == "" {
		mk = config.Default().Upstream.MasterKey
	}
	var ks *keystore.Store
	if mk.Source == config.MasterKeyKeyring {
		var err error
		if ks, _, err = openKeystore(cmd, a, &f.keys); err != nil {
			return nil, err
		}
	}
	return keystore.NewMasterKey(mk, ks, func(o *keystore.MasterKeyOptions) { o.NoCreate = !create })
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func newCoreInitCmd(a *app, f *coreFlags) *cobra.Command {
	var accountID, keyringName, pwFile string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the core's account and its root user's access key",
		Long: `Create the embedded core's account (--account-id, else the config's account_id,
else 123456789012) with its root user and one root access key.

The key is printed once and never again (the core keeps only an encrypted copy), or,
with --keyring NAME, stored in the keyring under NAME and not printed.

The root user's console password (for the IAM console, /console on the core's
listener) is typed twice on a terminal (not echoed; empty: none for now), or read
from --root-password-file (a file of mode 0600, or - for stdin); never from the
command line. Set or reset it later with ` + "`credbroker core root-password`" + `.

Root may do everything. As the IAM guides advise, use its key only to create an
administrator, then stop using it (and delete it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyringName != "" {
				if err := keystore.ValidName(keyringName); err != nil {
					return err
				}
			}
			cfg, err := loadKeysConfig(&f.keys)
			if err != nil {
				return err
			}
			if accountID == "" {
				accountID = cfg.Upstream.AccountID
			}
			if accountID == "" {
				accountID = config.DefaultAccountID
			}
			if err := account.ValidateAccountID(accountID); err != nil {
				return fmt.Errorf("--account-id %q: %w", accountID, err)
			}
			// Ask for the password first: a refused one then leaves no core behind.
			pw, withPW, err := newPassword(cmd, pwFile, true)
			if err != nil {
				return err
			}
			if withPW {
				if err := account.CheckPassword(nil, pw); err != nil {
					return fmt.Errorf("the root user's console password: %w", err)
				}
			}
			var ks *keystore.Store
			if keyringName != "" { // open the keyring first: a failure then leaves no core behind
				if ks, _, err = openKeystore(cmd, a, &f.keys); err != nil {
					return err
				}
				if _, err := ks.Get(keyringName); err == nil {
					return fmt.Errorf("a key named %q is already in the %s: choose another --keyring name", keyringName, ks)
				}
			}
			cs, err := openCoreStore(cmd, a, f, true, accountID)
			if err != nil {
				return err
			}
			var key account.AccessKey
			err = cs.st.Update(cmdContext(cmd), func(tx *store.Tx) error {
				var err error
				key, err = tx.CreateAccessKey(account.RootUserName)
				return err
			})
			if err == nil && withPW {
				err = setRootPassword(cmdContext(cmd), cs.st, pw, false)
			}
			if err == nil && ks != nil {
				err = ks.Put(keyringName, keystore.Key{AccessKeyID: key.ID, SecretAccessKey: key.Secret})
			}
			cerr := cs.Close()
			if err != nil {
				_ = os.Remove(cs.path)
				return fmt.Errorf("creating the core: %w", err)
			}
			if cerr != nil {
				return cerr
			}
			return printInit(cmd.OutOrStdout(), cs.path, accountID, key, keyringName, ks, withPW)
		},
	}
	cmd.Flags().StringVar(&accountID, "account-id", "", "the 12-digit account id (default: the config's, else 123456789012)")
	cmd.Flags().StringVar(&keyringName, "keyring", "", "store root's access key in the keyring under `NAME` instead of printing it")
	cmd.Flags().StringVar(&pwFile, "root-password-file", "", "read the root user's console password from `FILE` (mode 0600; - for stdin) instead of the terminal")
	return cmd
}

// printInit tells what was made and what to do next, as the guides advise.
func printInit(w io.Writer, path, accountID string, key account.AccessKey, keyringName string, ks *keystore.Store, withPW bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Created the embedded IAM/STS core for account %s in %s.\n\n", accountID, path)
	if withPW {
		fmt.Fprintf(&b, "The root user signs in to the console at <core>/console/signin/%s with the password given.\n", accountID)
	} else {
		fmt.Fprintf(&b, "The root user has no console password: set one with `credbroker core root-password`.\n")
	}
	if keyringName != "" {
		fmt.Fprintf(&b, "The root user's access key %s is in the %s as %q (it is not shown).\n", key.ID, ks, keyringName)
	} else {
		fmt.Fprintf(&b, "The root user's access key, shown now and never again:\n\n")
		fmt.Fprintf(&b, "  aws_access_key_id     = %s\n  aws_secret_access_key = %s\n", key.ID, key.Secret)
	}
	fmt.Fprintf(&b, `
Root may do everything. Use it once, to create an administrator; then stop using it.
In one shell (the key stays out of files and of the shell's history):

  credbroker serve                               # in another terminal, or the service
  eval "$(credbroker env)"                       # AWS_ENDPOINT_URL_IAM and _STS: the core
  export AWS_ACCESS_KEY_ID=%[1]s
  read -rs AWS_SECRET_ACCESS_KEY && export AWS_SECRET_ACCESS_KEY   # paste the secret
  aws iam create-group --group-name Admins
  aws iam attach-group-policy --group-name Admins --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
  aws iam create-user --user-name admin
  aws iam add-user-to-group --group-name Admins --user-name admin
  aws iam create-access-key --user-name admin | credbroker keys add admin
  aws iam delete-access-key --access-key-id %[1]s  # optional: keep it only for emergencies
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
`, key.ID)
	_, err := io.WriteString(w, b.String())
	return err
}

func newCoreImportCmd(a *app, f *coreFlags) *cobra.Command {
	var from, fromPW string
	cmd := &cobra.Command{
		Use:   "import FILE | --from STORE",
		Short: "Load users, groups, roles and policies from get-account-authorization-details JSON",
		Long: `Load an account's IAM from the JSON that ` + "`aws iam get-account-authorization-details`" + `
prints (FILE, or - for stdin): users, groups, roles with their instance profiles,
customer managed policies with their versions, ids and dates kept. Everything is
imported or nothing is. The document's account must be the core's (core init
--account-id ...). It holds no secrets: give users keys afterwards.

  aws iam get-account-authorization-details > gaad.json   # against real AWS
  credbroker core init --account-id 111122223333 && credbroker core import gaad.json

With --from STORE (a bbolt file or a postgres:// URL) it copies another core's whole
store instead, losing nothing (access keys, MFA devices, signing keys stay sealed
under the same master key) into the core's store, which must not exist yet:

  credbroker core import --from /var/lib/credbroker/core.db --core-store postgres://credbroker@db/credbroker

The daemon must not be running (a bbolt store is held by it); while it runs, use aws iam ...`,
		Args: func(cmd *cobra.Command, args []string) error {
			if from != "" {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if from != "" {
				at, err := f.configuredStore()
				if err != nil {
					return err
				}
				return copyStore(cmd, from, store.PasswordFile(fromPW), at.store, store.PasswordFile(at.passwordFile))
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer file.Close()
				in = file
			}
			doc, err := gaad.Decode(in)
			if err != nil {
				return err
			}
			cs, err := openCoreStore(cmd, a, f, false, "")
			if err != nil {
				return err
			}
			defer cs.Close()
			if acct, ok := doc.AccountID(); ok && acct != cs.st.AccountID() {
				return fmt.Errorf("%s is of account %s, the core holds account %s: import it into a core made with `credbroker core init --account-id %s --state-dir DIR`", args[0], acct, cs.st.AccountID(), acct)
			}
			if err := cs.st.Update(cmdContext(cmd), func(tx *store.Tx) error { return gaad.Import(tx, doc) }); err != nil {
				return fmt.Errorf("importing %s (nothing was imported): %w", args[0], err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), importSummary(doc, cs.st.AccountID()))
			if unknown, err := unknownManaged(doc); err != nil {
				return err
			} else if len(unknown) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "Warning: the core does not hold these AWS managed policies; where attached they allow nothing (and as boundaries, deny everything):\n  %s\n",
					strings.Join(unknown, "\n  "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "copy the whole store at `STORE` (bbolt path or postgres:// URL) instead of importing JSON")
	cmd.Flags().StringVar(&fromPW, "from-password-file", "", "`FILE` holding the password of the --from PostgreSQL database")
	return cmd
}

// importSummary says what an import of doc put into the core: the AWS
// managed policies a document lists are not imported (the core has its
// own), so they are counted apart.
func importSummary(doc *gaad.Document, acct string) string {
	aws := 0
	for _, p := range doc.Policies {
		if account.IsAWSManagedPolicyARN(p.Arn) {
			aws++
		}
	}
	msg := fmt.Sprintf("Imported %d users, %d groups, %d roles and %d customer managed policies into account %s.",
		len(doc.UserDetailList), len(doc.GroupDetailList), len(doc.RoleDetailList), len(doc.Policies)-aws, acct)
	if aws > 0 {
		msg += fmt.Sprintf(" The %d AWS managed policies listed were not imported (the core has its own).", aws)
	}
	return msg
}

func newCoreExportCmd(a *app, f *coreFlags) *cobra.Command {
	var output, to, toPW string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the account's IAM as get-account-authorization-details JSON",
		Long: `Write the core's users, groups, roles (with instance profiles) and customer
managed policies (with every version) in the JSON of
` + "`aws iam get-account-authorization-details`" + `, to stdout or --output FILE (mode 0600).
No secret is written: no access keys, passwords or MFA seeds.

With --to STORE (a bbolt file or a postgres:// URL, empty) it copies the whole store
instead, losing nothing (keys, MFA devices and signing keys stay sealed under the
same master key): the way to move a core from bbolt to PostgreSQL and back.

  credbroker core export --to postgres://credbroker@db/credbroker --to-password-file /etc/credbroker/pgpass

The daemon must not be running (a bbolt store is held by it); while it runs, the same
JSON comes from: aws iam get-account-authorization-details`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to != "" {
				if output != "" {
					return errors.New("--to copies the store and --output writes JSON: give one")
				}
				at, err := f.configuredStore()
				if err != nil {
					return err
				}
				return copyStore(cmd, at.store, store.PasswordFile(at.passwordFile), to, store.PasswordFile(toPW))
			}
			cs, err := openCoreStore(cmd, a, f, false, "")
			if err != nil {
				return err
			}
			defer cs.Close()
			var doc *gaad.Document
			if err := cs.st.View(cmdContext(cmd), func(tx *store.Tx) error {
				var err error
				doc, err = gaad.Export(tx)
				return err
			}); err != nil {
				return err
			}
			if output == "" || output == "-" {
				return doc.Encode(cmd.OutOrStdout())
			}
			file, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if err := doc.Encode(file); err != nil {
				file.Close()
				return fmt.Errorf("writing %s: %w", output, err)
			}
			return file.Close()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` (mode 0600) instead of stdout")
	cmd.Flags().StringVar(&to, "to", "", "copy the whole store into the empty store at `STORE` (bbolt path or postgres:// URL) instead of writing JSON")
	cmd.Flags().StringVar(&toPW, "to-password-file", "", "`FILE` holding the password of the --to PostgreSQL database")
	return cmd
}

// unknownManaged lists the AWS managed policies a document attaches (or uses as
// boundaries) that the core's catalog does not hold.
func unknownManaged(doc *gaad.Document) ([]string, error) {
	cat, err := policy.BuiltinCatalog()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	note := func(arn string) {
		if _, ok := cat.Lookup(arn); !ok && account.IsAWSManagedPolicyARN(arn) && !seen[arn] {
			seen[arn] = true
			out = append(out, arn)
		}
	}
	attached := func(ps []gaad.AttachedPolicy, b *gaad.PermissionsBoundary) {
		for _, p := range ps {
			note(p.PolicyArn)
		}
		if b != nil {
			note(b.PermissionsBoundaryArn)
		}
	}
	for _, u := range doc.UserDetailList {
		attached(u.AttachedManagedPolicies, u.PermissionsBoundary)
	}
	for _, g := range doc.GroupDetailList {
		attached(g.AttachedManagedPolicies, nil)
	}
	for _, r := range doc.RoleDetailList {
		attached(r.AttachedManagedPolicies, r.PermissionsBoundary)
	}
	slices.Sort(out)
	return out, nil
}

func newCoreRotateCmd(a *app, f *coreFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-session-key",
		Short: "Make a new session-token signing key; the old ones verify for 36 hours more",
		Long: `Make a new session-token signing key, which signs every session from now on. Keys
it replaces keep verifying the sessions they signed for 36 hours (the longest session),
and a later rotation removes them. Replicas on a shared PostgreSQL store switch to the
new key within a second, while they serve; a bbolt store is held by a running daemon:
stop it first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := openCoreStore(cmd, a, f, false, "")
			if err != nil {
				return err
			}
			core, err := sts.New(cmdContext(cmd), cs.st, func(o *sts.Options) { o.Logger = a.log.Named("core") })
			if err != nil {
				cs.Close()
				return err
			}
			kid, err := core.RotateSessionKey(cmdContext(cmd))
			err = errors.Join(err, core.Close(), cs.Close())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Session tokens are now signed with key %s.\n", kid)
			return nil
		},
	}
}
