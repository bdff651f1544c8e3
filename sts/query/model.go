package query

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Model is what package query knows of one Query API version: its operations' input
// shapes with AWS's constraints, and its error codes with their HTTP statuses. It is
// loaded from a trimmed botocore service model (see internal/modelgen) and immutable.
type Model struct {
	// Service is the SigV4 signing name (endpoint prefix): "sts", "iam".
	Service string
	// Version is the API version a request's Version parameter must name.
	Version string
	// Namespace is the XML namespace of responses.
	Namespace string

	ops    map[string]*Operation
	errors map[string]ErrorInfo
}

// Operation is one action of a Model.
type Operation struct {
	Name string
	// Input is the request's structure; nil for an action without parameters.
	Input *Shape
}

// ErrorInfo is how an API answers one of its error codes.
type ErrorInfo struct {
	Status int
	Sender bool
}

// Shape is a botocore shape: a type with its constraints.
type Shape struct {
	Name string
	// Type is structure, list, map, string, integer, long, boolean, timestamp, double,
	// float or blob.
	Type    string
	Members []Member // structure
	Member  *Shape   // list element
	Key     *Shape   // map
	Value   *Shape   // map
	// Min and Max bound a string's length (in characters), a number's value or a
	// list's length, when HasMin and HasMax say so.
	Min, Max       int64
	HasMin, HasMax bool
	// Pattern is AWS's regular expression as the model writes it (Java syntax), used
	// in messages; it is enforced when it translates to Go's syntax.
	Pattern string
	re      *regexp.Regexp
	Enum    []string
	// Sensitive values are never echoed in messages.
	Sensitive bool
}

// Member is one member of a structure.
type Member struct {
	Name     string
	Shape    *Shape
	Required bool
}

// LoadModel reads a model written by internal/modelgen (gzipped JSON).
func LoadModel(gz []byte) (*Model, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("query model: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("query model: %w", err)
	}
	var doc struct {
		Version    string            `json:"version"`
		Namespace  string            `json:"namespace"`
		Service    string            `json:"service"`
		Operations map[string]string `json:"operations"`
		Shapes     map[string]struct {
			Type    string `json:"type"`
			Members []struct {
				Name  string `json:"name"`
				Shape string `json:"shape"`
			} `json:"members"`
			Required  []string                `json:"required"`
			Member    *struct{ Shape string } `json:"member"`
			Key       *struct{ Shape string } `json:"key"`
			Value     *struct{ Shape string } `json:"value"`
			Min       *json.Number            `json:"min"`
			Max       *json.Number            `json:"max"`
			Pattern   string                  `json:"pattern"`
			Enum      []string                `json:"enum"`
			Sensitive bool                    `json:"sensitive"`
		} `json:"shapes"`
		Errors map[string]ErrorInfo `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("query model: %w", err)
	}
	if doc.Version == "" || doc.Service == "" {
		return nil, fmt.Errorf("query model: no version or service")
	}
	shapes := make(map[string]*Shape, len(doc.Shapes))
	for name, s := range doc.Shapes {
		shapes[name] = &Shape{Name: name, Type: s.Type, Pattern: s.Pattern, Enum: s.Enum, Sensitive: s.Sensitive}
	}
	ref := func(owner, name string) (*Shape, error) {
		s, ok := shapes[name]
		if !ok {
			return nil, fmt.Errorf("query model: shape %s refers to unknown shape %s", owner, name)
		}
		return s, nil
	}
	for name, s := range doc.Shapes {
		sh := shapes[name]
		for _, m := range s.Members {
			ms, err := ref(name, m.Shape)
			if err != nil {
				return nil, err
			}
			sh.Members = append(sh.Members, Member{Name: m.Name, Shape: ms, Required: slices.Contains(s.Required, m.Name)})
		}
		for _, r := range []struct {
			dst **Shape
			src *struct{ Shape string }
		}{{&sh.Member, s.Member}, {&sh.Key, s.Key}, {&sh.Value, s.Value}} {
			if r.src != nil {
				if *r.dst, err = ref(name, r.src.Shape); err != nil {
					return nil, err
				}
			}
		}
		if s.Min != nil {
			if sh.Min, err = numberBound(*s.Min); err != nil {
				return nil, fmt.Errorf("query model: shape %s: min: %w", name, err)
			}
			sh.HasMin = true
		}
		if s.Max != nil {
			if sh.Max, err = numberBound(*s.Max); err != nil {
				return nil, fmt.Errorf("query model: shape %s: max: %w", name, err)
			}
			sh.HasMax = true
		}
		if s.Pattern != "" {
			// A pattern Go cannot express (a lookahead) is left to the handler.
			sh.re, _ = regexp.Compile("^(?:" + javaToRE2(s.Pattern) + ")$")
		}
	}
	m := &Model{Service: doc.Service, Version: doc.Version, Namespace: doc.Namespace,
		ops: make(map[string]*Operation, len(doc.Operations)), errors: doc.Errors}
	for name, in := range doc.Operations {
		op := &Operation{Name: name}
		if in != "" {
			if op.Input, err = ref(name, in); err != nil {
				return nil, err
			}
		}
		m.ops[name] = op
	}
	return m, nil
}

func numberBound(n json.Number) (int64, error) {
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	return int64(f), err
}

// Operation returns the action name, if the model has it.
func (m *Model) Operation(name string) (*Operation, bool) {
	op, ok := m.ops[name]
	return op, ok
}

// Operations returns the names of the model's actions, sorted.
func (m *Model) Operations() []string {
	out := make([]string, 0, len(m.ops))
	for n := range m.ops {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Error returns how the API answers code, if the model declares it.
func (m *Model) Error(code string) (ErrorInfo, bool) {
	e, ok := m.errors[code]
	return e, ok
}

// Enforced reports whether s's pattern is checked (it translates to Go's syntax).
func (s *Shape) Enforced() bool { return s.re != nil }

// javaToRE2 rewrites the Java regular expression syntax of AWS's models into Go's:
// \uXXXX escapes become \x{XXXX}. AWS writes supplementary code points with five or
// six digits (\u10000-\u10FFFF), which Java itself would read differently; they are
// read as AWS means them.
func javaToRE2(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			if p[i+1] == 'u' {
				j := i + 2
				for j < len(p) && j < i+8 && isHex(p[j]) {
					j++
				}
				digits := p[i+2 : j]
				for len(digits) > 4 {
					if v, err := strconv.ParseUint(digits, 16, 32); err == nil && v <= 0x10FFFF {
						break
					}
					digits = digits[:len(digits)-1]
				}
				if len(digits) >= 4 {
					b.WriteString(`\x{` + digits + `}`)
					i += 1 + len(digits)
					continue
				}
			}
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
