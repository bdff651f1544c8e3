package config

import (
	"fmt"
	"strings"
)

// Vars are the values a Template's placeholders stand for: the caller's.
type Vars struct {
	User string // the caller's user name ({user})
	UID  string // the caller's uid ({uid})
	Host string // this host's name ({host})
	Role string // the broker's name of the role ({role})
}

// placeholder indexes; the zero part kind is a literal.
const (
	partLiteral = iota
	partUser
	partUID
	partHost
	partRole
)

var placeholders = map[string]int{"user": partUser, "uid": partUID, "host": partHost, "role": partRole}

type part struct {
	kind int
	text string
}

// Template is a string with placeholders {user}, {uid}, {host} and {role};
// "{{" and "}}" stand for literal braces. The zero Template renders "".
type Template struct {
	text  string
	parts []part
}

// ParseTemplate parses s. The error names the offending placeholder.
func ParseTemplate(s string) (Template, error) {
	t := Template{text: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{kind: partLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return Template{}, fmt.Errorf("unclosed placeholder at %q: write {{ for a literal brace", s[i:])
			}
			name := s[i+1 : i+end]
			kind, ok := placeholders[name]
			if !ok {
				return Template{}, fmt.Errorf("unknown placeholder {%s}: the placeholders are {user}, {uid}, {host} and {role}", name)
			}
			flush()
			t.parts = append(t.parts, part{kind: kind})
			i += end
		case c == '}':
			return Template{}, fmt.Errorf("lone } in %q: write }} for a literal brace", s)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// MustTemplate is ParseTemplate for constants; it panics on a bad template.
func MustTemplate(s string) Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template as written.
func (t Template) String() string { return t.text }

// Static reports whether the template renders the same for every caller
// ({role} and {host} do not depend on the caller).
func (t Template) Static() bool {
	for _, p := range t.parts {
		if p.kind == partUser || p.kind == partUID {
			return false
		}
	}
	return true
}

// Literal returns the template's literal text with placeholders removed.
func (t Template) Literal() string {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.text)
	}
	return b.String()
}

// Render fills the placeholders with v.
func (t Template) Render(v Vars) string {
	if len(t.parts) == 1 && t.parts[0].kind == partLiteral {
		return t.parts[0].text
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partLiteral:
			b.WriteString(p.text)
		case partUser:
			b.WriteString(v.User)
		case partUID:
			b.WriteString(v.UID)
		case partHost:
			b.WriteString(v.Host)
		case partRole:
			b.WriteString(v.Role)
		}
	}
	return b.String()
}

// isSessionNameChar reports whether c may appear in a RoleSessionName
// ([\w+=,.@-], as in STS's API reference).
func isSessionNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("_+=,.@-", c) >= 0
}

// RenderedSessionName renders the role's session name for a caller and makes it
// one STS accepts: characters outside [\w+=,.@-] become '-', it is cut to
// 64 characters and padded to 2.
func (r *Role) RenderedSessionName(v Vars) string {
	v.Role = r.Name
	s := []byte(r.SessionName.Render(v))
	for i, c := range s {
		if !isSessionNameChar(c) {
			s[i] = '-'
		}
	}
	if len(s) > 64 {
		s = s[:64]
	}
	for len(s) < 2 {
		s = append(s, '-')
	}
	return string(s)
}

// RenderedTags renders the role's session tags for a caller; nil when the
// role has none.
func (r *Role) RenderedTags(v Vars) map[string]string {
	if len(r.Tags) == 0 {
		return nil
	}
	v.Role = r.Name
	out := make(map[string]string, len(r.Tags))
	for k, t := range r.Tags {
		out[k] = t.Render(v)
	}
	return out
}

// RenderedSourceIdentity renders the role's source identity for a caller.
func (r *Role) RenderedSourceIdentity(v Vars) string {
	v.Role = r.Name
	return r.SourceIdentity.Render(v)
}

// PerCaller reports whether the role's session depends on who calls (its
// session name, tags or source identity name the caller).
func (r *Role) PerCaller() bool {
	if !r.SessionName.Static() || !r.SourceIdentity.Static() {
		return true
	}
	for _, t := range r.Tags {
		if !t.Static() {
			return true
		}
	}
	return false
}

// Binding is the part of a session's identity that depends on the caller:
// callers with the same Binding for a role share one session. It is "" for
// a role whose session is the same for everyone.
func (r *Role) Binding(v Vars) string {
	if !r.PerCaller() {
		return ""
	}
	// The caller-dependent values are exactly {user} and {uid}; two callers
	// with the same user name and uid produce the same request.
	return v.User + "\x00" + v.UID
}
