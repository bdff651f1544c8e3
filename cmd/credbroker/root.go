package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/internal/logging"
)

// app carries what every subcommand shares: the one logger, built from the global flags.
type app struct {
	logLevel  string
	logFormat string
	log       hclog.Logger
}

func newRootCmd() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "credbroker",
		Short: "Short-lived AWS credentials for local processes, from an emulated IMDS",
		Long: `credbroker is a host daemon that hands short-lived AWS credentials to local
processes through the two endpoints every AWS SDK's default credential chain already
knows: the EC2 instance metadata service and the container credentials endpoint.
Long-term keys stay in the OS keyring (or a CI runner's OIDC token is used instead);
applications only ever see session credentials of the role their caller is allowed.

Start here:
  credbroker serve --dev          # broker + embedded IAM/STS core, demo account
  eval "$(credbroker env)"        # point this shell's SDKs at it
  aws sts get-caller-identity     # an assumed-role session, no key on disk`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Under systemd (stderr is the journal) lines are JSON unless
			// asked otherwise: one structured record per line, the audit
			// log's fields intact.
			if !cmd.Flags().Changed("log-format") && os.Getenv("JOURNAL_STREAM") != "" {
				a.logFormat = "json"
			}
			l, err := logging.New("credbroker", logging.Options{Level: a.logLevel, Format: a.logFormat})
			if err != nil {
				return err
			}
			a.log = l
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error, off")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json (default: json when stderr is the systemd journal, else text)")
	root.AddCommand(
		newServeCmd(a),
		newEnvCmd(a),
		newExecCmd(a),
		newCredentialProcessCmd(a),
		newConsoleCmd(a),
		newKeysCmd(a),
		newMFACmd(a),
		newLoginCmd(a),
		newStatusCmd(a),
		newReloadCmd(a),
		newPolicyCmd(a),
		newCoreCmd(a),
		newVersionCmd(a),
		newGenDocsCmd(),
	)
	return root
}
