package policy

import (
	"encoding/base64"
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
	_, ok = contextValueChecks[base]
	return ContextKeyType{Base: base, List: list}, ok
}

// Check reports whether v is a valid value of t's base type, with a reason that
// names the expected form.
func (t ContextKeyType) Check(v string) error {
	check, ok := contextValueChecks[t.Base]
	if !ok {
		return errors.New("unknown context key type " + strconv.Quote(t.Base))
	}
	return check(v)
}

// contextValueChecks accept exactly what the engine's operators read (parseNumber,
// parseBool, parsePrefix, parseDate), so that a simulation never takes a value that
// its conditions would then treat as absent.
var contextValueChecks = map[string]func(string) error{
	"string": func(string) error { return nil },
	"numeric": func(v string) error {
		if _, ok := parseNumber(v); !ok {
			return errors.New("want a number")
		}
		return nil
	},
	"boolean": func(v string) error {
		if _, ok := parseBool(v); !ok {
			return errors.New("want true or false")
		}
		return nil
	},
	"ip": func(v string) error {
		if _, ok := parsePrefix(v); !ok {
			return errors.New("want an IPv4 or IPv6 address or CIDR block")
		}
		return nil
	},
	"binary": func(v string) error {
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			return errors.New("want base64")
		}
		return nil
	},
	"date": func(v string) error {
		if _, ok := parseDate(v); !ok {
			return errors.New("want ISO 8601 (2025-01-31T12:00:00Z, 2025-01-31) or epoch seconds")
		}
		return nil
	},
}
