package query

import (
	"net/url"
	"slices"
	"strings"
)

// Limits of a request's form, checked while parsing.
const (
	// MaxParams is the most parameters (key=value pairs) one request may carry. IAM's
	// largest requests (SimulateCustomPolicy with context entries, tag lists of 50)
	// stay far below it.
	MaxParams = 4096
	// MaxKeyLength is the longest parameter name accepted.
	MaxKeyLength = 256
)

// KV is one decoded form parameter.
type KV struct {
	Key, Value string
}

// Form is a request's parameters, decoded from the URL's query string and a
// form-encoded body, sorted by key for lookups. A key given twice keeps its first
// value. It is immutable once parsed.
type Form struct {
	kv []KV
}

// ParseForm decodes the parameters of rawQuery (a URL's query string, without '?')
// and body (an application/x-www-form-urlencoded body, or nil), in that order. '+' is
// a space and %XX a byte, as in HTML forms; pairs are separated by '&' only.
// It fails with a MalformedQueryString *Error on a bad escape, an over-long key or
// more than MaxParams parameters.
func ParseForm(rawQuery string, body []byte) (*Form, error) {
	f := &Form{}
	if err := f.add(rawQuery); err != nil {
		return nil, err
	}
	if err := f.add(string(body)); err != nil {
		return nil, err
	}
	slices.SortStableFunc(f.kv, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	f.kv = slices.CompactFunc(f.kv, func(a, b KV) bool { return a.Key == b.Key })
	return f, nil
}

func (f *Form) add(s string) error {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if len(f.kv) >= MaxParams {
			return NewError(CodeMalformedQueryString, "The request has too many parameters.")
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := unescape(k)
		if err != nil || key == "" {
			return NewError(CodeMalformedQueryString, "The query string is malformed.")
		}
		if len(key) > MaxKeyLength {
			return NewError(CodeMalformedQueryString, "A parameter name is too long.")
		}
		val, err := unescape(v)
		if err != nil {
			return NewError(CodeMalformedQueryString, "The query string is malformed.")
		}
		f.kv = append(f.kv, KV{Key: key, Value: val})
	}
	return nil
}

// unescape decodes a form component without allocating when there is nothing to
// decode.
func unescape(s string) (string, error) {
	if !strings.ContainsAny(s, "%+") {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// Get returns the value of key.
func (f *Form) Get(key string) (string, bool) {
	if f == nil {
		return "", false
	}
	i, ok := slices.BinarySearchFunc(f.kv, key, func(e KV, k string) int { return strings.Compare(e.Key, k) })
	if !ok {
		return "", false
	}
	return f.kv[i].Value, true
}

// Len returns the number of parameters.
func (f *Form) Len() int {
	if f == nil {
		return 0
	}
	return len(f.kv)
}

// All returns the parameters, sorted by key. The slice is shared: do not modify it.
func (f *Form) All() []KV {
	if f == nil {
		return nil
	}
	return f.kv
}

// withPrefix returns the parameters whose keys start with prefix.
func (f *Form) withPrefix(prefix string) []KV {
	if f == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(f.kv, prefix, func(e KV, k string) int { return strings.Compare(e.Key, k) })
	j := i
	for j < len(f.kv) && strings.HasPrefix(f.kv[j].Key, prefix) {
		j++
	}
	return f.kv[i:j]
}
