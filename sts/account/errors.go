package account

import (
	"errors"
	"fmt"
)

// Code is an IAM error code, as the IAM Query API puts it in <Code>.
type Code string

// IAM error codes the entity rules produce. The API layer maps each to its HTTP status.
const (
	NoSuchEntity            Code = "NoSuchEntity"
	EntityAlreadyExists     Code = "EntityAlreadyExists"
	DeleteConflict          Code = "DeleteConflict"
	LimitExceeded           Code = "LimitExceeded"
	InvalidInput            Code = "InvalidInput"
	ValidationError         Code = "ValidationError"
	MalformedPolicyDocument Code = "MalformedPolicyDocument"
	PasswordPolicyViolation Code = "PasswordPolicyViolation"
	// Codes of SSH public keys, certificates and service-specific credentials.
	InvalidPublicKey              Code = "InvalidPublicKey"
	UnrecognizedPublicKeyEncoding Code = "UnrecognizedPublicKeyEncoding"
	DuplicateSSHPublicKey         Code = "DuplicateSSHPublicKey"
	MalformedCertificate          Code = "MalformedCertificate"
	InvalidCertificate            Code = "InvalidCertificate"
	DuplicateCertificate          Code = "DuplicateCertificate"
	KeyPairMismatch               Code = "KeyPairMismatch"
	NotSupportedService           Code = "NotSupportedService"
	UnmodifiableEntity            Code = "UnmodifiableEntity"
	FeatureEnabled                Code = "FeatureEnabled"
	FeatureDisabled               Code = "FeatureDisabled"
)

// Error is a client-facing IAM error: Code and Message are what AWS would answer. It never
// carries a secret. Use errors.Is(err, ErrNoSuchEntity) (and the other sentinels) to test
// the code, or errors.As to read the message.
type Error struct {
	Code    Code
	Message string
}

// Error returns "Code: Message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Is reports whether target is an *Error with the same Code and either no Message (the
// sentinels) or the same Message.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinels for errors.Is; they carry only a Code.
var (
	ErrNoSuchEntity            = &Error{Code: NoSuchEntity}
	ErrEntityAlreadyExists     = &Error{Code: EntityAlreadyExists}
	ErrDeleteConflict          = &Error{Code: DeleteConflict}
	ErrLimitExceeded           = &Error{Code: LimitExceeded}
	ErrInvalidInput            = &Error{Code: InvalidInput}
	ErrValidation              = &Error{Code: ValidationError}
	ErrMalformedPolicyDocument = &Error{Code: MalformedPolicyDocument}
	ErrPasswordPolicyViolation = &Error{Code: PasswordPolicyViolation}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
