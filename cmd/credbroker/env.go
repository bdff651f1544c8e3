package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
)

func newEnvCmd(_ *app) *cobra.Command {
	var runtimeDir string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print export lines that point this shell's SDKs at the running broker",
		Long: `Print the export lines that point AWS SDKs and the AWS CLI at the running
broker, read from its runtime directory (the addresses it really listens on):

  AWS_EC2_METADATA_SERVICE_ENDPOINT        the emulated instance metadata service
  AWS_CONTAINER_CREDENTIALS_FULL_URI       the container credentials endpoint
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE   its token (a file of mode 0600)
  AWS_REGION, AWS_DEFAULT_REGION           the configured region
  AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM   the embedded core, when served

SDKs try the container endpoint before IMDS, so with both set they use the
container endpoint. Values are shell-quoted.`,
		Example: `  eval "$(credbroker env)"
  aws sts get-caller-identity

  # A daemon started with --runtime-dir
  eval "$(credbroker env --runtime-dir /tmp/cb)"

  # For a container: pass the variables on
  credbroker env > broker.env`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := control.ReadEndpoints(config.RuntimeDir(runtimeDir, os.Getenv))
			if err != nil {
				return err
			}
			writeEnv(cmd.OutOrStdout(), e)
			return nil
		},
	}
	cmd.Flags().StringVar(&runtimeDir, "runtime-dir", "", "the daemon's runtime directory (default: $CREDBROKER_RUNTIME_DIR, $XDG_RUNTIME_DIR/credbroker, /run/credbroker)")
	return cmd
}

// controlClient is the client of the daemon whose runtime directory the
// flag or environment names.
func controlClient(runtimeDir string) *control.Client {
	dir := config.RuntimeDir(runtimeDir, os.Getenv)
	path := dir + "/" + control.SocketFile
	if e, err := control.ReadEndpoints(dir); err == nil && e.ControlSocket != "" {
		path = e.ControlSocket
	}
	return control.NewClient(path)
}
