package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/login"
)

// loginWait bounds how long `credbroker login` waits for the IdP's POST.
const loginWait = 5 * time.Minute

func newLoginCmd(_ *app) *cobra.Command {
	var runtimeDir string
	var printURL bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "login [NAME]",
		Short: "Sign in through a saml source's identity provider",
		Long: `Sign in with the corporate identity provider of saml source NAME (the only one
when NAME is not given): open the IdP's sign-in page in the browser (for a
source with sp_initiated = true, an AuthnRequest to the IdP, whose answer alone
is then taken: InResponseTo and RelayState checked), receive its
SAML response on the loopback callback (http://CALLBACK/saml, the source's
callback), let you choose a role when the response allows several of the
source's roles, and hand the response to the running broker, which redeems it
with AssumeRoleWithSAML and serves that role's session through IMDS and the
container endpoint. The response is held in memory only: never written nor
logged. The daemon never prompts: when the session is missing or ends within
30 minutes, ` + "`credbroker status`" + ` shows the role as needs-human; run login again.

The IdP may also post to the embedded core's /saml with RelayState = the
callback's URL: the core verifies the response and the browser hands it on.

With --print the IdP's URL is printed on stdout instead of opening a browser.`,
		Example: `  credbroker login corp
  credbroker login --print | xargs chromium`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			begun := time.Now()
			c := controlClient(runtimeDir)
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			info, err := c.SAMLSource(ctx, name)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", info.Callback)
			if err != nil {
				return fmt.Errorf("listening on the SAML callback %s (source %s's callback): %w; is another login running?", info.Callback, info.Source, err)
			}
			cb := login.New(info, c.SAMLLogin)
			start, err := cb.Start()
			if err != nil {
				ln.Close()
				return err
			}
			srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
			go srv.Serve(ln)
			defer srv.Close()

			if printURL {
				fmt.Fprintln(cmd.OutOrStdout(), start)
			} else if err := exec.CommandContext(ctx, "xdg-open", start).Run(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "Open this URL in your browser to sign in:\n  %s\n", start)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Waiting for the sign-in on http://%s%s ...\n", info.Callback, login.Path)
			select {
			case r := <-cb.Done():
				// Let the browser read the page, the refusal's too.
				shut, done := context.WithTimeout(context.Background(), 2*time.Second)
				defer done()
				srv.Shutdown(shut)
				if r.Err != nil {
					return fmt.Errorf("sign-in to role %s refused: %w", r.Role, r.Err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Signed in: role %s until %s (%s after login started)\n",
					r.Role, r.Expires.UTC().Format(time.RFC3339), time.Since(begun).Round(time.Millisecond))
				return nil
			case <-ctx.Done():
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("no sign-in reached http://%s%s within %s: check that the IdP lists it as an assertion consumer service (see README, SAML federation)", info.Callback, login.Path, wait)
				}
				return ctx.Err()
			}
		},
	}
	runtimeDirFlag(cmd.Flags(), &runtimeDir)
	cmd.Flags().BoolVar(&printURL, "print", false, "print the IdP's sign-in URL on stdout instead of opening a browser")
	cmd.Flags().DurationVar(&wait, "timeout", loginWait, "how long to wait for the sign-in")
	return cmd
}
