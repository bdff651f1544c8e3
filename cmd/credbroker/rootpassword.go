package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/console"
	"github.com/credbroker/credbroker/sts/store"
)

// maxPasswordInput bounds what is read for a password (IAM's passwords have at
// most 128 characters).
const maxPasswordInput = 4 << 10

// newPassword is a console password asked for: from --root-password-file (a file
// of mode 0600 or 0400, or "-" for stdin), else, on a terminal, typed twice without
// echo. given is false when none was asked for (no file and no terminal) or the
// person typed nothing. The password is never in argv, the log or an error.
func newPassword(cmd *cobra.Command, file string, optional bool) (pw string, given bool, err error) {
	switch {
	case file == "-":
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxPasswordInput))
		if err != nil {
			return "", false, fmt.Errorf("reading the root password from stdin: %w", err)
		}
		return firstLine(b)
	case file != "":
		fi, err := os.Stat(file)
		if err != nil {
			return "", false, fmt.Errorf("--root-password-file: %w", err)
		}
		if perm := fi.Mode().Perm(); !fi.Mode().IsRegular() || perm&0o077 != 0 {
			return "", false, fmt.Errorf("--root-password-file %s must be a regular file only its owner may read (mode %04o): chmod 600 it", file, perm)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", false, fmt.Errorf("--root-password-file: %w", err)
		}
		return firstLine(b)
	}
	tty, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(tty.Fd())) {
		return "", false, nil
	}
	w := cmd.ErrOrStderr()
	ask := func(prompt string) (string, error) {
		fmt.Fprint(w, prompt)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(w)
		return string(b), err
	}
	prompt := "The root user's console password: "
	if optional {
		prompt = "The root user's console password (empty: none for now): "
	}
	first, err := ask(prompt)
	if err != nil || first == "" {
		return "", false, err
	}
	again, err := ask("The same password again: ")
	if err != nil {
		return "", false, err
	}
	if again != first {
		return "", false, errors.New("the two passwords differ: nothing was changed")
	}
	return first, true, nil
}

// firstLine is the password in a file or on stdin: its first line, without the
// line end.
func firstLine(b []byte) (string, bool, error) {
	defer clear(b)
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", false, errors.New("the root password given is empty")
	}
	return line, true, nil
}

// setRootPassword sets the root user's console password in st.
func setRootPassword(ctx context.Context, st *store.Store, pw string, reset bool) error {
	if err := sts.SetConsolePassword(ctx, st, account.RootUserName, pw, reset); err != nil {
		return fmt.Errorf("the root user's console password: %w", err)
	}
	return nil
}

func newCoreRootPasswordCmd(a *app, f *coreFlags) *cobra.Command {
	var file string
	var reset, noMFA bool
	cmd := &cobra.Command{
		Use:   "root-password",
		Short: "Set or reset the root user's console password (the host's root password recovery)",
		Long: `Set the root user's console password, replacing the one it has: the host
administrator's equivalent of AWS's root user password recovery. It needs no IAM
credentials, only the core's store and master key.

The password is typed twice on a terminal (not echoed), or read from
--root-password-file (a file of mode 0600, or - for stdin); never from the
command line. It must meet the account's password policy (AWS's default rules
without one) and is kept as an argon2id hash, as IAM users' passwords.

The root user's console sessions end (a reset password leaves none of the old
one's behind).

--deactivate-mfa also removes the root user's MFA device, for a root user who
lost it (as AWS's recovery does after verifying the account's e-mail and phone).

On a bbolt store, stop the daemon first (it holds the file); on PostgreSQL the
running replicas see the change at once.`,
		Example: `  sudo systemctl stop credbroker && sudo credbroker core root-password && sudo systemctl start credbroker
  credbroker core root-password --root-password-file - < /run/secrets/root-password`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, given, err := newPassword(cmd, file, false)
			if err != nil {
				return err
			}
			if !given {
				return errors.New("no password: run it on a terminal, or give --root-password-file FILE (- for stdin)")
			}
			cs, err := openCoreStore(cmd, a, f, false, "")
			if err != nil {
				return err
			}
			defer cs.Close()
			ctx := cmdContext(cmd)
			if err := setRootPassword(ctx, cs.st, pw, reset); err != nil {
				return err
			}
			ended, err := console.EndSessions(ctx, cs.st, account.RootARN(cs.st.AccountID()))
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("The root user's console password is set; %d console session(s) of the root user ended.", ended)
			if noMFA {
				n, err := deactivateRootMFA(ctx, cs.st)
				if err != nil {
					return err
				}
				msg += fmt.Sprintf(" %d MFA device(s) removed from the root user.", n)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg+" Sign in at the console's /console/signin/"+cs.st.AccountID()+" as the root user.")
			return err
		},
	}
	cmd.Flags().StringVar(&file, "root-password-file", "", "read the password from `FILE` (mode 0600; - for stdin) instead of the terminal")
	cmd.Flags().BoolVar(&reset, "reset-required", false, "make the root user choose a new password at the next sign-in")
	cmd.Flags().BoolVar(&noMFA, "deactivate-mfa", false, "also remove the root user's MFA devices (a lost device)")
	return cmd
}

// deactivateRootMFA unassigns the root user's MFA devices and deletes them (a
// device out of reach is no use kept); it returns how many.
func deactivateRootMFA(ctx context.Context, st *store.Store) (int, error) {
	n := 0
	err := st.Update(ctx, func(tx *store.Tx) error {
		devs, err := tx.MFADevices(account.RootUserName)
		if err != nil {
			return err
		}
		for _, d := range devs {
			if err := tx.DeactivateMFADevice(account.RootUserName, d.Serial); err != nil {
				return err
			}
			if err := tx.DeleteVirtualMFADevice(d.Serial); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("removing the root user's MFA devices: %w", err)
	}
	return n, nil
}
