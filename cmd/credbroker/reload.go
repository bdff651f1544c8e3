package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/control"
)

func newReloadCmd(_ *app) *cobra.Command {
	return asksDaemon(&cobra.Command{
		Use:   "reload",
		Short: "Make the running broker re-read its config; fail with the faults of a refused one",
		Long: `Ask the running broker, through its control socket, to re-read its
configuration, and wait for the result. A configuration the broker refuses
(a syntax error, an unknown role, a user that does not exist, ...) leaves the
previous one serving; reload then prints what is wrong and where, and exits 1.

The system and user services run it as ExecReload, so ` + "`systemctl reload credbroker`" + `
fails the same way. SIGHUP reloads too, but nobody hears the result.
Only root and the daemon's own user may reload it.`,
		Example: `  sudo systemctl reload credbroker.service     # runs credbroker reload
  credbroker reload --runtime-dir /tmp/cb`,
		Args: cobra.NoArgs,
	}, time.Minute, func(ctx context.Context, c *control.Client, cmd *cobra.Command, _ []string) error {
		if err := c.Reload(ctx); err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), "reloaded")
		return nil
	})
}
