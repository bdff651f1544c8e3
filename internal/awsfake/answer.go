package awsfake

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/credbroker/credbroker/signer"
)

// answer is what one request gets: a result or an AWS error.
type answer struct {
	service, action string
	keyID, issued   string
	result          string // the result element's content; "" answers no result element
	hasResult       bool
	err             *apiError
}

type apiError struct {
	status        int
	code, message string
}

// statusOf is the HTTP status AWS answers each error code with (400 if not listed).
var statusOf = map[string]int{
	"AccessDenied": 403, "InvalidClientTokenId": 403, "SignatureDoesNotMatch": 403, "ExpiredToken": 400,
	"MissingAuthenticationToken": 403, "InvalidIdentityToken": 400, "ServiceUnavailable": 503, "Throttling": 400,
	"NoSuchEntity": 404, "LimitExceeded": 409, "InternalFailure": 500,
}

func (a *answer) ok(result string) { a.result, a.hasResult = result, true }

func (a *answer) fail(code, msg string) *answer {
	st := statusOf[code]
	if st == 0 {
		st = 400
	}
	a.err = &apiError{st, code, msg}
	return a
}

// failWith answers a verifier or lookup error with its AWS code and message.
func (a *answer) failWith(err error) *answer {
	var se *signer.Error
	if errors.As(err, &se) {
		return a.fail(se.Code, se.Message)
	}
	return a.fail("InternalFailure", "verifying the signature failed")
}

var namespaces = map[string]string{
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
	"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}

func (a *answer) render(w http.ResponseWriter) {
	ns := namespaces[a.service]
	if ns == "" {
		ns = namespaces["sts"]
	}
	w.Header().Set("Content-Type", "text/xml")
	if a.err != nil {
		w.WriteHeader(a.err.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awsfake</RequestId></ErrorResponse>`,
			ns, a.err.code, esc(a.err.message))
		return
	}
	result := ""
	if a.hasResult {
		result = fmt.Sprintf(`<%sResult>%s</%sResult>`, a.action, a.result, a.action)
	}
	fmt.Fprintf(w, `<%sResponse xmlns="%s">%s<ResponseMetadata><RequestId>awsfake</RequestId></ResponseMetadata></%sResponse>`,
		a.action, ns, result, a.action)
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
