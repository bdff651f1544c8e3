package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/credbroker/credbroker/broker/control"
)

func newMFACmd(_ *app) *cobra.Command {
	var code string // read before the daemon's timeout starts: typing takes its time
	return asksDaemon(&cobra.Command{
		Use:   "mfa ROLE",
		Short: "Start an MFA session for a role that needs one",
		Long: `Ask for a code of ROLE's MFA device (its mfa_serial) on the terminal and hand
it to the running broker, which calls GetSessionToken with it and the role's
source key, keeps that MFA session in memory for its life (12 hours), and
assumes ROLE (and every role with the same source and device) with it. The
daemon itself never prompts: until this is done, ` + "`credbroker status`" + ` shows the
role as needs-human. The code is read from the terminal, or from stdin when
stdin is not a terminal; never from the command line.`,
		Example: `  credbroker mfa admin
  MFA code for admin: 123456
  MFA session for admin until 2025-06-01T23:59:59Z`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) (err error) {
			code, err = readMFACode(cmd, args[0])
			return err
		},
	}, time.Minute, func(ctx context.Context, c *control.Client, cmd *cobra.Command, args []string) error {
		exp, err := c.StartMFA(ctx, args[0], code)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "MFA session for %s until %s\n", args[0], exp.UTC().Format(time.RFC3339))
		return nil
	})
}

// readMFACode asks for the code on the terminal, or reads a line of stdin.
func readMFACode(cmd *cobra.Command, role string) (string, error) {
	if f, ok := cmd.InOrStdin().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(cmd.ErrOrStderr(), "MFA code for %s: ", role)
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("reading the MFA code: %w", err)
		}
		return strings.TrimSpace(line), nil
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the MFA code from stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}
