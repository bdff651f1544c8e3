package query

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Params reads a request's parameters, or the members of one structure inside them,
// by member name, as the Query protocol serializes them:
//
//	RoleArn=…                         String("RoleArn")
//	TransitiveTagKeys.member.1=…      Strings("TransitiveTagKeys")
//	Tags.member.1.Key=…               List("Tags")[0].String("Key")
//	PolicyArns.member.1.arn=…         List("PolicyArns")[0].String("arn")
//	Attributes.entry.1.key=…          Map("Attributes")
//
// Values are as sent; Validate checks them against the operation's model first, so a
// handler reads only what the model allows. The zero Params has no parameters.
type Params struct {
	f      *Form
	prefix string
}

// NewParams returns the top-level parameters of f.
func NewParams(f *Form) Params { return Params{f: f} }

func (p Params) key(name string) string {
	if p.prefix == "" {
		return name
	}
	return p.prefix + name
}

// Lookup returns the value of the scalar member name and whether it was sent.
func (p Params) Lookup(name string) (string, bool) { return p.f.Get(p.key(name)) }

// String returns the value of the scalar member name, "" when absent.
func (p Params) String(name string) string {
	v, _ := p.f.Get(p.key(name))
	return v
}

// Has reports whether the member name was sent: as a scalar, or as a structure, list
// or map with at least one parameter (an empty list is sent as "Name=").
func (p Params) Has(name string) bool {
	k := p.key(name)
	if _, ok := p.f.Get(k); ok {
		return true
	}
	return len(p.f.withPrefix(k+".")) > 0
}

// Int returns the integer member name; ok is false when it is absent or not an
// integer.
func (p Params) Int(name string) (n int64, ok bool) {
	v, ok := p.Lookup(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// Bool returns the boolean member name ("true" or "false", any case); ok is false
// when it is absent or not a boolean.
func (p Params) Bool(name string) (b, ok bool) {
	v, ok := p.Lookup(name)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Time returns the timestamp member name (ISO 8601, as the SDKs send it, or epoch
// seconds); ok is false when it is absent or not a time.
func (p Params) Time(name string) (time.Time, bool) {
	v, ok := p.Lookup(name)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseTime(v)
	return t, err == nil
}

func parseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return time.Time{}, err
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// Struct returns the members of the structure member name.
func (p Params) Struct(name string) Params {
	return Params{f: p.f, prefix: p.key(name) + "."}
}

// listMember is the element name of non-flattened lists.
const listMember = "member"

// indexes returns the sorted, distinct element numbers N of the keys prefix+N and
// prefix+N.…
func (p Params) indexes(prefix string) []int {
	var out []int
	for _, kv := range p.f.withPrefix(prefix) {
		rest := kv.Key[len(prefix):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Strings returns the list of scalars name (name.member.N), in the order of N.
func (p Params) Strings(name string) []string {
	prefix := p.key(name) + "." + listMember + "."
	idx := p.indexes(prefix)
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, 0, len(idx))
	for _, n := range idx {
		if v, ok := p.f.Get(prefix + strconv.Itoa(n)); ok {
			out = append(out, v)
		}
	}
	return out
}

// List returns the list of structures name (name.member.N.Field), in the order of N.
func (p Params) List(name string) []Params {
	prefix := p.key(name) + "." + listMember + "."
	idx := p.indexes(prefix)
	if len(idx) == 0 {
		return nil
	}
	out := make([]Params, len(idx))
	for i, n := range idx {
		out[i] = Params{f: p.f, prefix: prefix + strconv.Itoa(n) + "."}
	}
	return out
}

// Map returns the map member name (name.entry.N.key and name.entry.N.value).
func (p Params) Map(name string) map[string]string {
	prefix := p.key(name) + ".entry."
	idx := p.indexes(prefix)
	if len(idx) == 0 {
		return nil
	}
	out := make(map[string]string, len(idx))
	for _, n := range idx {
		e := prefix + strconv.Itoa(n) + "."
		if k, ok := p.f.Get(e + "key"); ok {
			out[k], _ = p.f.Get(e + "value")
		}
	}
	return out
}
