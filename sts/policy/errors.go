package policy

import (
	"fmt"
	"strings"
)

// Error codes an *Error carries: the AWS error code the IAM API answers with.
const (
	// CodeMalformedPolicyDocument is IAM's code for a document it refuses.
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	// CodeLimitExceeded is IAM's code for a document over its size quota.
	CodeLimitExceeded = "LimitExceeded"
	// CodeValidationError is the API's code for a parameter over its length
	// constraint (session policies).
	CodeValidationError = "ValidationError"
)

// AWS's words for the faults IAM reports. Kept together so that tests and the
// conformance cases can compare against exactly these strings. The cases in
// testdata/conformance/grammar record which document gets which message.
const (
	msgSyntax             = "Syntax errors in policy."
	msgLegacy             = "The policy failed legacy parsing"
	msgVersion            = "Policy document must be version 2012-10-17 or greater."
	msgPrincipalForbidden = "Policy document should not specify a principal."
	msgMissingField       = "Missing required field %s"
	msgProhibitedField    = "Has prohibited field %s"
	msgNoActions          = "Policy statement must contain actions."
	msgNoResources        = "Policy statement must contain resources."
	msgSidUnique          = "Statement IDs (SID) in a single policy must be unique."
	msgSidAlnum           = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgVendor             = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgOneColon           = "Actions/Condition can contain only one colon."
	msgVendorInvalid      = "Vendor %s is not valid"
	msgResourceARN        = "Resource %s must be in ARN format or \"*\"."
	msgPartition          = "Partition \"%s\" is not valid for resource \"arn:%s:%s:%s:%s:%s\"."
	msgResourceVendor     = "Resource vendor must be fully qualified and cannot contain regexes."
	msgIAMRegion          = "IAM resource %s cannot contain region information."
	msgS3Region           = "Resource %s can not contain region information."
	msgIAMPath            = "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."
	msgPrincipal          = "Invalid principal in policy: %s"
	msgTrustActions       = "AssumeRole policy may only specify STS AssumeRole actions."
)

// Error is one fault in a policy document: the AWS error code and message IAM
// answers with, and where in the document the fault is, for tools.
type Error struct {
	// Code is the AWS error code: MalformedPolicyDocument, LimitExceeded or
	// ValidationError.
	Code string
	// Message is AWS's message, as IAM words it.
	Message string
	// Path is the JSON path of the faulty element, such as
	// `$.Statement[1].Effect`; "$" for the whole document.
	Path string
	// Line and Column (1-based) locate the element in the document; 0 when
	// the fault is about the document as a whole.
	Line, Column int
}

// Error renders the fault for logs and command lines: code, message and path.
// It never includes the document itself.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Path != "" && e.Path != "$" {
		b.WriteString(" (at ")
		b.WriteString(e.Path)
		if e.Line > 0 {
			fmt.Fprintf(&b, ", line %d column %d", e.Line, e.Column)
		}
		b.WriteString(")")
	}
	return b.String()
}

// jsonPath builds the path of an element below parent: `.Name` for plain
// names, `["odd name"]` otherwise.
func jsonPath(parent, key string) string {
	plain := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return parent + "." + key
	}
	return parent + "[" + quoteJSON(key) + "]"
}

func indexPath(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// quoteJSON quotes s as a JSON string.
func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
