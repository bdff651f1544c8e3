package policy

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type opBase uint8

const (
	opStringEquals opBase = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumeric // with a relation
	opDate    // with a relation
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike // ArnEquals and ArnLike match alike
	opNull
)

type setQual uint8

const (
	setNone setQual = iota
	setForAll
	setForAny
)

// relation is what a Numeric… or Date… operator requires of the request's value
// against the policy's.
type relation uint8

const (
	relEquals relation = iota
	relLessThan
	relLessThanEquals
	relGreaterThan
	relGreaterThanEquals
)

// operator is a parsed condition operator.
type operator struct {
	base     opBase
	rel      relation // opNumeric, opDate
	negated  bool
	ifExists bool
	set      setQual
}

// operators are the condition operators by name, without ForAllValues:/ForAnyValue:
// and IfExists.
var operators = func() map[string]operator {
	ops := map[string]operator{}
	// Each operator with its negated form ("" for none).
	for _, o := range []struct {
		name, not string
		base      opBase
	}{
		{"StringEquals", "StringNotEquals", opStringEquals},
		{"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", opStringEqualsIgnoreCase},
		{"StringLike", "StringNotLike", opStringLike},
		{"Bool", "", opBool}, {"BinaryEquals", "", opBinaryEquals}, {"Null", "", opNull},
		{"IpAddress", "NotIpAddress", opIPAddress},
		{"ArnEquals", "ArnNotEquals", opArnLike}, // ArnEquals and ArnLike match alike
		{"ArnLike", "ArnNotLike", opArnLike},
	} {
		ops[o.name] = operator{base: o.base}
		if o.not != "" {
			ops[o.not] = operator{base: o.base, negated: true}
		}
	}
	// The ordered families: NumericEquals … NumericGreaterThanEquals, and Date… alike.
	for _, family := range []struct {
		name string
		base opBase
	}{{"Numeric", opNumeric}, {"Date", opDate}} {
		for _, r := range []struct {
			name    string
			rel     relation
			negated bool
		}{
			{"Equals", relEquals, false}, {"NotEquals", relEquals, true},
			{"LessThan", relLessThan, false}, {"LessThanEquals", relLessThanEquals, false},
			{"GreaterThan", relGreaterThan, false}, {"GreaterThanEquals", relGreaterThanEquals, false},
		} {
			ops[family.name+r.name] = operator{base: family.base, rel: r.rel, negated: r.negated}
		}
	}
	return ops
}()

// parseOperator reads an operator name with its optional ForAllValues: or
// ForAnyValue: prefix and IfExists suffix (names are case-sensitive).
func parseOperator(name string) (operator, bool) {
	set := setNone
	if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
		set, name = setForAll, rest
	} else if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
		set, name = setForAny, rest
	}
	op, ok := operators[name]
	if !ok {
		base, cut := strings.CutSuffix(name, "IfExists")
		if op, ok = operators[base]; !ok || !cut {
			return operator{}, false
		}
		op.ifExists = true
	}
	if op.base == opNull && (op.ifExists || set != setNone) {
		return operator{}, false
	}
	op.set = set
	return op, true
}

// cvalue is one compiled policy value of a condition.
type cvalue struct {
	text   string
	pat    pattern   // StringLike, Arn*
	tmpl   *template // the value holds policy variables
	ok     bool      // the typed form below parsed
	b      bool
	num    float64
	t      time.Time
	prefix netip.Prefix
	bin    []byte
}

type ccondition struct {
	op   operator
	key  keyRef
	vals []cvalue
}

func compileCondition(c *Condition, vars bool) ccondition {
	op, _ := parseOperator(c.Operator)
	cc := ccondition{op: op, key: newKeyRef(c.Key), vals: make([]cvalue, len(c.Values))}
	mode := modeLike
	if op.base == opArnLike {
		mode = modeARN
	}
	for i, s := range c.Values {
		v := &cvalue{text: s}
		if vars {
			v.tmpl = parseTemplate(s, mode)
		}
		if v.tmpl == nil {
			v.compile(op.base, s, mode)
		}
		cc.vals[i] = *v
	}
	return cc
}

