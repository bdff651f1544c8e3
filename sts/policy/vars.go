package policy

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unsafe"
)

// Policy variables (Version 2012-10-17 only): ${key} is replaced by the
// request's value of the condition key, ${key, 'default'} falls back to the
// default when the key is absent, and ${*}, ${?}, ${$} stand for the literal
// characters. A variable whose key is absent (and has no default) or has
// several values cannot be resolved, and the statement that holds it does
// not match.

type varRef struct {
	key    keyRef
	def    string
	hasDef bool
}

// tpart is literal text or a variable.
type tpart struct {
	lit  string   // literal text
	toks []uint16 // the literal as pattern tokens
	v    int      // index into template.vars; -1 for literal text
}

type template struct {
	parts []tpart
	vars  []varRef
	seg   bool // some literal wildcard may not cross a colon (pNFA)
	// plain is pExact when the pattern has no wildcard, pPrefix when its
	// only wildcard is a final unrestricted '*': it then matches by comparing
	// the expanded text, without tokens. pNone otherwise.
	plain pkind
	stars int // pPrefix: the '*' characters that end the last literal part
}

// parseTemplate splits s into literal text and variables. It returns nil when
// s holds no variable, so callers compile it as plain text.
func parseTemplate(s string, mode patMode) *template {
	t := &template{}
	found := false
	start := 0
	flush := func(end int, next int) {
		if end > start {
			seg := s[start:end]
			toks := tokenize(nil, seg, mode, next)
			t.parts = append(t.parts, tpart{lit: seg, toks: toks, v: -1})
		}
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' || s[i+1] != '{' {
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		j += i
		content := s[i+2 : j]
		var part tpart
		switch content {
		case "*", "?", "$":
			part = tpart{lit: content, toks: appendLiteral(nil, content, mode), v: -1}
		default:
			ref, ok := parseVariable(content)
			if !ok {
				continue
			}
			part = tpart{v: len(t.vars)}
			t.vars = append(t.vars, ref)
		}
		flush(i, '$')
		t.parts = append(t.parts, part)
		found = true
		i = j
		start = j + 1
	}
	if !found {
		return nil
	}
	flush(len(s), -1)
	wild := 0
	for _, p := range t.parts {
		for _, tok := range p.toks {
			if tok == tokStarSeg || tok == tokQuestSeg {
				t.seg = true
			}
			if tok >= 256 {
				wild++
			}
		}
	}
	last := t.parts[len(t.parts)-1]
	switch {
	case wild == 0:
		t.plain = pExact
	case wild == 1 && last.v < 0 && last.toks[len(last.toks)-1] == tokStar:
		t.plain = pPrefix
		t.stars = len(last.lit) - len(strings.TrimRight(last.lit, "*"))
	}
	return t
}

// matchText matches s against a template without wildcards, or with only a
// final '*' (t.plain), by comparing expanded text. buf is scratch.
func (r *Request) matchText(t *template, s string, buf []byte) bool {
	text, ok := r.expandText(t, buf)
	if !ok {
		return false
	}
	if t.plain == pPrefix {
		text = text[:len(text)-t.stars] // the final '*'
		return len(s) >= len(text) && s[:len(text)] == bytesView(text)
	}
	return s == bytesView(text)
}

// parseVariable reads `key` or `key, 'default'`.
func parseVariable(content string) (varRef, bool) {
	key, def, hasDef := strings.Cut(content, ",")
	key = strings.TrimSpace(key)
	if vendor, name, ok := strings.Cut(key, ":"); !ok || vendor == "" || name == "" ||
		strings.ContainsAny(key, "'$") || strings.ContainsFunc(key, unicode.IsSpace) {
		return varRef{}, false
	}
	r := varRef{key: newKeyRef(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return varRef{}, false
		}
		r.def, r.hasDef = def[1:len(def)-1], true
	}
	return r, true
}

// resolvable reports whether the request gives v a single value (or v has a
// default and the key is absent).
func (r *Request) resolvable(v *varRef) bool {
	vals := r.lookup(&v.key)
	n := vals.len()
	return n == 1 || n == 0 && v.hasDef
}

// appendVar appends the value of v, or reports that it has none.
func (r *Request) appendVar(dst []byte, v *varRef) ([]byte, bool) {
	vals := r.lookup(&v.key)
	switch vals.len() {
	case 0:
		if v.hasDef {
			return append(dst, v.def...), true
		}
		return dst, false
	case 1:
		return vals.appendText(dst, 0), true
	}
	return dst, false
}

// appendText appends the text of the i-th value.
func (v *values) appendText(dst []byte, i int) []byte {
	switch v.kind {
	case vString:
		return append(dst, v.s...)
	case vStrings:
		return append(dst, v.ss[i]...)
	case vTagKeys:
		return append(dst, v.tags[i].Key...)
	case vTime:
		return v.t.UTC().AppendFormat(dst, time.RFC3339Nano)
	case vInt:
		return strconv.AppendInt(dst, v.n, 10)
	case vBool:
		return strconv.AppendBool(dst, v.b)
	case vIP:
		return v.ip.AppendTo(dst)
	}
	return dst
}

// expandText writes the template's text into buf and returns it.
func (r *Request) expandText(t *template, buf []byte) ([]byte, bool) {
	buf = buf[:0]
	for i := range t.parts {
		p := &t.parts[i]
		if p.v < 0 {
			buf = append(buf, p.lit...)
			continue
		}
		var ok bool
		if buf, ok = r.appendVar(buf, &t.vars[p.v]); !ok {
			return buf, false
		}
	}
	return buf, true
}

// expandTokens writes the template's pattern tokens into toks: literal parts
// keep their wildcards, variable values are literal. tmp is scratch for a
// value's text.
func (r *Request) expandTokens(t *template, mode patMode, toks []uint16, tmp []byte) ([]uint16, []byte, bool) {
	toks = toks[:0]
	for i := range t.parts {
		p := &t.parts[i]
		if p.v < 0 {
			toks = append(toks, p.toks...)
			continue
		}
		var ok bool
		tmp, ok = r.appendVar(tmp[:0], &t.vars[p.v])
		if !ok {
			return toks, tmp, false
		}
		toks = appendLiteral(toks, bytesView(tmp), mode)
	}
	return toks, tmp, true
}

// bytesView returns b's bytes as a string without copying. The string must
// not outlive the next write to b: the engine only uses it to compare within
// one evaluation step, which is what keeps evaluation free of allocations.
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
