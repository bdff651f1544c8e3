package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker"
	"github.com/credbroker/credbroker/broker/control"
)

func newStatusCmd(_ *app) *cobra.Command {
	var output string
	cmd := asksDaemon(&cobra.Command{
		Use:   "status",
		Short: "Show the broker's roles, sessions, expiries and upstream health",
		Long: `Show each role of the running broker: its source, the upstream, and each of its
sessions (one shared by all callers, or one per caller when the session name
names the caller): state, access key id, expiry, last refresh, last error, and
two flags: below-floor (served with less than 15 minutes left because the
upstream has not renewed it) and needs-human (waiting for ` + "`credbroker mfa ROLE`" + `
or an unlocked keyring). --output json prints the same as JSON.`,
		Example: `  credbroker status
  credbroker status --output json | jq '.roles[] | select(.sessions[].needs_human)'`,
		Args: cobra.NoArgs,
	}, 10*time.Second, func(ctx context.Context, c *control.Client, cmd *cobra.Command, _ []string) error {
		if output != "text" && output != "json" {
			return fmt.Errorf("--output %q: use text or json", output)
		}
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		if output == "json" {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		writeStatus(cmd.OutOrStdout(), st, time.Now())
		return nil
	})
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func writeStatus(w io.Writer, st broker.Status, now time.Time) {
	fmt.Fprintf(w, "upstream: %s\n", st.Upstream)
	if st.Config != "" {
		fmt.Fprintf(w, "config:   %s\n", st.Config)
	}
	fmt.Fprintf(w, "started:  %s\n\n", st.Started.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tSOURCE\tCALLER\tSTATE\tEXPIRES\tLAST REFRESH\tFLAGS\tLAST ERROR")
	rel := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		d := t.Sub(now).Round(time.Second)
		if d >= 0 {
			return "in " + d.String()
		}
		return (-d).String() + " ago"
	}
	for _, r := range st.Roles {
		if len(r.Sessions) == 0 {
			state := "not fetched"
			if r.PerCaller {
				state = "per caller, none yet"
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t%s\t-\t-\t-\t-\n", r.Role, r.Source, state)
			continue
		}
		for _, s := range r.Sessions {
			var flags []string
			if s.BelowFloor {
				flags = append(flags, "below-floor")
			}
			if s.NeedsHuman {
				flags = append(flags, "needs-human")
			}
			if len(flags) == 0 {
				flags = []string{"-"}
			}
			caller, lastErr := s.Caller, "-"
			if caller == "" {
				caller = "(shared)"
			}
			if s.LastError != "" {
				lastErr = s.LastErrorCode + ": " + s.LastError
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Role, r.Source, caller, s.State, rel(s.Expires), rel(s.LastRefresh),
				strings.Join(flags, ","), lastErr)
		}
	}
	tw.Flush()
}
