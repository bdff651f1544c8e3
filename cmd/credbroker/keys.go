package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/keystore"
)

type keysFlags struct {
	configPath string
	backend    string
	scope      string
}

func newKeysCmd(a *app) *cobra.Command {
	f := &keysFlags{}
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage IAM users' long-term keys in the OS keyring (add, list, remove, rotate)",
		Long: `Manage the long-term access keys of IAM users that the broker assumes roles with.
Keys live in the OS keyring only: the kernel keyring (keyctl) on a host without a
desktop session, the Secret Service when there is one, pass, an encrypted file, or
(read-only) systemd credentials. The config file's keyring block, or the flags,
choose. A key is never read from the command line.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.configPath, "config", "", "config file (default: $CREDBROKER_CONFIG, ~/.config/credbroker/credbroker.hcl, /etc/credbroker/credbroker.hcl)")
	pf.StringVar(&f.backend, "keyring-backend", "", "keyring backend: auto, keyctl, secret-service, pass, file, systemd-credentials (default: the config's, else auto)")
	pf.StringVar(&f.scope, "keyctl-scope", "", "kernel keyring scope: user, session, process or thread (default: the config's, else user)")
	cmd.AddCommand(newKeysAddCmd(a, f), newKeysListCmd(a, f), newKeysRemoveCmd(a, f), newKeysRotateCmd(a, f))
	return cmd
}

// loadKeysConfig reads the config file the keys commands use (its keyring
// block and region), or the defaults without one.
func loadKeysConfig(f *keysFlags) (*config.Config, error) {
	path := f.configPath
	if path == "" {
		path = config.DefaultPath(os.Getenv, os.Geteuid())
	}
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// openKeystore opens the keyring the config and flags name, once.
func openKeystore(cmd *cobra.Command, a *app, f *keysFlags) (*keystore.Store, *config.Config, error) {
	cfg, err := loadKeysConfig(f)
	if err != nil {
		return nil, nil, err
	}
	kc := cfg.Keyring
	if f.backend != "" {
		b := config.Backend(f.backend)
		valid := []config.Backend{config.BackendAuto, config.BackendKeyctl, config.BackendSecretService, config.BackendPass, config.BackendFile, config.BackendSystemdCredentials}
		if !slices.Contains(valid, b) {
			return nil, nil, fmt.Errorf("--keyring-backend %q: use auto, keyctl, secret-service, pass, file or systemd-credentials", f.backend)
		}
		kc.Backend = b
	}
	if f.scope != "" {
		if !slices.Contains([]string{"user", "session", "process", "thread"}, f.scope) {
			return nil, nil, fmt.Errorf("--keyctl-scope %q: use user, session, process or thread", f.scope)
		}
		kc.KeyctlScope = f.scope
	}
	s, err := keystore.Open(keystore.FromConfig(kc), func(o *keystore.Options) {
		o.Logger = a.log
		o.Prompt = ttyPrompt(cmd.ErrOrStderr())
	})
	return s, cfg, err
}

// ttyPrompt asks for a passphrase on the controlling terminal, without
// echo; it fails when there is none.
func ttyPrompt(w io.Writer) func(string) (string, error) {
	return func(msg string) (string, error) {
		tty, err := os.Open("/dev/tty")
		if err != nil {
			return "", fmt.Errorf("%w: no terminal to ask for the passphrase", keystore.ErrLocked)
		}
		defer tty.Close()
		fmt.Fprintf(w, "%s: ", msg)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(w)
		return string(b), err
	}
}

func newKeysAddCmd(a *app, f *keysFlags) *cobra.Command {
	var replace, check bool
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Store an IAM user's access key under NAME",
		Long: `Store an IAM user's access key under NAME (the name a config's
source "keyring" "NAME" uses).

On a terminal, asks for the access key id and then the secret (not echoed).
Otherwise reads stdin: two lines (the key id, then the secret), the JSON that
` + "`aws iam create-access-key`" + ` prints, or the CSV the IAM console downloads.

Check that NAME is free before IAM makes the key (--check reads nothing and
stores nothing), or a refused key is left active in IAM with no copy kept:

  credbroker keys add --check alice &&
    aws iam create-access-key --user-name alice | credbroker keys add alice

When NAME is taken, the key on stdin is not stored, and the error names it
with the command that deletes it from IAM.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := keystore.ValidName(name); err != nil {
				return err
			}
			s, _, err := openKeystore(cmd, a, f)
			if err != nil {
				return err
			}
			if old, err := s.Get(name); err == nil && !replace {
				taken := fmt.Errorf("a key named %q (%s) is already in the %s: use --replace to overwrite it, or `credbroker keys rotate %s` to rotate it", name, old.AccessKeyID, s, name)
				if check {
					return taken
				}
				return fmt.Errorf("%w%s", taken, orphaned(cmd.InOrStdin()))
			} else if err != nil && !errors.Is(err, keystore.ErrNotFound) {
				return err
			}
			if check {
				fmt.Fprintf(cmd.OutOrStdout(), "%q is free in the %s.\n", name, s)
				return nil
			}
			id, secret, err := readKey(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := s.Put(name, keystore.Key{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Stored %s as %q in the %s.\n", id, name, s)
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "overwrite a key already stored under NAME")
	cmd.Flags().BoolVar(&check, "check", false, "only check that NAME is free (and the keyring opens): run it before `aws iam create-access-key`")
	return cmd
}

// orphaned reads a key piped to a refused `keys add` and says how to delete
// it from IAM, where `aws iam create-access-key` has just made it active
// ("" when stdin is a terminal or holds no key). It never quotes the secret.
func orphaned(in io.Reader) string {
	if file, ok := in.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(in, 64<<10))
	if err != nil {
		return ""
	}
	id, _, err := keystore.ParseKeyInput(data)
	if err != nil {
		return ""
	}
	var created struct{ AccessKey struct{ UserName string } }
	user := ""
	if json.Unmarshal(data, &created) == nil && created.AccessKey.UserName != "" {
		user = " --user-name " + shellQuote(created.AccessKey.UserName)
	}
	return fmt.Sprintf(".\nThe key %s on stdin was NOT stored. If IAM has just made it, it is active with no copy kept: delete it with\n  aws iam delete-access-key%s --access-key-id %s\n(next time, run `credbroker keys add --check NAME` first)", id, user, id)
}

