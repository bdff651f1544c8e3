package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/credbroker/credbroker/broker"
)

// Client talks to a daemon's control socket.
type Client struct {
	path string
	hc   *http.Client
}

// NewClient returns a client of the control socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns:      1,
		DisableKeepAlives: false,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Path is the socket's path.
func (c *Client) Path() string { return c.path }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://credbroker"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (nothing listens on %s): start it with `credbroker serve`, or name its runtime directory with --runtime-dir or $CREDBROKER_RUNTIME_DIR", ErrNoDaemon, c.path)
		}
		if errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("the control socket %s is not yours (mode 0600): run as the daemon's user, or use its IMDS and container endpoints", c.path)
		}
		return fmt.Errorf("asking the daemon at %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Message == "" {
			e.Message = fmtStatus(resp.StatusCode)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the daemon's answer is not the JSON expected: %w", err)
	}
	return nil
}

// Health checks that the daemon answers.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/v1/health", nil, nil)
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (broker.Status, error) {
	var st broker.Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Credentials returns role's credentials in credential_process form.
func (c *Client) Credentials(ctx context.Context, role string) (ProcessCredentials, error) {
	var pc ProcessCredentials
	err := c.do(ctx, http.MethodGet, "/v1/credentials/"+url.PathEscape(role), nil, &pc)
	return pc, err
}

// IssueToken asks for a container token bound to role.
func (c *Client) IssueToken(ctx context.Context, role string) (TokenGrant, error) {
	var g TokenGrant
	err := c.do(ctx, http.MethodPost, "/v1/tokens", tokenRequest{Role: role}, &g)
	return g, err
}

// UserToken asks for the caller's own container token (bound to its uid,
// its role the one its client rules give).
func (c *Client) UserToken(ctx context.Context) (TokenGrant, error) {
	var g TokenGrant
	err := c.do(ctx, http.MethodPost, "/v1/user-token", struct{}{}, &g)
	return g, err
}

// RevokeToken withdraws a token IssueToken returned.
func (c *Client) RevokeToken(ctx context.Context, tok string) error {
	return c.do(ctx, http.MethodDelete, "/v1/tokens", tokenRequest{Token: tok}, nil)
}

// StartMFA makes role's MFA session with code; it returns its expiry.
func (c *Client) StartMFA(ctx context.Context, role, code string) (time.Time, error) {
	var r expiresResponse
	err := c.do(ctx, http.MethodPost, "/v1/mfa", mfaRequest{Role: role, Code: code}, &r)
	return r.Expires, err
}

// Reload asks the daemon to re-read its configuration; a refused one comes
// back as an *Error whose message lists the faults.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

// SAMLSource describes the saml source name ("" for the only one).
func (c *Client) SAMLSource(ctx context.Context, name string) (broker.SAMLSourceInfo, error) {
	if name == "" {
		name = "-"
	}
	var info broker.SAMLSourceInfo
	err := c.do(ctx, http.MethodGet, "/v1/saml/"+url.PathEscape(name), nil, &info)
	return info, err
}

// SAMLLogin hands the daemon the IdP's SAML response for role; it returns
// when the session ends.
func (c *Client) SAMLLogin(ctx context.Context, role, response string) (time.Time, error) {
	var r expiresResponse
	err := c.do(ctx, http.MethodPost, "/v1/saml", samlRequest{Role: role, Response: response}, &r)
	return r.Expires, err
}

// Metrics returns the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://credbroker/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
