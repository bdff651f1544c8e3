package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/spf13/cobra"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/control"
	"github.com/credbroker/credbroker/sts/console"
)

// AWS's own federation endpoint and console, for a broker that assumes roles
// against real AWS (no core served).
const (
	awsFederationURL = "https://signin.aws.amazon.com/federation"
	awsConsoleURL    = "https://console.aws.amazon.com/"
	signinIssuer     = "credbroker"
)

func newConsoleCmd(_ *app) *cobra.Command {
	var runtimeDir string
	var print bool
	cmd := &cobra.Command{
		Use:   "console [ROLE]",
		Short: "Open the IAM console in the browser, signed in as ROLE",
		Long: `Open the web console signed in as ROLE (default: the role the broker gives
you, as IMDS lists it), through the federation endpoint: the broker's session of
ROLE is exchanged for a sign-in token (getSigninToken, valid 15 minutes and
usable once) and the browser follows the login URL.

With the embedded core served, that is the core's own console (/console) and
federation endpoint (/federation); otherwise it is AWS's
(signin.aws.amazon.com). --print writes the login URL to stdout instead of
opening a browser; it holds a sign-in token: treat it as a secret. The browser
is $BROWSER, else xdg-open; the URL reaches it in a file of mode 0600, never on
a command line.`,
		Example: `  credbroker console dev-admin
  credbroker console --print deploy`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			dir := config.RuntimeDir(runtimeDir, os.Getenv)
			ends, err := control.ReadEndpoints(dir)
			if err != nil {
				return err
			}
			role := ""
			if len(args) == 1 {
				role = args[0]
			} else if role, err = callerRole(ctx, ends); err != nil {
				return err
			}
			pc, err := controlClient(runtimeDir).Credentials(ctx, role)
			if err != nil {
				return err
			}
			fed, dest := awsFederationURL, awsConsoleURL
			if core := ends.CoreURL(); core != "" {
				fed, dest = core+console.FederationPath, core+console.Prefix+"/"
			}
			creds := aws.Credentials{AccessKeyID: pc.AccessKeyID, SecretAccessKey: pc.SecretAccessKey, SessionToken: pc.SessionToken}
			hc, err := caBundleClient(os.Getenv("AWS_CA_BUNDLE"))
			if err != nil {
				return err
			}
			login, err := consoleLoginURL(ctx, hc, fed, dest, creds)
			if err != nil {
				return err
			}
			if print {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), login)
				return err
			}
			return openBrowser(ctx, dir, login)
		},
	}
	runtimeDirFlag(cmd.Flags(), &runtimeDir)
	cmd.Flags().BoolVar(&print, "print", false, "print the sign-in URL instead of opening a browser")
	return cmd
}

// caBundleClient is an HTTP client that trusts the CA certificates in the PEM
// file bundle (AWS_CA_BUNDLE, as the AWS CLI and SDKs read it: a core behind TLS
// with a private CA) besides the system's; with no bundle, the default client.
func caBundleClient(bundle string) (*http.Client, error) {
	if bundle == "" {
		return http.DefaultClient, nil
	}
	pem, err := os.ReadFile(bundle)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE %s holds no PEM certificate", bundle)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// callerRole asks the broker's IMDS which role it gives this caller.
func callerRole(ctx context.Context, ends control.Endpoints) (string, error) {
	if ends.IMDS == "" {
		return "", errors.New("name the ROLE: the broker serves no IMDS to ask which role is yours")
	}
	c := imds.New(imds.Options{Endpoint: ends.IMDSURL()})
	out, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: "iam/security-credentials/"})
	if err != nil {
		return "", fmt.Errorf("asking the broker's IMDS for your role (or name the ROLE): %w", err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 4096))
	if err != nil {
		return "", err
	}
	role, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if role == "" {
		return "", errors.New("the broker gives you no role: name the ROLE")
	}
	return role, nil
}

// consoleLoginURL exchanges creds for a SigninToken at the federation endpoint fed
// and returns the login URL that opens dest signed in.
func consoleLoginURL(ctx context.Context, hc *http.Client, fed, dest string, creds aws.Credentials) (string, error) {
	sess, err := json.Marshal(console.SessionJSON{SessionID: creds.AccessKeyID, SessionKey: creds.SecretAccessKey, SessionToken: creds.SessionToken})
	if err != nil {
		return "", err
	}
	form := url.Values{"Action": {"getSigninToken"}, "Session": {string(sess)}}
	// AWS's endpoint documents GET; the core also takes the form in a POST body,
	// which keeps the credentials out of any URL.
	var req *http.Request
	if fed == awsFederationURL {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, fed+"?"+form.Encode(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, fed, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("getSigninToken at %s: %w", fed, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("getSigninToken at %s: HTTP %d: %s", fed, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var tok struct{ SigninToken string }
	if err := json.Unmarshal(body, &tok); err != nil || tok.SigninToken == "" {
		return "", fmt.Errorf("getSigninToken at %s: the answer has no SigninToken", fed)
	}
	q := url.Values{"Action": {"login"}, "Issuer": {signinIssuer}, "Destination": {dest}, "SigninToken": {tok.SigninToken}}
	return fed + "?" + q.Encode(), nil
}

// openBrowser opens login in $BROWSER or xdg-open through a file of mode 0600 that
// redirects to it, so that the sign-in token is on no command line; the file is
// removed once the browser has had time to read it.
func openBrowser(ctx context.Context, dir, login string) error {
	tmp := os.Getenv("XDG_RUNTIME_DIR")
	if tmp == "" {
		tmp = dir
	}
	f, err := os.CreateTemp(tmp, "credbroker-console-*.html")
	if err != nil {
		return fmt.Errorf("writing the sign-in page for the browser: %w", err)
	}
	defer os.Remove(f.Name())
	page := `<!doctype html><meta http-equiv="refresh" content="0;url=` + html.EscapeString(login) + `"><title>Signing in</title>`
	if _, err := f.WriteString(page); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	browser := os.Getenv("BROWSER")
	if browser == "" {
		browser = "xdg-open"
	}
	c := exec.CommandContext(ctx, browser, "file://"+filepath.ToSlash(f.Name()))
	if err := c.Start(); err != nil {
		return fmt.Errorf("opening the browser (%s; set $BROWSER, or use --print): %w", browser, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(2 * time.Second)
	return nil
}
