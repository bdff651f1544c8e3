package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var (
	// ErrNotReady: nothing usable is cached and the fetch under way did not
	// finish within the wait a caller is given; ask again shortly.
	ErrNotReady = errors.New("session: credentials are not ready yet")
	// ErrClosed: the cache was closed (daemon stopping, or the session was
	// dropped by a reload).
	ErrClosed = errors.New("session: closed")
)

// Kind tells whether retrying an upstream failure can help.
type Kind int

// Kinds of upstream failure.
const (
	// Retryable failures (network, throttling, 5xx, timeouts) are retried
	// with exponential backoff.
	Retryable Kind = iota + 1
	// NonRecoverable failures need someone to change something (a policy,
	// a key, an MFA session); they are retried only slowly, in case
	// someone did, and reported in status with the fix.
	NonRecoverable
)

func (k Kind) String() string {
	switch k {
	case Retryable:
		return "retryable"
	case NonRecoverable:
		return "non-recoverable"
	}
	return "unknown"
}

// Error is a classified upstream failure. Message says what happened and
// what to do; it never holds a secret and is safe for status and logs.
// Err is the cause, for debug logs only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// NeedsHuman is the error a source returns when it cannot go on without a
// person (an MFA code, a locked keyring): the daemon never prompts, so the
// session reports it and waits.
func NeedsHuman(code, message string, cause error) *Error {
	return &Error{Kind: NonRecoverable, Code: code, Message: message, Err: cause}
}

// Classify sorts an upstream error into retryable or non-recoverable with
// an actionable message. It is the one place that knows STS's error codes.
// An *Error passes through unchanged.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	retry := func(code, msg string) *Error { return &Error{Kind: Retryable, Code: code, Message: msg, Err: err} }
	fatal := func(code, msg string) *Error { return &Error{Kind: NonRecoverable, Code: code, Message: msg, Err: err} }

	var api smithy.APIError
	if errors.As(err, &api) {
		code, msg := api.ErrorCode(), api.ErrorMessage()
		switch code {
		case "AccessDenied", "AccessDeniedException":
			if strings.Contains(msg, "MultiFactorAuthentication") || strings.Contains(msg, "MFA") {
				return fatal(code, "STS wants MFA for this role: "+msg+". Run `credbroker mfa` for the role's source (the daemon never prompts).")
			}
			return fatal(code, "STS refused to assume the role: "+msg+". Check that the role's trust policy names the source (and any sts:ExternalId or MFA condition), and that the source's own policy allows sts:AssumeRole on the role.")
		case "ExpiredToken":
			return fatal(code, "the source's session has expired: "+msg+". For an MFA session run `credbroker mfa` again; for a chained role the source role's session must be refreshed first.")
		case "ExpiredTokenException":
			return fatal(code, "the web identity token has expired: "+msg+". Make sure the token file is renewed (Kubernetes, CI) before it expires.")
		case "InvalidClientTokenId":
			return fatal(code, "STS does not know the access key: "+msg+". The key was deleted or deactivated, or belongs to another partition; store a valid one with `credbroker keys add NAME` (a key just created can take a few seconds to work).")
		case "SignatureDoesNotMatch":
			return fatal(code, "the secret access key does not match its key id: "+msg+". Store the key again with `credbroker keys add NAME`.")
		case "InvalidIdentityToken", "IDPRejectedClaim":
			return fatal(code, "STS rejected the web identity token: "+msg+". Check the IAM OIDC provider (issuer URL, thumbprint, client id = the token's audience) and the role's trust policy conditions on the token's claims.")
		case "IDPCommunicationError":
			return retry(code, "STS could not reach the identity provider to check the token: "+msg)
		case "MalformedPolicyDocument", "PackedPolicyTooLarge", "ValidationError", "InvalidParameterValue":
			return fatal(code, "STS refused the request the role's configuration makes: "+msg+". Fix the role's session policy, tags, duration or session name in the config.")
		case "RegionDisabledException":
			return fatal(code, "STS is not activated in this region: "+msg+". Activate it in the account's IAM settings or use another region's endpoint.")
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
			"ServiceUnavailable", "InternalFailure", "InternalError", "RequestTimeout", "RequestTimeoutException":
			return retry(code, "STS is busy or failing ("+msg+"); retrying with backoff")
		}
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 && re.HTTPStatusCode() != 429 {
			return fatal(code, fmt.Sprintf("STS refused the request (HTTP %d): %s", re.HTTPStatusCode(), msg))
		}
		return retry(code, "STS failed: "+msg)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return retry("Timeout", "the upstream did not answer in time; retrying with backoff")
	case errors.Is(err, context.Canceled):
		return retry("Canceled", "the fetch was canceled")
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return retry("Unreachable", "cannot reach the upstream STS ("+err.Error()+"); retrying with backoff")
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return retry(fmt.Sprintf("HTTP%d", re.HTTPStatusCode()), "the upstream STS failed; retrying with backoff")
	}
	return retry("UpstreamError", err.Error())
}
