package policy

import (
	"errors"
	"strconv"
	"strings"
)

// ContextKeyType is the type of a context entry as IAM's policy simulator and the AWS
// CLI name it (ContextKeyType): a base type and whether the entry is a list
// ("stringList", "ipList", …) that may carry several values.
type ContextKeyType struct {
	// Base is one of string, numeric, boolean, ip, binary, date.
	Base string
	// List reports a List type.
	List bool
}

// ParseContextKeyType reads a ContextKeyType such as "string", "numericList" or
// "ip"; ok is false for an unknown one.
func ParseContextKeyType(s string) (t ContextKeyType, ok bool) {
	base, list := strings.CutSuffix(s, "List")
	_, ok = contextValueTypes[base]
	return ContextKeyType{Base: base, List: list}, ok
}

// Check reports whether v is a valid value of t's base type, with a reason that
// names the expected form.
func (t ContextKeyType) Check(v string) error {
	vt, ok := contextValueTypes[t.Base]
	if !ok {
		return errors.New("unknown context key type " + strconv.Quote(t.Base))
	}
	if vt.op == 0 {
		return nil // any string
	}
	var cv cvalue
	if cv.compile(vt.op, v, modeLike); !cv.ok {
		return errors.New(vt.want)
	}
	return nil
}

// contextValueTypes are, for each base type, the operator whose reading of a value
// (cvalue.compile) the value must pass, so that a simulation never takes a value that
// its conditions would then treat as absent; and what to say when it does not.
var contextValueTypes = map[string]struct {
	op   opBase // 0: any string
	want string
}{
	"string":  {},
	"numeric": {opNumeric, "want a number"},
	"boolean": {opBool, "want true or false"},
	"ip":      {opIPAddress, "want an IPv4 or IPv6 address or CIDR block"},
	"binary":  {opBinaryEquals, "want base64"},
	"date":    {opDate, "want ISO 8601 (2025-01-31T12:00:00Z, 2025-01-31) or epoch seconds"},
}
