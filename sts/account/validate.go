package account

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Rule is one of IAM's string constraints (length and pattern), as its API model states
// them. Check reports a violation with IAM's ValidationError message.
type Rule uint8

// Rules for the strings IAM constrains.
const (
	RuleUserName            Rule = iota + 1 // 1–64 [\w+=,.@-]+
	RuleGroupName                           // 1–128 [\w+=,.@-]+
	RuleRoleName                            // 1–64 [\w+=,.@-]+
	RulePolicyName                          // 1–128 [\w+=,.@-]+
	RuleInstanceProfileName                 // 1–128 [\w+=,.@-]+
	RuleMFADeviceName                       // 1–226 [\w+=,.@-]+
	RuleRoleSessionName                     // 2–64 [\w+=,.@-]* (STS)
	RulePath                                // 1–512: "/" or /[\x21-\x7E]+/
	RulePolicyPath                          // 1–512: ((/[A-Za-z0-9.,+@=_-]+)*)/
	RuleRoleDescription                     // 0–1000 printable Latin-1
	RulePolicyDescription                   // 0–1000
	RulePolicyDocument                      // 1–131072 of \t \n \r and U+0020–U+00FF
	RuleTagKey                              // 1–128 [\p{L}\p{Z}\p{N}_.:/=+\-@]+
	RuleTagValue                            // 0–256 [\p{L}\p{Z}\p{N}_.:/=+\-@]*
	RuleSerialNumber                        // 9–256 [\w+=/:,.@-]+
	RulePolicyVersionID                     // v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
	RuleAccountAlias                        // 3–63 lower-case letters, digits, single hyphens inside
	RulePassword                            // 1–128 of \t \n \r and U+0020–U+00FF; never echoed
	RuleThumbprint                          // 40 characters
	RuleClientID                            // 1–255 characters
	RuleOIDCURL                             // 1–255 characters
	RuleAccessKeyID                         // 16–128 [\w]+
	ruleCount
)

type ruleSpec struct {
	min, max  int
	pattern   string // as AWS's model writes it, for the message
	re        *regexp.Regexp
	sensitive bool
}

func spec(min, max int, pattern, goRE string) ruleSpec {
	s := ruleSpec{min: min, max: max, pattern: pattern}
	if goRE != "" {
		s.re = regexp.MustCompile("^(?:" + goRE + ")$")
	}
	return s
}

const (
	namePattern = `[\w+=,.@-]+`
	tagPattern  = `[\p{L}\p{Z}\p{N}_.:/=+\-@]`
)

// rules is filled once at package initialisation and only read afterwards.
var rules = [ruleCount]ruleSpec{
	RuleUserName:            spec(1, 64, namePattern, namePattern),
	RuleGroupName:           spec(1, 128, namePattern, namePattern),
	RuleRoleName:            spec(1, 64, namePattern, namePattern),
	RulePolicyName:          spec(1, 128, namePattern, namePattern),
	RuleInstanceProfileName: spec(1, 128, namePattern, namePattern),
	RuleMFADeviceName:       spec(1, 226, namePattern, namePattern),
	RuleRoleSessionName:     spec(2, 64, `[\w+=,.@-]*`, `[\w+=,.@-]*`),
	RulePath:                spec(1, 512, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, `/|/[\x21-\x7E]+/`),
	RulePolicyPath:          spec(1, 512, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`, `(/[A-Za-z0-9.,+@=_-]+)*/`),
	RuleRoleDescription:     spec(0, 1000, `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`, `[\t\n\r\x20-\x7E\x{A1}-\x{FF}]*`),
	RulePolicyDescription:   spec(0, 1000, "", ""),
	RulePolicyDocument:      spec(1, 131072, `[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\t\n\r\x20-\x{FF}]+`),
	RuleTagKey:              spec(1, 128, tagPattern+"+", tagPattern+"+"),
	RuleTagValue:            spec(0, 256, tagPattern+"*", tagPattern+"*"),
	RuleSerialNumber:        spec(9, 256, `[\w+=/:,.@-]+`, `[\w+=/:,.@-]+`),
	RulePolicyVersionID:     spec(0, 0, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`),
	RuleAccountAlias:        spec(3, 63, `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`, ""),
	RulePassword:            {min: 1, max: 128, pattern: `[\u0009\u000A\u000D\u0020-\u00FF]+`, re: regexp.MustCompile(`^[\t\n\r\x20-\x{FF}]+$`), sensitive: true},
	RuleThumbprint:          spec(40, 40, "", ""),
	RuleClientID:            spec(1, 255, "", ""),
	RuleOIDCURL:             spec(1, 255, "", ""),
	RuleAccessKeyID:         spec(16, 128, `[\w]+`, `\w+`),
}

