package account

import (
	"net/url"
	"strings"
)

// EscapePolicyDocument URL-encodes a policy document as IAM's Query API returns documents
// (GetRole's AssumeRolePolicyDocument, GetPolicyVersion's Document, …): every byte but
// letters, digits and "-_.~" percent-encoded, spaces as %20.
func EscapePolicyDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// UnescapePolicyDocument decodes an IAM URL-encoded document; like botocore it decodes
// %XX escapes only and leaves "+" alone.
func UnescapePolicyDocument(s string) (string, error) {
	return url.PathUnescape(s)
}
