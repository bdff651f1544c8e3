package query

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credbroker/credbroker/sts/account"
)

// Validate checks the parameters of p against shape (an operation's input) as AWS
// does before an action runs: required members, string lengths and patterns, enums,
// numeric ranges and types, list lengths. It returns nil, or one ValidationError
// listing every violation in AWS's words:
//
//	1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy
//	constraint: Member must have length greater than or equal to 2
//
// Several violations are joined with "; " after "N validation errors detected: ".
// A nil shape (an action without parameters) accepts anything.
func Validate(shape *Shape, p Params) error {
	if shape == nil {
		return nil
	}
	var v account.Violations
	validateStruct(&v, shape, p, "")
	if err := v.Err(); err != nil {
		return Classify(err)
	}
	return nil
}

// ownMessages are the services' own answers to a value of these shapes that
// fails its pattern (or has an empty segment), given instead of the model's
// "N validation errors detected": IAM words an invalid path its own way.
var ownMessages = map[string]string{
	"pathType":       account.MsgInvalidPath,
	"policyPathType": account.MsgInvalidPath,
}

// FieldName is how AWS names a member in validation messages: its name with the
// first letter in lower case (RoleSessionName → roleSessionName).
func FieldName(member string) string {
	if member == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(member)
	return strings.ToLower(string(r)) + member[n:]
}

func validateStruct(v *account.Violations, s *Shape, p Params, path string) {
	for _, m := range s.Members {
		field := path + FieldName(m.Name)
		if !p.Has(m.Name) {
			if m.Required {
				v.AddNull(field)
			}
			continue
		}
		validateMember(v, m.Shape, p, m.Name, field)
	}
}

// validateMember checks member name of p (present) against shape s.
func validateMember(v *account.Violations, s *Shape, p Params, name, field string) {
	switch s.Type {
	case "structure":
		validateStruct(v, s, p.Struct(name), field+".")
	case "list":
		validateList(v, s, p, name, field)
	case "map":
		m := p.Map(name)
		validateCount(v, s, field, len(m), "")
		for _, k := range slices.Sorted(maps.Keys(m)) {
			val := m[k]
			if s.Key != nil {
				validateScalar(v, s.Key, k, field+".key")
			}
			if s.Value != nil {
				validateScalar(v, s.Value, val, field+".value")
			}
		}
	default:
		val, ok := p.Lookup(name)
		if !ok {
			// A scalar sent as a structure: Has saw name.…
			v.Add(field, "", "Member must be a "+s.Type)
			return
		}
		validateScalar(v, s, val, field)
	}
}

func validateList(v *account.Violations, s *Shape, p Params, name, field string) {
	elem := s.Member
	if elem != nil && elem.Type == "structure" {
		items := p.List(name)
		validateCount(v, s, field, len(items), "")
		for i, it := range items {
			validateStruct(v, elem, it, fmt.Sprintf("%s.%d.member.", field, i+1))
		}
		return
	}
	items := p.Strings(name)
	validateCount(v, s, field, len(items), "["+strings.Join(items, ", ")+"]")
	if elem == nil {
		return
	}
	for i, it := range items {
		validateScalar(v, elem, it, fmt.Sprintf("%s.%d.member", field, i+1))
	}
}

func validateCount(v *account.Violations, s *Shape, field string, n int, shown string) {
	add := func(c string) {
		if shown == "" {
			shown = fmt.Sprintf("[%d items]", n)
		}
		v.Add(field, shown, c)
	}
	if s.HasMax && int64(n) > s.Max {
		add(fmt.Sprintf("Member must have length less than or equal to %d", s.Max))
	}
	if s.HasMin && int64(n) < s.Min {
		add(fmt.Sprintf("Member must have length greater than or equal to %d", s.Min))
	}
}

func validateScalar(v *account.Violations, s *Shape, val, field string) {
	add := func(c string) {
		if s.Sensitive {
			v.AddHidden(field, c)
			return
		}
		v.Add(field, val, c)
	}
	switch s.Type {
	case "string":
		n := int64(utf8.RuneCountInString(val))
		if s.HasMax && n > s.Max {
			add(fmt.Sprintf("Member must have length less than or equal to %d", s.Max))
		}
		if s.HasMin && n < s.Min {
			add(fmt.Sprintf("Member must have length greater than or equal to %d", s.Min))
		}
		own, hasOwn := ownMessages[s.Name]
		inLength := !(s.HasMax && n > s.Max) && !(s.HasMin && n < s.Min)
		switch {
		case hasOwn && inLength && (s.re != nil && !s.re.MatchString(val) || strings.Contains(val, "//")):
			v.Replace(own)
		case s.re != nil && !s.re.MatchString(val):
			add("Member must satisfy regular expression pattern: " + s.Pattern)
		}
		if len(s.Enum) > 0 && !contains(s.Enum, val) {
			add("Member must satisfy enum value set: [" + strings.Join(s.Enum, ", ") + "]")
		}
	case "integer", "long":
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			add("Member must be a number")
			return
		}
		if s.HasMax && n > s.Max {
			add(fmt.Sprintf("Member must have value less than or equal to %d", s.Max))
		}
		if s.HasMin && n < s.Min {
			add(fmt.Sprintf("Member must have value greater than or equal to %d", s.Min))
		}
	case "double", "float":
		if _, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
			add("Member must be a number")
		}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(val)) {
		case "true", "false":
		default:
			add("Member must be a boolean")
		}
	case "timestamp":
		if _, err := parseTime(val); err != nil {
			add("Member must be a timestamp")
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