// readKey reads a key from a terminal (prompting, the secret unechoed) or
// from piped stdin.
func readKey(in io.Reader, prompt io.Writer) (id, secret string, err error) {
	if file, ok := in.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		fmt.Fprint(prompt, "Access key ID: ")
		line, err := bufio.NewReader(file).ReadString('\n')
		if err != nil {
			return "", "", fmt.Errorf("reading the access key id: %w", err)
		}
		fmt.Fprint(prompt, "Secret access key: ")
		b, err := term.ReadPassword(int(file.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", "", fmt.Errorf("reading the secret access key: %w", err)
		}
		id, secret = strings.TrimSpace(line), strings.TrimSpace(string(b))
		return id, secret, keystore.CheckKey(id, secret)
	}
	data, err := io.ReadAll(io.LimitReader(in, 64<<10))
	if err != nil {
		return "", "", fmt.Errorf("reading stdin: %w", err)
	}
	return keystore.ParseKeyInput(data)
}

func newKeysListCmd(a *app, f *keysFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List stored keys: names and access key ids, never secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output %q: use text or json", output)
			}
			s, _, err := openKeystore(cmd, a, f)
			if err != nil {
				return err
			}
			list, err := s.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				type row struct {
					Name          string    `json:"name"`
					AccessKeyID   string    `json:"access_key_id"`
					Added         time.Time `json:"added,omitzero"`
					PreviousKeyID string    `json:"previous_access_key_id,omitempty"`
				}
				rows := make([]row, 0, len(list))
				for _, e := range list {
					rows = append(rows, row{e.Name, e.AccessKeyID, e.Added, e.PreviousKeyID})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(list) == 0 {
				fmt.Fprintf(out, "No keys in the %s. Add one with `credbroker keys add NAME`.\n", s)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tACCESS KEY ID\tADDED\tNOTE")
			for _, e := range list {
				added, note := "-", ""
				if !e.Added.IsZero() {
					added = e.Added.UTC().Format(time.RFC3339)
				}
				if e.PreviousKeyID != "" {
					note = fmt.Sprintf("rotation unfinished (old key %s): run `credbroker keys rotate %s`", e.PreviousKeyID, e.Name)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.AccessKeyID, added, note)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newKeysRemoveCmd(a *app, f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove the key stored under NAME from the keyring (IAM keeps it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, _, err := openKeystore(cmd, a, f)
			if err != nil {
				return err
			}
			k, err := s.Get(args[0])
			if err != nil {
				return err
			}
			if err := s.Remove(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %q (%s) from the %s. The key still exists in IAM; if nothing else uses it: aws iam delete-access-key --access-key-id %s\n", args[0], k.AccessKeyID, s, k.AccessKeyID)
			return nil
		},
	}
}

func newKeysRotateCmd(a *app, f *keysFlags) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Replace the key stored under NAME with a new key of the same IAM user",
		Long: `Replace the key stored under NAME with a new one, in the order AWS recommends:
create a second key (CreateAccessKey, signed with the old one), store it (keeping
the old one as the previous key), check it works (GetCallerIdentity, retried while
AWS propagates a new key), delete the old key (DeleteAccessKey, signed with the new
one), then forget the old key.

It is safe to interrupt. Run it again and it finishes what was started:
  - before the new key was created: nothing changed;
  - after CreateAccessKey, before the keyring write: IAM holds a key whose secret
    was lost; rotate then stops, names it, and says how to delete it;
  - after the keyring write: the keyring holds both keys (` + "`keys list`" + ` shows
    "rotation unfinished"); rotate checks the new key and deletes the old one;
  - after DeleteAccessKey: rotate notices the old key is gone and clears it.

The user needs iam:CreateAccessKey, iam:DeleteAccessKey and iam:ListAccessKeys on
itself. The endpoints are the SDK's: AWS_ENDPOINT_URL_IAM and AWS_ENDPOINT_URL_STS
point rotate at the embedded core or any compatible service.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, cfg, err := openKeystore(cmd, a, f)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithDefaultRegion(cfg.Region))
			if err != nil {
				return fmt.Errorf("loading the AWS SDK configuration: %w", err)
			}
			r := &keystore.Rotator{Store: s, Clients: keystore.SDKClients(awsCfg), VerifyTimeout: timeout, Log: a.log}
			res, err := r.Rotate(ctx, args[0])
			if err != nil {
				return err
			}
			how := "rotated"
			if res.Resumed {
				how = "finished the interrupted rotation of"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %q (%s): %s replaces %s, which is deleted.\n", upperFirst(how), args[0], res.UserARN, res.NewKeyID, res.OldKeyID)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "verify-timeout", 2*time.Minute, "how long to wait for the new key to work")
	return cmd
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