// compile parses the value s for the operator's type.
func (v *cvalue) compile(base opBase, s string, mode patMode) {
	switch base {
	case opStringLike, opArnLike:
		v.pat = compilePattern(s, mode)
	case opNumeric:
		v.num, v.ok = parseNumber(s)
	case opDate:
		v.t, v.ok = parseDate(s)
	case opBool, opNull:
		v.b, v.ok = parseBool(s)
	case opIPAddress:
		v.prefix, v.ok = parsePrefix(s)
	case opBinaryEquals:
		b, err := base64.StdEncoding.DecodeString(s)
		v.bin, v.ok = b, err == nil
	}
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix reads a CIDR block, or a single address as its /32 or /128.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	p := netip.PrefixFrom(a, a.BitLen())
	return p, p.IsValid()
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
	"20060102T150405Z",
}

// parseDate reads the date forms AWS accepts: ISO 8601 (with or without time
// and zone; no zone is UTC) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	if s[0] < '0' || s[0] > '9' {
		return time.Time{}, false
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// condition evaluates one condition against the request.
func (ec *evalCtx) condition(c *ccondition) bool {
	v := ec.r.lookup(&c.key)
	n := v.len()
	if c.op.base == opNull {
		for i := range c.vals {
			if c.vals[i].ok && c.vals[i].b == (n == 0) {
				return true
			}
		}
		return false
	}
	if n == 0 {
		if c.op.ifExists {
			return true
		}
		switch c.op.set {
		case setForAll:
			return true
		case setForAny:
			return false
		}
		return c.op.negated
	}
	switch c.op.set {
	case setForAll:
		for i := 0; i < n; i++ {
			if ec.anyValue(c, &v, i) == c.op.negated {
				return false
			}
		}
		return true
	case setForAny:
		for i := 0; i < n; i++ {
			if ec.anyValue(c, &v, i) != c.op.negated {
				return true
			}
		}
		return false
	}
	for i := 0; i < n; i++ {
		if ec.anyValue(c, &v, i) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// anyValue reports whether the request's i-th value matches any of the
// condition's values under the operator's positive form.
func (ec *evalCtx) anyValue(c *ccondition, v *values, i int) bool {
	switch c.op.base {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike, opArnLike:
		s := ec.valueText(v, i)
		for k := range c.vals {
			if ec.matchString(c.op.base, &c.vals[k], s) {
				return true
			}
		}
		return false
	}
	var r request
	if !ec.requestValue(c.op.base, v, i, &r) {
		return false
	}
	for k := range c.vals {
		if p := ec.typed(c, k); p.ok && r.matches(c.op, p) {
			return true
		}
	}
	return false
}

// request is the request's value parsed as the type of a numeric, date, Bool,
// IpAddress or BinaryEquals operator.
type request struct {
	num float64
	t   time.Time
	b   bool
	ip  netip.Addr
	bin []byte
}

// requestValue parses the request's i-th value for the operator base into r, and
// reports whether it parsed.
func (ec *evalCtx) requestValue(base opBase, v *values, i int, r *request) (ok bool) {
	switch base {
	case opNumeric:
		r.num, ok = ec.valueNumber(v, i)
	case opDate:
		r.t, ok = ec.valueDate(v, i)
	case opBool:
		r.b, ok = ec.valueBool(v, i)
	case opIPAddress:
		r.ip, ok = ec.valueIP(v, i)
	case opBinaryEquals:
		b, err := base64.StdEncoding.DecodeString(ec.valueText(v, i))
		r.bin, ok = b, err == nil
	}
	return ok
}

// matches reports whether the operator op (positive form) holds between the request's
// value r and the policy's value p.
func (r *request) matches(op operator, p *cvalue) bool {
	switch op.base {
	case opNumeric:
		// NaN is neither less than, equal to nor greater than anything.
		return !math.IsNaN(r.num) && !math.IsNaN(p.num) && op.rel.holds(cmp.Compare(r.num, p.num))
	case opDate:
		return op.rel.holds(r.t.Compare(p.t))
	case opBool:
		return p.b == r.b
	case opIPAddress:
		return p.prefix.Contains(r.ip)
	case opBinaryEquals:
		return bytes.Equal(p.bin, r.bin)
	}
	return false
}

// holds reports whether rel holds for c, the result of comparing the request's value
// with the policy's (-1, 0, +1).
func (rel relation) holds(c int) bool {
	switch rel {
	case relEquals:
		return c == 0
	case relLessThan:
		return c < 0
	case relLessThanEquals:
		return c <= 0
	case relGreaterThan:
		return c > 0
	}
	return c >= 0
}

// typed returns the condition's k-th value with its typed form; a value with
// variables is expanded and parsed now (the uncommon, allocating path).
func (ec *evalCtx) typed(c *ccondition, k int) *cvalue {
	v := &c.vals[k]
	if v.tmpl == nil {
		return v
	}
	ec.tmp = cvalue{}
	if buf, ok := ec.r.expandText(v.tmpl, ec.tbuf[:0]); ok {
		ec.tmp.compile(c.op.base, string(buf), modeLike)
	}
	return &ec.tmp
}

// matchString compares the request's text s with one policy value.
func (ec *evalCtx) matchString(base opBase, p *cvalue, s string) bool {
	if p.tmpl != nil {
		if base == opStringLike || base == opArnLike {
			if p.tmpl.plain != pNone {
				return ec.r.matchText(p.tmpl, s, ec.tbuf[:0])
			}
			mode := modeLike
			if base == opArnLike {
				mode = modeARN
			}
			toks, _, ok := ec.r.expandTokens(p.tmpl, mode, ec.toks[:0], ec.tbuf[:0])
			return ok && matchTokens(toks, s, p.tmpl.seg)
		}
		buf, ok := ec.r.expandText(p.tmpl, ec.tbuf[:0])
		if !ok {
			return false
		}
		if base == opStringEqualsIgnoreCase {
			return strings.EqualFold(bytesView(buf), s)
		}
		return bytesView(buf) == s
	}
	switch base {
	case opStringEquals:
		return p.text == s
	case opStringEqualsIgnoreCase:
		return strings.EqualFold(p.text, s)
	default:
		return matchPattern(&p.pat, s)
	}
}

// rawString returns the i-th value of a textual kind.
func (v *values) rawString(i int) string {
	switch v.kind {
	case vString:
		return v.s
	case vStrings:
		return v.ss[i]
	case vTagKeys:
		return v.tags[i].Key
	}
	return ""
}

// valueText returns the i-th value as text. Typed values are formatted into
// a scratch buffer that stays valid until the next call.
func (ec *evalCtx) valueText(v *values, i int) string {
	switch v.kind {
	case vString, vStrings, vTagKeys:
		return v.rawString(i)
	case vBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return bytesView(v.appendText(ec.vbuf[:0], i))
}

func (ec *evalCtx) valueNumber(v *values, i int) (float64, bool) {
	switch v.kind {
	case vInt:
		return float64(v.n), true
	case vString, vStrings, vTagKeys:
		return parseNumber(v.rawString(i))
	}
	return 0, false
}

func (ec *evalCtx) valueDate(v *values, i int) (time.Time, bool) {
	switch v.kind {
	case vTime:
		return v.t, true
	case vInt:
		return time.Unix(v.n, 0), true
	case vString, vStrings, vTagKeys:
		return parseDate(v.rawString(i))
	}
	return time.Time{}, false
}

func (ec *evalCtx) valueBool(v *values, i int) (bool, bool) {
	switch v.kind {
	case vBool:
		return v.b, true
	case vString, vStrings, vTagKeys:
		return parseBool(v.rawString(i))
	}
	return false, false
}

func (ec *evalCtx) valueIP(v *values, i int) (netip.Addr, bool) {
	switch v.kind {
	case vIP:
		return v.ip.Unmap(), true
	case vString, vStrings, vTagKeys:
		a, err := netip.ParseAddr(v.rawString(i))
		if err != nil {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}
