package signer

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	algorithm      = "AWS4-HMAC-SHA256"
	terminator     = "aws4_request"
	amzDateLayout  = "20060102T150405Z"
	maxSkew        = 15 * time.Minute
	maxPresignSecs = 7 * 24 * 60 * 60
	maxEchoLen     = 128
)

// authorization is the parsed value of a SigV4 Authorization header.
type authorization struct {
	Credential    string // keyid/date/region/service/aws4_request
	SignedHeaders string // as sent: lower-case names separated by ';'
	Signature     string // as sent: 64 hex digits when well formed
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…". The three parameters may come in any order, separated by commas and
// optional spaces. A failure is an IncompleteSignature *Error. hasDate says whether the
// request carries an X-Amz-Date or Date header: AWS reports its absence in the same
// message as the missing parameters.
//
// Messages never echo the header: a client that sends some other scheme's credentials
// ("Bearer …") to this endpoint must not find them in our logs.
func parseAuthorization(header string, hasDate bool) (authorization, *Error) {
	var a authorization
	alg, rest, _ := strings.Cut(header, " ")
	if alg != algorithm {
		if strings.HasPrefix(alg, "AWS4-") && len(alg) <= 32 {
			return a, incomplete("Unsupported AWS 'algorithm': '" + alg + "'")
		}
		rest = "" // not SigV4: report every parameter missing
	}
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.Trim(part, " \t")
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		var dst *string
		switch name {
		case "Credential":
			dst = &a.Credential
		case "SignedHeaders":
			dst = &a.SignedHeaders
		case "Signature":
			dst = &a.Signature
		default:
			continue
		}
		if *dst != "" {
			return authorization{}, incomplete("Authorization header has a duplicate '" + name + "' parameter.")
		}
		*dst = value
	}
	if a.Credential != "" && a.SignedHeaders != "" && a.Signature != "" && hasDate {
		return a, nil
	}
	var b strings.Builder
	for _, p := range [...]struct{ name, value string }{
		{"Credential", a.Credential}, {"Signature", a.Signature}, {"SignedHeaders", a.SignedHeaders},
	} {
		if p.value == "" {
			b.WriteString("Authorization header requires '" + p.name + "' parameter. ")
		}
	}
	if !hasDate {
		b.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	return authorization{}, incomplete(strings.TrimSuffix(b.String(), " "))
}

// Scope is a SigV4 credential scope: the day (YYYYMMDD), region and service a signature
// is good for.
type Scope struct {
	Date    string
	Region  string
	Service string
}

// String returns date/region/service/aws4_request.
func (s Scope) String() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + terminator
}

// parseCredential splits keyid/date/region/service/terminator. It fails, with AWS's
// IncompleteSignature message, only when there are not exactly five elements; the
// caller checks the terminator, the date and what the scope names.
func parseCredential(credential string) (accessKeyID string, scope Scope, term string, err *Error) {
	var parts [5]string
	rest := credential
	for i := range parts {
		var ok bool
		parts[i], rest, ok = strings.Cut(rest, "/")
		if ok == (i == len(parts)-1) { // too many, or too few, elements
			return "", Scope{}, "", incomplete("Credential must have exactly 5 slash-delimited elements, " +
				"e.g. keyid/date/region/service/term, got '" + echo(credential) + "'")
		}
	}
	return parts[0], Scope{Date: parts[1], Region: parts[2], Service: parts[3]}, parts[4], nil
}

