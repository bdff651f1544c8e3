// Package awserr reads what AWS's SDK makes of an error answer, for the places
// (the broker's fetch, the core's console, tests) that branch on AWS's codes.
package awserr

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Code is the AWS error code of err (an API error in its chain), or "".
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
