package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const upperhex = "0123456789ABCDEF"

// unreserved reports the characters SigV4 never percent-encodes (RFC 3986 unreserved).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendEscaped percent-encodes s as SigV4 does: everything but the unreserved set
// (and '/' when keepSlash), upper-case hex.
func appendEscaped[T string | []byte](b []byte, s T, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
		} else {
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// queryUnescape decodes a query component with form semantics ('+' is a space, as the
// AWS SDK for Go reads it). A '%' not followed by two hex digits stays literal.
func queryUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	return string(appendUnescaped(make([]byte, 0, len(s)), s))
}

func appendUnescaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					b = append(b, hi<<4|lo)
					i += 2
					continue
				}
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// canonicalComponent reports whether a raw query component is already in SigV4's
// canonical encoding, so that it can be used as it is.
func canonicalComponent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(s) {
			return false
		}
		hi, lo := s[i+1], s[i+2]
		if !isUpperHex(hi) || !isUpperHex(lo) {
			return false
		}
		h, _ := unhex(hi)
		l, _ := unhex(lo)
		if unreserved(h<<4 | l) {
			return false // %7E must be written ~
		}
		i += 2
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// qparam is one query parameter in canonical encoding.
type qparam struct {
	key, value string
	skip       uint8 // skipSignature or skipToken
}

const (
	skipSignature uint8 = 1 << iota
	skipToken
)

// canonicalQuery parses a raw query into canonically encoded parameters, sorted by key
// then value, re-encoding only the components that need it (into arena, which the
// caller sizes so that it never grows: string views point into it).
func canonicalQuery(params []qparam, arena []byte, rawQuery string, presigned bool) ([]qparam, []byte) {
	enc := func(raw string) string {
		if canonicalComponent(raw) {
			return raw
		}
		start := len(arena)
		var tmp [256]byte
		dec := appendUnescaped(tmp[:0], raw)
		arena = appendEscaped(arena, dec, false)
		return unsafeString(arena[start:])
	}
	for q := rawQuery; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		p := qparam{key: enc(k), value: enc(val)}
		if presigned {
			switch k {
			case "X-Amz-Signature":
				p.skip = skipSignature
			case "X-Amz-Security-Token":
				p.skip = skipToken
			}
		}
		params = append(params, p)
	}
	slices.SortFunc(params, func(a, b qparam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	return params, arena
}

// requestPath returns the path exactly as the client sent it: from the request-target
// when the request came from a server, else as the client-side URL encodes it.
func requestPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p == "*" {
		p = r.URL.Opaque
		if p == "" {
			p = r.URL.EscapedPath()
		} else if i := strings.Index(p, "//"); i == 0 { // "//host/path" opaque form
			p = p[2:]
			if j := strings.IndexByte(p, '/'); j >= 0 {
				p = p[j:]
			} else {
				p = ""
			}
		}
	} else if p[0] != '/' { // absolute-form request-target: scheme://host/path
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
			if j := strings.IndexByte(p, '/'); j >= 0 {
				p = p[j:]
			} else {
				p = ""
			}
		}
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" {
		p = "/"
	}
	return p
}

// needsNormalizing reports whether normalizePath would change p.
func needsNormalizing(p string) bool {
	if strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") {
		return true
	}
	return strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") || p == "." || p == ".." ||
		strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// normalizePath removes "." and ".." segments and empty segments, as AWS does for every
