package signer

import (
	"errors"
	"strings"
	"time"
)

// AWS error codes a Verifier (or a key lookup) answers with. They are the codes AWS's
// STS and IAM endpoints use; the HTTP status belongs to whoever renders the error.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeRequestExpired             = "RequestExpired"
	CodeExpiredToken               = "ExpiredToken"
)

// AWS's messages, word for word.
const (
	msgMissingAuth       = "Request is missing Authentication Token"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgExpiredToken      = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgPresignExpired  = "Request has expired."
	msgBodyHashInvalid = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgTwoMechanisms   = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
		"Signature query string parameter or the Authorization header should be specified"
	msgHostNotSigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
)

// Error is a verification failure as AWS reports it: Code and Message are what the
// client sees. CanonicalRequest and StringToSign are set on SignatureDoesNotMatch: they
// are what the server expected, for debug logs only (the session token's value is
// replaced by "REDACTED" in the canonical request). Error() never includes them.
type Error struct {
	Code    string
	Message string

	// CanonicalRequest is the canonical request the verifier built, for debug logs.
	CanonicalRequest string
	// StringToSign is the string to sign the verifier built, for debug logs.
	StringToSign string
	// Err is an internal cause, if any; it is never part of Message or Error().
	Err error
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the internal cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// NewError returns an Error with the given AWS code and message.
func NewError(code, message string) *Error { return &Error{Code: code, Message: message} }

// InvalidToken returns the InvalidClientTokenId error AWS answers for an unknown access
// key id, or a session token that does not verify or does not belong to the key. A key
// lookup returns it unchanged through Verify.
func InvalidToken() *Error { return NewError(CodeInvalidClientTokenID, msgInvalidToken) }

// ExpiredToken returns the ExpiredToken error AWS answers for a session token past its
// expiry.
func ExpiredToken() *Error { return NewError(CodeExpiredToken, msgExpiredToken) }

// CodeOf returns the AWS error code of err if err is (or wraps) an *Error, else "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func incomplete(msg string) *Error { return NewError(CodeIncompleteSignature, msg) }

func mismatch(msg string) *Error { return NewError(CodeSignatureDoesNotMatch, msg) }

// skewError is AWS's message for a signing time more than maxSkew away from now.
func skewError(signed, now time.Time) *Error {
	var b strings.Builder
	if signed.Before(now) {
		b.WriteString("Signature expired: ")
		b.WriteString(signed.UTC().Format(amzDateLayout))
		b.WriteString(" is now earlier than ")
		b.WriteString(now.Add(-maxSkew).UTC().Format(amzDateLayout))
		b.WriteString(" (")
		b.WriteString(now.UTC().Format(amzDateLayout))
		b.WriteString(" - 15 min.)")
	} else {
		b.WriteString("Signature not yet current: ")
		b.WriteString(signed.UTC().Format(amzDateLayout))
		b.WriteString(" is still later than ")
		b.WriteString(now.Add(maxSkew).UTC().Format(amzDateLayout))
		b.WriteString(" (")
		b.WriteString(now.UTC().Format(amzDateLayout))
		b.WriteString(" + 15 min.)")
	}
	return NewError(CodeRequestExpired, b.String())
}
