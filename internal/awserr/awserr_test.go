package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestCode(t *testing.T) {
	api := &smithy.GenericAPIError{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
	for err, want := range map[error]string{
		api:                                    "InvalidClientTokenId",
		fmt.Errorf("assuming deploy: %w", api): "InvalidClientTokenId",
		errors.New("dial tcp: refused"):        "",
		nil:                                    "",
	} {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %q, want %q", err, got, want)
		}
	}
}
