package query

import (
	"context"
	"errors"
	"net/http"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store/kv"
)

// Error codes the Query APIs answer with that more than one part of the core uses.
// Codes of one API's own (NoSuchEntity, PackedPolicyTooLarge, …) are used as strings.
const (
	CodeAccessDenied               = "AccessDenied"
	CodeValidationError            = "ValidationError"
	CodeInvalidAction              = "InvalidAction"
	CodeMissingAction              = "MissingAction"
	CodeInvalidParameterValue      = "InvalidParameterValue"
	CodeMalformedQueryString       = "MalformedQueryString"
	CodeMissingAuthenticationToken = signer.CodeMissingAuthenticationToken
	CodeInvalidClientTokenID       = signer.CodeInvalidClientTokenID
	CodeExpiredToken               = signer.CodeExpiredToken
	CodeInternalFailure            = "InternalFailure"
	CodeRequestEntityTooLarge      = "RequestEntityTooLarge"
	CodeMethodNotAllowed           = "MethodNotAllowed"
	CodeMalformedPolicyDocument    = "MalformedPolicyDocument"
	// CodeThrottling is AWS's answer to a request over the account's request rate
	// quota ("Rate exceeded", HTTP 400), which the SDKs retry with backoff.
	CodeThrottling = "Throttling"
)

// Error is an error as a Query API answers it: an AWS error code and message for the
// client, the HTTP status, and an internal cause for the log only. Handlers return
// them (or the store's, signer's and policy engine's typed errors, which Classify
// converts); WriteError renders them.
type Error struct {
	Code    string
	Message string
	// Status is the HTTP status; 0 means the usual status of Code (see StatusOf and
	// the API's model).
	Status int
	// Cause is what went wrong inside; it is logged, never sent.
	Cause error
}

// NewError returns an Error with code and message.
func NewError(code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Internal returns the InternalFailure error for an unexpected failure; cause goes to
// the log only.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternalFailure, Status: http.StatusInternalServerError,
		Message: "The request processing has failed because of an unknown error, exception or failure.", Cause: cause}
}

// Error returns "Code: Message"; the cause is not included.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// commonStatus holds the HTTP statuses of the codes common to AWS's Query APIs and of
// the codes the core's packages produce. It is only read.
var commonStatus = map[string]int{
	CodeAccessDenied:                 http.StatusForbidden,
	"AccessDeniedException":          http.StatusForbidden,
	CodeValidationError:              http.StatusBadRequest,
	CodeInvalidAction:                http.StatusBadRequest,
	CodeMissingAction:                http.StatusBadRequest,
	CodeInvalidParameterValue:        http.StatusBadRequest,
	"InvalidParameterCombination":    http.StatusBadRequest,
	"MissingParameter":               http.StatusBadRequest,
	CodeMalformedQueryString:         http.StatusBadRequest,
	CodeMissingAuthenticationToken:   http.StatusForbidden,
	CodeInvalidClientTokenID:         http.StatusForbidden,
	signer.CodeSignatureDoesNotMatch: http.StatusForbidden,
	signer.CodeIncompleteSignature:   http.StatusBadRequest,
	signer.CodeRequestExpired:        http.StatusBadRequest,
	CodeExpiredToken:                 http.StatusBadRequest,
	"OptInRequired":                  http.StatusForbidden,
	"Throttling":                     http.StatusBadRequest,
	"RequestTimeout":                 http.StatusBadRequest,
	CodeInternalFailure:              http.StatusInternalServerError,
	"ServiceUnavailable":             http.StatusServiceUnavailable,
	CodeRequestEntityTooLarge:        http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:             http.StatusMethodNotAllowed,
	CodeMalformedPolicyDocument:      http.StatusBadRequest,
	"PackedPolicyTooLarge":           http.StatusBadRequest,
	// IAM's entity errors (sts/account), whichever API returns them.
	string(account.NoSuchEntity):            http.StatusNotFound,
	string(account.EntityAlreadyExists):     http.StatusConflict,
	string(account.DeleteConflict):          http.StatusConflict,
	string(account.LimitExceeded):           http.StatusConflict,
	string(account.InvalidInput):            http.StatusBadRequest,
	string(account.PasswordPolicyViolation): http.StatusBadRequest,
}

// StatusOf returns the usual HTTP status of an error code common to the Query APIs,
// and 400 for a code it does not know (an API's model may say otherwise: see
// Model.Error).
func StatusOf(code string) int {
	if s, ok := commonStatus[code]; ok {
		return s
	}
	return http.StatusBadRequest
}

// Classify returns err as an *Error: an *Error as it is; the signer's, the store's
// (*account.Error) and the policy engine's errors with their codes and messages;
// anything else as InternalFailure, its text kept for the log only.
func Classify(err error) *Error {
	var qe *Error
	if errors.As(err, &qe) {
		return qe
	}
	var se *signer.Error
	if errors.As(err, &se) {
		return &Error{Code: se.Code, Message: se.Message, Cause: err}
	}
	var ae *account.Error
	if errors.As(err, &ae) {
		return &Error{Code: string(ae.Code), Message: ae.Message, Cause: err}
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return &Error{Code: pe.Code, Message: pe.Message, Cause: err}
	}
	if errors.Is(err, kv.ErrUnavailable) {
		// The store's database is unreachable: AWS's answer for "try again later".
		return &Error{Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable,
			Message: "Service is unable to handle request.", Cause: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: "RequestTimeout", Message: "The request was not completed in time.", Cause: err}
	}
	return Internal(err)
}