// Check reports whether value satisfies the rule; field is the API parameter name used in
// the message (e.g. "userName", "newPath").
func (r Rule) Check(field, value string) error {
	var v Violations
	v.Check(r, field, value)
	return v.Err()
}

// Violations collects constraint violations and renders them as one ValidationError, as
// IAM and STS do ("2 validation errors detected: Value 'x' at 'userName' failed to
// satisfy constraint: …; …"): the store's and the entities' checks, the Query API's
// validation of a request against its model (sts/query), and the checks a handler
// makes itself. The zero value is ready to use.
type Violations struct {
	list []string
	// own is a service's own message that replaces the list (see Replace).
	own string
}

// MsgInvalidPath is IAM's answer to a path that does not begin and end with / or has
// an empty or odd segment, given instead of the model's pattern.
const MsgInvalidPath = "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."

// MaxEchoedValue is the longest value (in bytes) a violation repeats; a longer value is
// cut, so that a 128 KiB parameter does not come back in an error.
const MaxEchoedValue = 256

// Add records one violation of constraint ("Member must …") by value at field.
func (v *Violations) Add(field, value, constraint string) {
	v.add(field, shorten(value, MaxEchoedValue), constraint)
}

func (v *Violations) add(field, shown, constraint string) {
	v.list = append(v.list, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", shown, field, constraint))
}

// AddNull records that the required field is missing.
func (v *Violations) AddNull(field string) {
	v.list = append(v.list, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", field))
}

// AddHidden records a violation by a sensitive value, which is not repeated.
func (v *Violations) AddHidden(field, constraint string) {
	v.list = append(v.list, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", field, constraint))
}

// Replace makes the service's own message (such as MsgInvalidPath) the whole answer,
// in place of the list.
func (v *Violations) Replace(message string) { v.own = message }

// Len returns the number of violations recorded.
func (v *Violations) Len() int { return len(v.list) }

// Check records the violations of rule r by value at field.
func (v *Violations) Check(r Rule, field, value string) {
	if r == 0 || r >= ruleCount {
		v.Add(field, "", fmt.Sprintf("unknown rule %d", r)) // a programming error, reported not panicked
		return
	}
	s := rules[r]
	add := func(c string) {
		if s.sensitive {
			v.AddHidden(field, c)
			return
		}
		v.add(field, quoteForMessage(value, MaxEchoedValue), c)
	}
	n := utf8.RuneCountInString(value)
	if s.max > 0 && n > s.max {
		add(fmt.Sprintf("Member must have length less than or equal to %d", s.max))
	}
	if n < s.min {
		add(fmt.Sprintf("Member must have length greater than or equal to %d", s.min))
	}
	switch {
	case (r == RulePath || r == RulePolicyPath) && n <= s.max && n >= s.min && (!s.re.MatchString(value) || strings.Contains(value, "//")):
		v.Replace(MsgInvalidPath)
	case r == RuleAccountAlias:
		if !validAlias(value) {
			add("Member must satisfy regular expression pattern: " + s.pattern)
		}
	case s.re != nil && !s.re.MatchString(value):
		add("Member must satisfy regular expression pattern: " + s.pattern)
	}
}

// Int records a violation when n is outside [min, max].
func (v *Violations) Int(field string, n, min, max int) {
	switch {
	case n < min:
		v.Add(field, fmt.Sprint(n), fmt.Sprintf("Member must have value greater than or equal to %d", min))
	case n > max:
		v.Add(field, fmt.Sprint(n), fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
}

// Err returns nil without violations, else a ValidationError with all of them.
func (v *Violations) Err() error {
	if v.own != "" {
		return Errorf(ValidationError, "%s", v.own)
	}
	switch len(v.list) {
	case 0:
		return nil
	case 1:
		return Errorf(ValidationError, "1 validation error detected: %s", v.list[0])
	}
	return Errorf(ValidationError, "%d validation errors detected: %s", len(v.list), strings.Join(v.list, "; "))
}

// validTags returns v's error, else the tags' (IAM reports the fields' violations
// first).
func validTags(v *Violations, tags Tags) error {
	if err := v.Err(); err != nil {
		return err
	}
	return ValidateTags(tags)
}

// validAlias implements ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$ (RE2 has no lookahead).
func validAlias(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1 && s[i+1] != '-':
		default:
			return false
		}
	}
	return true
}

// quoteForMessage shortens long values in messages (see shorten) and keeps them on
// one line.
func quoteForMessage(s string, max int) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(shorten(s, max))
}

// shorten returns s as valid UTF-8, cut to at most max bytes (on a character
// boundary) and marked "…" when it was longer.
func shorten(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Limits IAM applies to entities (the defaults of IAM's quotas).
const (
	MaxTags                  = 50
	MaxAccessKeysPerUser     = 2
	MaxPolicyVersions        = 5
	MaxManagedPoliciesPerOne = 10 // attached to one user, group or role (IAM's default quota)
	MaxMFADevicesPerUser     = 8
	MaxRolesPerProfile       = 1
	MaxGroupsPerUser         = 10
	MaxThumbprints           = 5
	MaxClientIDs             = 100
	MaxAccountAliases        = 1
	MinSessionDuration       = time.Hour
	MaxSessionDuration       = 12 * time.Hour
	DefaultSessionDuration   = time.Hour
)

// ValidateTags checks a tag list as IAM does: at most MaxTags, key and value constraints,
// no duplicate keys (tag keys are case-insensitive) and no aws: prefix.
func ValidateTags(tags Tags) error {
	var v Violations
	if len(tags) > MaxTags {
		v.Add("tags", fmt.Sprintf("[%d tags]", len(tags)), fmt.Sprintf("Member must have length less than or equal to %d", MaxTags))
	}
	for i, t := range tags {
		v.Check(RuleTagKey, fmt.Sprintf("tags.%d.member.key", i+1), t.Key)
		v.Check(RuleTagValue, fmt.Sprintf("tags.%d.member.value", i+1), t.Value)
	}
	if err := v.Err(); err != nil {
		return err
	}
	for i, t := range tags {
		if len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:") {
			return Errorf(InvalidInput, "Tag keys can't start with aws:, which is reserved for AWS use.")
		}
		for _, u := range tags[:i] {
			if strings.EqualFold(t.Key, u.Key) {
				return Errorf(InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
	}
	return nil
}

// ValidatePolicyDocument checks a policy document's length and characters and that it is
// JSON; the policy engine checks its grammar. field is the API parameter name.
func ValidatePolicyDocument(field, doc string) error {
	if err := RulePolicyDocument.Check(field, doc); err != nil {
		// Never echo a whole document back: name the field and the constraint only.
		var v Violations
		n := utf8.RuneCountInString(doc)
		switch {
		case n == 0:
			v.Add(field, "", "Member must have length greater than or equal to 1")
		case n > rules[RulePolicyDocument].max:
			v.Add(field, "[document]", "Member must have length less than or equal to 131072")
		default:
			v.Add(field, "[document]", "Member must satisfy regular expression pattern: "+rules[RulePolicyDocument].pattern)
		}
		return v.Err()
	}
	if !json.Valid([]byte(doc)) {
		return Errorf(MalformedPolicyDocument, "Syntax errors in policy.")
	}
	return nil
}

// ValidatePolicyARN checks that arn is a policy ARN (customer managed or AWS managed).
func ValidatePolicyARN(arn string) error {
	a, err := ParseARN(arn)
	if err != nil {
		return err
	}
	if a.Service != "iam" || !strings.HasPrefix(a.Resource, ResourcePolicy+"/") {
		return Errorf(InvalidInput, "ARN %s is not valid.", quoteForMessage(arn, 2048))
	}
	return nil
}

// validatePrincipal is the end of a user's, group's or role's Validate, after its
// own fields' checks in v: the inline policies (with v's violations), then each of
// more (a role's trust policy), the tags, and the managed policies and boundary,
// answering the first fault, as IAM's Create call does.
func validatePrincipal(v *Violations, inline InlinePolicies, tags Tags, managed []string, boundary string, more ...func() error) error {
	if err := validateInline(v, inline); err != nil {
		return err
	}
	for _, fn := range more {
		if err := fn(); err != nil {
			return err
		}
	}
	if err := ValidateTags(tags); err != nil {
		return err
	}
	return validateManaged(managed, boundary)
}

func validateInline(v *Violations, p InlinePolicies) error {
	for _, ip := range p {
		v.Check(RulePolicyName, "policyName", ip.Name)
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, ip := range p {
		if err := ValidatePolicyDocument("policyDocument", ip.Document); err != nil {
			return err
		}
	}
	return nil
}

func validateManaged(arns []string, boundary string) error {
	if len(arns) > MaxManagedPoliciesPerOne {
		return Errorf(LimitExceeded, "Cannot exceed quota for PoliciesPerEntity: %d.", MaxManagedPoliciesPerOne)
	}
	for _, a := range arns {
		if err := ValidatePolicyARN(a); err != nil {
			return err
		}
	}
	if boundary != "" {
		return ValidatePolicyARN(boundary)
	}
	return nil
}