// service but S3 (RFC 3986 section 5.2.4, plus collapsed slashes). A trailing slash is
// kept when something remains.
func normalizePath(p string) string {
	if !needsNormalizing(p) {
		return p
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	var b strings.Builder
	if strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(segs, "/"))
	if strings.HasSuffix(p, "/") && len(segs) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// variant selects one of the readings of a request that AWS clients sign differently.
// The zero variant is AWS's documented one; Verify tries the others only when they
// apply and the first does not match.
type variant uint8

const (
	// rawPath signs the path as sent, not normalized (the AWS SDKs for Go and Java do
	// not normalize; botocore and the CRT do).
	rawPath variant = 1 << iota
	// tokenUnsigned leaves X-Amz-Security-Token out of a presigned URL's canonical query
	// (the CRT's omit_session_token: the token is appended after signing).
	tokenUnsigned
	// foldAllSpace folds runs of any ASCII white space in header values to one space
	// (botocore), where the SDK for Go and the CRT fold only runs of spaces.
	foldAllSpace
	// redactToken writes REDACTED for the session token: for debug output only.
	redactToken
)

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// appendHeaderValue trims a header value and folds runs of spaces (or, with all, of any
// white space) into one space.
func appendHeaderValue(b []byte, v string, all bool) []byte {
	if !all && (v == "" || !isSpace(v[0]) && !isSpace(v[len(v)-1]) && !strings.Contains(v, "  ")) {
		return append(b, v...) // the common case: nothing to trim or fold
	}
	i, j := 0, len(v)
	for i < j && isSpace(v[i]) {
		i++
	}
	for j > i && isSpace(v[j-1]) {
		j--
	}
	prevSpace := false
	for ; i < j; i++ {
		c := v[i]
		sp := c == ' ' || (all && isSpace(c))
		if sp {
			if !prevSpace {
				b = append(b, ' ')
			}
		} else {
			b = append(b, c)
		}
		prevSpace = sp
	}
	return b
}

// hasOtherSpace reports white space other than ' ' inside a value (after trimming),
// where botocore and the SDK for Go canonicalize differently.
func hasOtherSpace(v string) bool {
	v = strings.TrimFunc(v, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
	for i := 0; i < len(v); i++ {
		if v[i] != ' ' && isSpace(v[i]) {
			return true
		}
	}
	return false
}

// headerValues returns the values of header name (lower case) without allocating for
// names of up to 64 bytes in Go's canonical form.
func headerValues(h http.Header, name string) []string {
	if len(name) <= 64 {
		var buf [64]byte
		b := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(b)]; ok {
			return v
		}
	}
	for k, v := range h { // keys Go left alone, or a client-side request's own spelling
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// canonicalInput is what a canonical request is built from, gathered once per request.
type canonicalInput struct {
	r             *http.Request
	path          string // as sent
	normalize     bool   // AWS normalizes and double-encodes for every service but S3
	escape        bool
	query         []qparam
	signedHeaders string
	payloadHash   []byte // 64 lower-case hex digits
}

// appendCanonicalRequest writes the canonical request for one variant.
func appendCanonicalRequest(b []byte, in *canonicalInput, vr variant) []byte {
	r := in.r
	b = append(b, r.Method...)
	b = append(b, '\n')

	p := in.path
	if in.normalize && vr&rawPath == 0 {
		p = normalizePath(p)
	}
	if in.escape {
		b = appendEscaped(b, p, true)
	} else {
		b = append(b, p...)
	}
	b = append(b, '\n')

	first := true
	for _, q := range in.query {
		if q.skip&skipSignature != 0 || (q.skip&skipToken != 0 && vr&tokenUnsigned != 0) {
			continue
		}
		if !first {
			b = append(b, '&')
		}
		first = false
		b = append(b, q.key...)
		b = append(b, '=')
		if q.skip&skipToken != 0 && vr&redactToken != 0 {
			b = append(b, "REDACTED"...)
		} else {
			b = append(b, q.value...)
		}
	}
	b = append(b, '\n')

	forEachName(in.signedHeaders, func(name string) {
		b = append(b, name...)
		b = append(b, ':')
		switch {
		case name == "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			b = appendHeaderValue(b, host, false)
			b = append(b, '\n')
			return
		case name == "x-amz-security-token" && vr&redactToken != 0:
			b = append(b, "REDACTED\n"...)
			return
		}
		values := headerValues(r.Header, name)
		switch {
		case len(values) == 0 && name == "content-length" && r.ContentLength > 0:
			b = strconv.AppendInt(b, r.ContentLength, 10)
		case len(values) == 0 && name == "transfer-encoding":
			b = append(b, strings.Join(r.TransferEncoding, ",")...)
		}
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendHeaderValue(b, v, vr&foldAllSpace != 0)
		}
		b = append(b, '\n')
	})
	b = append(b, '\n')
	b = append(b, in.signedHeaders...)
	b = append(b, '\n')
	b = append(b, in.payloadHash...)
	return b
}

// CanonicalRequest returns r's canonical request as SigV4 builds it in AWS's
// documented reading (the path normalized and encoded once more), over the headers
// signedHeaders names (lower case, ';'-separated) and the SHA-256 of body. Roles
// Anywhere's AWS4-X509-RSA-SHA256 and AWS4-X509-ECDSA-SHA256 sign the hash of this
// same canonical request with a certificate's key instead of an HMAC.
func CanonicalRequest(r *http.Request, signedHeaders string, body []byte) []byte {
	sum := sha256.Sum256(body)
	var payload [2 * sha256.Size]byte
	hex.Encode(payload[:], sum[:])
	in := canonicalInput{r: r, path: requestPath(r), normalize: true, escape: true,
		signedHeaders: signedHeaders, payloadHash: payload[:]}
	if q := r.URL.RawQuery; q != "" {
		in.query, _ = canonicalQuery(nil, make([]byte, 0, 3*len(q)), q, false)
	}
	return appendCanonicalRequest(nil, &in, 0)
}
