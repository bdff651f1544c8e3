package session

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The claim set is JSON (RFC 7519), written and read by this fixed-schema codec rather
// than by reflection: see the package doc for the measurements. appendClaims writes the
// keys in one order; decodeClaims accepts any order but refuses unknown keys, duplicate
// keys and anything but the types below.
//
//	knd acc sub idn uid akid  strings
//	iat exp mfa               integers (Unix seconds)
//	pol                       the compact session policy, as a string
//	polz                      the deflated policy, base64 (large policies)
//	pma ttk                   arrays of strings
//	tag                       array of [key, value] pairs
//	sid by                    strings
//	chn                       true

// wire is the claim set as stored.
type wire struct {
	Kind        Kind
	Account     string
	Principal   string
	Identity    string
	UniqueID    string
	AccessKeyID string
	IssuedAt    int64
	Expiry      int64
	Policy      string // compact JSON object
	PolicyZ     []byte // deflated
	PolicyARNs  []string
	Tags        []Tag
	Transitive  []string
	Source      string
	MFAAuthTime int64
	RoleChained bool
	Caller      string
}

func appendClaims(b []byte, w *wire) []byte {
	b = append(b, '{')
	str := func(k, v string, always bool) {
		if v == "" && !always {
			return
		}
		b = appendKey(b, k)
		b = appendString(b, v)
	}
	num := func(k string, v int64, always bool) {
		if v == 0 && !always {
			return
		}
		b = appendKey(b, k)
		b = strconv.AppendInt(b, v, 10)
	}
	strs := func(k string, vs []string) {
		if len(vs) == 0 {
			return
		}
		b = appendKey(b, k)
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	str("knd", string(w.Kind), true)
	str("acc", w.Account, true)
	str("sub", w.Principal, true)
	str("idn", w.Identity, true)
	str("uid", w.UniqueID, true)
	str("akid", w.AccessKeyID, true)
	num("iat", w.IssuedAt, true)
	num("exp", w.Expiry, true)
	str("pol", w.Policy, false)
	if len(w.PolicyZ) > 0 {
		b = appendKey(b, "polz")
		b = append(b, '"')
		b = base64.RawStdEncoding.AppendEncode(b, w.PolicyZ)
		b = append(b, '"')
	}
	strs("pma", w.PolicyARNs)
	if len(w.Tags) > 0 {
		b = appendKey(b, "tag")
		b = append(b, '[')
		for i, t := range w.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendString(b, t.Key)
			b = append(b, ',')
			b = appendString(b, t.Value)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	strs("ttk", w.Transitive)
	str("sid", w.Source, false)
	num("mfa", w.MFAAuthTime, false)
	if w.RoleChained {
		b = appendKey(b, "chn")
		b = append(b, "true"...)
	}
	str("by", w.Caller, false)
	return append(b, '}')
}

func appendKey(b []byte, k string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

// appendString writes s as a JSON string. s is valid UTF-8 (Seal checks).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decoder reads the claim set. Strings without escapes are substrings of src.
type decoder struct {
	src string
	pos int
}

var errSyntax = errors.New("malformed claims")

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, what, d.pos)
}

func (d *decoder) ws() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) consume(c byte) bool {
	d.ws()
	if d.pos < len(d.src) && d.src[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func decodeClaims(src string) (wire, error) {
	var w wire
	d := &decoder{src: src}
	if !d.consume('{') {
		return w, d.fail("want {")
	}
	var seen uint32
	if d.consume('}') {
		return w, d.end()
	}
	for {
		key, err := d.string()
		if err != nil {
			return w, err
		}
		if !d.consume(':') {
			return w, d.fail("want :")
		}
		bit, err := d.field(&w, key)
		if err != nil {
			return w, err
		}
		if seen&bit != 0 {
			return w, d.fail("duplicate key " + strconv.Quote(key))
		}
		seen |= bit
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return w, d.end()
		}
		return w, d.fail("want , or }")
	}
}

func (d *decoder) end() error {
	d.ws()
	if d.pos != len(d.src) {
		return d.fail("trailing data")
	}
	return nil
}

func (d *decoder) field(w *wire, key string) (uint32, error) {
	var err error
	var kind string
	switch key {
	case "knd":
		kind, err = d.string()
		w.Kind = Kind(kind)
		return 1 << 0, err
	case "acc":
		w.Account, err = d.string()
		return 1 << 1, err
	case "sub":
		w.Principal, err = d.string()
		return 1 << 2, err
	case "idn":
		w.Identity, err = d.string()
		return 1 << 3, err
	case "uid":
		w.UniqueID, err = d.string()
		return 1 << 4, err
	case "akid":
		w.AccessKeyID, err = d.string()
		return 1 << 5, err
	case "iat":
		w.IssuedAt, err = d.int()
		return 1 << 6, err
	case "exp":
		w.Expiry, err = d.int()
		return 1 << 7, err
	case "pol":
		w.Policy, err = d.string()
		return 1 << 8, err
	case "polz":
		var s string
		if s, err = d.string(); err == nil {
			w.PolicyZ, err = base64.RawStdEncoding.DecodeString(s)
		}
		return 1 << 9, err
	case "pma":
		w.PolicyARNs, err = d.strings()
		return 1 << 10, err
	case "tag":
		w.Tags, err = d.tags()
		return 1 << 11, err
	case "ttk":
		w.Transitive, err = d.strings()
		return 1 << 12, err
	case "sid":
		w.Source, err = d.string()
		return 1 << 13, err
	case "mfa":
		w.MFAAuthTime, err = d.int()
		return 1 << 14, err
	case "chn":
		if !d.literal("true") {
			return 0, d.fail("want true")
		}
		w.RoleChained = true
		return 1 << 15, nil
	case "by":
		w.Caller, err = d.string()
		return 1 << 16, err
	}
	return 0, d.fail("unknown key " + strconv.Quote(key))
}

func (d *decoder) literal(lit string) bool {
	d.ws()
	if len(d.src)-d.pos >= len(lit) && d.src[d.pos:d.pos+len(lit)] == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

func (d *decoder) int() (int64, error) {
	d.ws()
	start := d.pos
	if d.pos < len(d.src) && d.src[d.pos] == '-' {
		d.pos++
	}
	for d.pos < len(d.src) && '0' <= d.src[d.pos] && d.src[d.pos] <= '9' {
		d.pos++
	}
	n, err := strconv.ParseInt(d.src[start:d.pos], 10, 64)
	if err != nil {
		return 0, d.fail("want an integer")
	}
	return n, nil
}

func (d *decoder) string() (string, error) {
	if !d.consume('"') {
		return "", d.fail("want a string")
	}
	end := strings.IndexByte(d.src[d.pos:], '"')
	if end < 0 {
		return "", d.fail("unterminated string")
	}
	s := d.src[d.pos : d.pos+end]
	if strings.IndexByte(s, '\\') >= 0 {
		return d.escapedString(d.pos)
	}
	// Seal writes valid UTF-8 and escapes control characters, and the signature is
	// checked before decoding: what reaches here is only checked for structure.
	d.pos += end + 1
	return s, nil
}

// escapedString reads a string that has escapes, from its first character at start.
func (d *decoder) escapedString(start int) (string, error) {
	d.pos = start
	end := start // the closing quote: the decoded string is no longer than this
	for end < len(d.src) && d.src[end] != '"' {
		if d.src[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(d.src) {
		return "", d.fail("unterminated string")
	}
	b := make([]byte, 0, end-start)
	for {
		// Copy up to the next escape in one go. (Control characters are not checked:
		// Seal escapes them, and the signature is checked before decoding.)
		i := strings.IndexByte(d.src[d.pos:end], '\\')
		if i < 0 {
			b = append(b, d.src[d.pos:end]...)
			d.pos = end + 1
			return string(b), nil
		}
		b = append(b, d.src[d.pos:d.pos+i]...)
		d.pos += i
		e := d.src[d.pos+1] // d.pos+1 <= end: the scan above skipped the escaped byte
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if d.pos+1 < len(d.src) && d.src[d.pos] == '\\' && d.src[d.pos+1] == 'u' {
					d.pos += 2
					lo, ok := d.hex4()
					if !ok {
						return "", d.fail("bad \\u escape")
					}
					r2 = utf16.DecodeRune(r, lo)
				}
				if r2 == utf8.RuneError {
					return "", d.fail("unpaired surrogate")
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", d.fail("bad escape")
		}
		if d.pos > end { // a \u escape ran past the string
			return "", d.fail("bad \\u escape")
		}
	}
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.src) {
		return 0, false
	}
	n, err := strconv.ParseUint(d.src[d.pos:d.pos+4], 16, 16)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(n), true
}

func (d *decoder) strings() ([]string, error) { return decodeArray(d, (*decoder).string) }

func (d *decoder) tags() ([]Tag, error) { return decodeArray(d, (*decoder).tag) }

// tag reads one tag: [key, value].
func (d *decoder) tag() (Tag, error) {
	var t Tag
	var err error
	if !d.consume('[') {
		return t, d.fail("a tag is [key, value]")
	}
	if t.Key, err = d.string(); err != nil {
		return t, err
	}
	if !d.consume(',') {
		return t, d.fail("a tag is [key, value]")
	}
	if t.Value, err = d.string(); err != nil {
		return t, err
	}
	if !d.consume(']') {
		return t, d.fail("a tag is [key, value]")
	}
	return t, nil
}

// decodeArray reads a JSON array whose elements elem reads.
func decodeArray[T any](d *decoder, elem func(*decoder) (T, error)) ([]T, error) {
	if !d.consume('[') {
		return nil, d.fail("want [")
	}
	var out []T
	if d.consume(']') {
		return out, nil
	}
	for {
		v, err := elem(d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			return out, nil
		}
		return nil, d.fail("want , or ]")
	}
}
