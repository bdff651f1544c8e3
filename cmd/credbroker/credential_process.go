package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/control"
)

func newCredentialProcessCmd(_ *app) *cobra.Command {
	return asksDaemon(&cobra.Command{
		Use:   "credential-process ROLE",
		Short: "Print ROLE's credentials as the JSON of credential_process in ~/.aws/config",
		Long: `Print the running broker's session of ROLE (the name IMDS lists) as the JSON
that the SDKs' credential_process setting reads: Version 1, AccessKeyId,
SecretAccessKey, SessionToken and Expiration. The broker must give you ROLE:
your own role or one of its allow_roles. The daemon holds the session, so this
answers in milliseconds; the SDK calls it again before Expiration.`,
		Example: `  # ~/.aws/config
  [profile deploy]
  credential_process = credbroker credential-process deploy

  # Then
  aws --profile deploy sts get-caller-identity`,
		Args: cobra.ExactArgs(1),
	}, time.Minute, func(ctx context.Context, c *control.Client, cmd *cobra.Command, args []string) error {
		pc, err := c.Credentials(ctx, args[0])
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(pc)
	})
}
