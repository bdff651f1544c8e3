package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/session"
)

// Environment variables of the CI providers' OIDC tokens.
const (
	// GitHub Actions sets these in a job with `permissions: id-token: write`.
	envGitHubTokenURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubTokenToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// maxTokenBytes bounds an OIDC token (and the GitHub endpoint's answer).
const maxTokenBytes = 64 << 10

// webToken returns the current OIDC token of a web_identity source. It is
// read at every fetch: token files are renewed by whoever writes them, and
// CI tokens are short-lived.
func (b *Broker) webToken(ctx context.Context, src *config.Source) (string, error) {
	switch src.Provider {
	case config.ProviderFile:
		return tokenFromFile(src.TokenFile)
	case config.ProviderGitHub:
		return b.githubToken(ctx, src.Audience)
	case config.ProviderGitLab:
		tok := strings.TrimSpace(b.o.Getenv(src.TokenEnv))
		if tok == "" {
			return "", &session.Error{Kind: session.NonRecoverable, Code: "NoWebIdentityToken",
				Message: fmt.Sprintf("$%s is empty: declare it in the job's id_tokens (id_tokens: { %s: { aud: sts.amazonaws.com } }) and start credbroker inside the job", src.TokenEnv, src.TokenEnv)}
		}
		return tok, nil
	}
	return "", &session.Error{Kind: session.NonRecoverable, Code: "BadSource", Message: fmt.Sprintf("source %q: unknown web identity provider %q", src.Name, src.Provider)}
}

func tokenFromFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		code := "NoWebIdentityToken"
		if errors.Is(err, os.ErrNotExist) {
			return "", &session.Error{Kind: session.Retryable, Code: code,
				Message: fmt.Sprintf("the token file %s does not exist (yet): whoever writes it (Kubernetes, the CI job) has not done so", path), Err: err}
		}
		return "", &session.Error{Kind: session.NonRecoverable, Code: code, Message: fmt.Sprintf("cannot read the token file: %v", err), Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", &session.Error{Kind: session.Retryable, Code: "NoWebIdentityToken", Message: fmt.Sprintf("reading the token file %s: %v", path, err), Err: err}
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case len(b) > maxTokenBytes:
		return "", &session.Error{Kind: session.NonRecoverable, Code: "NoWebIdentityToken", Message: fmt.Sprintf("the token file %s is over %d bytes: is it a JWT?", path, maxTokenBytes)}
	case tok == "":
		return "", &session.Error{Kind: session.Retryable, Code: "NoWebIdentityToken", Message: fmt.Sprintf("the token file %s is empty", path)}
	}
	return tok, nil
}

// githubToken asks GitHub Actions' token endpoint for an OIDC token with
// audience aud: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with
// "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN", answered with
// {"value": "<JWT>"}.
func (b *Broker) githubToken(ctx context.Context, aud string) (string, error) {
	endpoint, bearer := b.o.Getenv(envGitHubTokenURL), b.o.Getenv(envGitHubTokenToken)
	if endpoint == "" || bearer == "" {
		return "", &session.Error{Kind: session.NonRecoverable, Code: "NoWebIdentityToken",
			Message: "$ACTIONS_ID_TOKEN_REQUEST_URL or $ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set: give the job `permissions: id-token: write` and start credbroker inside it"}
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", &session.Error{Kind: session.NonRecoverable, Code: "NoWebIdentityToken", Message: "$ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL"}
	}
	sep := "&"
	if u.RawQuery == "" {
		sep = "?"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+sep+"audience="+url.QueryEscape(aud), nil)
	if err != nil {
		return "", &session.Error{Kind: session.NonRecoverable, Code: "NoWebIdentityToken", Message: "building the GitHub token request: " + err.Error()}
	}
	req.Header.Set("Authorization", "bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := b.o.HTTPClient.Do(req)
	if err != nil {
		// The URL carries no secret; the bearer token is in a header.
		return "", &session.Error{Kind: session.Retryable, Code: "IDPCommunicationError", Message: "cannot reach GitHub's token endpoint: " + err.Error(), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBytes))
	if err != nil {
		return "", &session.Error{Kind: session.Retryable, Code: "IDPCommunicationError", Message: "reading GitHub's token answer: " + err.Error(), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		kind := session.NonRecoverable
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			kind = session.Retryable
		}
		return "", &session.Error{Kind: kind, Code: "IDPCommunicationError",
			Message: fmt.Sprintf("GitHub's token endpoint answered HTTP %d (is the job's id-token permission set, and the request token current?)", resp.StatusCode)}
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", &session.Error{Kind: session.NonRecoverable, Code: "IDPCommunicationError", Message: "GitHub's token endpoint answered without a token"}
	}
	return v.Value, nil
}