// checkScope applies AWS's rules to a parsed scope against the request's signing time
// (amzDate) and the verifier's accepted regions and services.
func (v *Verifier) checkScope(s Scope, term, amzDate string) *Error {
	if term != terminator {
		return mismatch("Credential should be scoped with a valid terminator: 'aws4_request', not '" + echo(term) + "'. ")
	}
	if s.Date != amzDate[:8] {
		return mismatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			echo(s.Date) + "' != '" + amzDate[:8] + "', from '" + amzDate + "'.")
	}
	if s.Region == "" || (len(v.opts.Regions) > 0 && !contains(v.opts.Regions, s.Region)) {
		return mismatch("Credential should be scoped to a valid region. ")
	}
	if s.Service == "" || (len(v.opts.Services) > 0 && !contains(v.opts.Services, s.Service)) {
		want := "'" + strings.Join(v.opts.Services, "' or '") + "'"
		if len(v.opts.Services) == 0 {
			want = "a service"
		}
		return mismatch("Credential should be scoped to correct service: " + want + ". ")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// echo makes a client-supplied value fit to quote back in a message: at most
// maxEchoLen bytes, valid UTF-8, control characters shown as '?'.
func echo(s string) string {
	cut := len(s) > maxEchoLen
	if cut {
		s = s[:maxEchoLen]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if cut {
		s += "…"
	}
	return s
}

// maxSignedHeaders bounds SignedHeaders: each name costs a header lookup.
const maxSignedHeaders = 256

// checkSignedHeaders applies AWS's rule that host is signed, and a sane bound.
func checkSignedHeaders(list string) *Error {
	if strings.Count(list, ";") >= maxSignedHeaders {
		return incomplete(fmt.Sprintf("SignedHeaders lists more than %d headers.", maxSignedHeaders))
	}
	if !signsHeader(list, "host") {
		return incomplete(msgHostNotSigned)
	}
	return nil
}

// parseAmzDate parses the ISO-8601 basic form 20060102T150405Z without allocating.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != 16 || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[4:6])
	d, ok3 := num(s[6:8])
	h, ok4 := num(s[9:11])
	mi, ok5 := num(s[11:13])
	se, ok6 := num(s[13:15])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

func badDate(s string) *Error {
	return incomplete("Date must be in ISO-8601 'basic format'. Got '" + echo(s) + "'. See http://en.wikipedia.org/wiki/ISO_8601")
}

// requestTime finds the signing time of a header-signed request: X-Amz-Date, or else
// the Date header (ISO-8601 basic, or an HTTP date as botocore sends it). amzDate is the
// time in ISO-8601 basic form, as the string to sign carries it.
func requestTime(h http.Header) (t time.Time, amzDate string, present bool, err *Error) {
	if v := h["X-Amz-Date"]; len(v) > 0 {
		t, ok := parseAmzDate(v[0])
		if !ok {
			return t, "", true, badDate(v[0])
		}
		return t, v[0], true, nil
	}
	v := h["Date"]
	if len(v) == 0 {
		return t, "", false, nil
	}
	if t, ok := parseAmzDate(v[0]); ok {
		return t, v[0], true, nil
	}
	t, perr := http.ParseTime(v[0])
	if perr != nil { // botocore writes email.utils.formatdate's "-0000" zone
		if t, perr = time.Parse(time.RFC1123Z, v[0]); perr != nil {
			return t, "", true, badDate(v[0])
		}
	}
	t = t.UTC()
	return t, t.Format(amzDateLayout), true, nil
}

// forEachName iterates the names of a SignedHeaders value.
func forEachName(signed string, fn func(name string)) {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		fn(name)
	}
}

func signsHeader(signed, name string) bool {
	found := false
	forEachName(signed, func(n string) {
		if strings.EqualFold(n, name) {
			found = true
		}
	})
	return found
}

// presignParams holds the X-Amz-* parameters of a presigned URL, decoded.
type presignParams struct {
	algorithm, credential, date, expires, signedHeaders, signature, token string
	seen                                                                  uint8
}

var presignNames = [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}

func (p *presignParams) field(i int) *string {
	return [...]*string{&p.algorithm, &p.credential, &p.date, &p.expires, &p.signedHeaders, &p.signature, &p.token}[i]
}

// parsePresign extracts the presigning parameters from a raw query string.
func parsePresign(rawQuery string) (presignParams, *Error) {
	var p presignParams
	for q := rawQuery; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, val, _ := strings.Cut(pair, "=")
		if len(k) < 10 || k[:6] != "X-Amz-" {
			continue
		}
		for i, name := range presignNames {
			if k != name {
				continue
			}
			if p.seen&(1<<i) != 0 {
				return p, incomplete("AWS query-string parameters must not repeat '" + name + "'.")
			}
			p.seen |= 1 << i
			*p.field(i) = queryUnescape(val)
		}
	}
	var missing strings.Builder
	for i, name := range presignNames[:len(presignNames)-1] {
		if i != 3 && p.seen&(1<<i) == 0 { // X-Amz-Expires is optional
			missing.WriteString("AWS query-string parameters must include '" + name + "'. ")
		}
	}
	if missing.Len() > 0 {
		return p, incomplete(missing.String() + "Re-examine the query-string parameters.")
	}
	if p.algorithm != algorithm {
		return p, incomplete("X-Amz-Algorithm only supports '" + algorithm + "'")
	}
	return p, nil
}

// parseExpires reads X-Amz-Expires as AWS bounds it: 0 to 604800 seconds.
func parseExpires(s string) (int64, *Error) {
	if s == "" || len(s) > 10 {
		return 0, incomplete("X-Amz-Expires must be a whole number of seconds, got '" + echo(s) + "'")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if i == 0 && s[0] == '-' {
				return 0, incomplete("X-Amz-Expires must be non-negative")
			}
			return 0, incomplete("X-Amz-Expires must be a whole number of seconds, got '" + echo(s) + "'")
		}
		n = n*10 + int64(s[i]-'0')
	}
	if n > maxPresignSecs {
		return 0, incomplete(fmt.Sprintf("X-Amz-Expires must be less than a week (in seconds) that is %d", maxPresignSecs))
	}
	return n, nil
}
