package account

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRules(t *testing.T) {
	cases := map[string]struct {
		rule  Rule
		field string
		value string
		want  string // "" for valid, else the ValidationError message
	}{
		"user ok":               {RuleUserName, "userName", "a.b+c=d,e@f_g-h", ""},
		"user 64":               {RuleUserName, "userName", strings.Repeat("u", 64), ""},
		"user 65":               {RuleUserName, "userName", strings.Repeat("u", 65), "1 validation error detected: Value '" + strings.Repeat("u", 65) + "' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		"user space":            {RuleUserName, "userName", "a b", `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		"user empty":            {RuleUserName, "userName", "", `2 validation errors detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		"user non-ASCII":        {RuleUserName, "userName", "józef", `1 validation error detected: Value 'józef' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		"role 64":               {RuleRoleName, "roleName", strings.Repeat("r", 64), ""},
		"role 65":               {RuleRoleName, "roleName", strings.Repeat("r", 65), "1 validation error detected: Value '" + strings.Repeat("r", 65) + "' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		"group 128":             {RuleGroupName, "groupName", strings.Repeat("g", 128), ""},
		"group 129":             {RuleGroupName, "groupName", strings.Repeat("g", 129), "1 validation error detected: Value '" + strings.Repeat("g", 129) + "' at 'groupName' failed to satisfy constraint: Member must have length less than or equal to 128"},
		"policy 128":            {RulePolicyName, "policyName", strings.Repeat("p", 128), ""},
		"session 2":             {RuleRoleSessionName, "roleSessionName", "ab", ""},
		"session 1":             {RuleRoleSessionName, "roleSessionName", "a", "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		"session slash":         {RuleRoleSessionName, "roleSessionName", "a/b", `1 validation error detected: Value 'a/b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		"path root":             {RulePath, "path", "/", ""},
		"path nested":           {RulePath, "path", "/division_abc/subdivision_xyz/", ""},
		"path punctuation":      {RulePath, "path", "/a!b~c/", ""},
		"path no trailing":      {RulePath, "path", "/a", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"path empty segment":    {RulePath, "path", "/a//b/", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"path no leading":       {RulePath, "path", "a/", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"path space":            {RulePath, "path", "/a b/", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"path 512":              {RulePath, "path", "/" + strings.Repeat("p", 510) + "/", ""},
		"path 513":              {RulePath, "path", "/" + strings.Repeat("p", 511) + "/", "1 validation error detected: Value '/" + strings.Repeat("p", 255) + "…' at 'path' failed to satisfy constraint: Member must have length less than or equal to 512"},
		"policy path ok":        {RulePolicyPath, "path", "/team-a/x.y/", ""},
		"policy path bang":      {RulePolicyPath, "path", "/a!/", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"policy path double":    {RulePolicyPath, "path", "//", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		"description latin-1":   {RuleRoleDescription, "description", "Rôle für Dienste", ""},
		"description emoji":     {RuleRoleDescription, "description", "role 🚀", `1 validation error detected: Value 'role 🚀' at 'description' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`},
		"description empty":     {RuleRoleDescription, "description", "", ""},
		"description 1001":      {RuleRoleDescription, "description", strings.Repeat("d", 1001), "1 validation error detected: Value '" + strings.Repeat("d", 256) + "…' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000"},
		"tag key unicode":       {RuleTagKey, "tags.1.member.key", "Kostenstelle:Ü 1", ""},
		"tag key 128":           {RuleTagKey, "tags.1.member.key", strings.Repeat("k", 128), ""},
		"tag key 129":           {RuleTagKey, "tags.1.member.key", strings.Repeat("k", 129), "1 validation error detected: Value '" + strings.Repeat("k", 129) + "' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		"tag key comma":         {RuleTagKey, "tags.1.member.key", "a,b", `1 validation error detected: Value 'a,b' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`},
		"tag value empty":       {RuleTagValue, "tags.1.member.value", "", ""},
		"tag value 256":         {RuleTagValue, "tags.1.member.value", strings.Repeat("v", 256), ""},
		"tag value 257":         {RuleTagValue, "tags.1.member.value", strings.Repeat("v", 257), "1 validation error detected: Value '" + strings.Repeat("v", 256) + "…' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		"tag value multibyte":   {RuleTagValue, "tags.1.member.value", strings.Repeat("é", 256), ""},
		"version v1":            {RulePolicyVersionID, "versionId", "v1", ""},
		"version v0":            {RulePolicyVersionID, "versionId", "v0", `1 validation error detected: Value 'v0' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`},
		"alias ok":              {RuleAccountAlias, "accountAlias", "my-org-1", ""},
		"alias double hyphen":   {RuleAccountAlias, "accountAlias", "my--org", `1 validation error detected: Value 'my--org' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`},
		"alias trailing hyphen": {RuleAccountAlias, "accountAlias", "org-", `1 validation error detected: Value 'org-' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`},
		"alias upper":           {RuleAccountAlias, "accountAlias", "Org", `1 validation error detected: Value 'Org' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`},
		"password never echoed": {RulePassword, "password", "tab\x01control", `1 validation error detected: Value at 'password' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`},
		"serial ok":             {RuleSerialNumber, "serialNumber", "arn:aws:iam::123456789012:mfa/alice", ""},
		"serial short":          {RuleSerialNumber, "serialNumber", "GAHT1234", "1 validation error detected: Value 'GAHT1234' at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9"},
		"thumbprint 39":         {RuleThumbprint, "thumbprintList.1.member", strings.Repeat("a", 39), "1 validation error detected: Value '" + strings.Repeat("a", 39) + "' at 'thumbprintList.1.member' failed to satisfy constraint: Member must have length greater than or equal to 40"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.rule.Check(c.field, c.value)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want valid", c.value, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != ValidationError || e.Message != c.want {
				t.Fatalf("Check(%q) =\n  %v\nwant ValidationError:\n  %s", c.value, err, c.want)
			}
		})
	}
}

func TestValidateTags(t *testing.T) {
	many := func(n int) Tags {
		var ts Tags
		for i := range n {
			ts = append(ts, Tag{Key: fmt.Sprintf("k%d", i), Value: "v"})
		}
		return ts
	}
	cases := map[string]struct {
		tags Tags
		code Code
		msg  string
	}{
		"none":           {nil, "", ""},
		"50":             {many(50), "", ""},
		"51":             {many(51), ValidationError, "1 validation error detected: Value '[51 tags]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		"empty key":      {Tags{{Key: "", Value: "v"}}, ValidationError, ""},
		"bad value":      {Tags{{Key: "k", Value: "a;b"}}, ValidationError, `1 validation error detected: Value 'a;b' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`},
		"second bad":     {Tags{{Key: "ok", Value: "v"}, {Key: "k", Value: strings.Repeat("x", 257)}}, ValidationError, ""},
		"duplicate case": {Tags{{Key: "Env", Value: "a"}, {Key: "env", Value: "b"}}, InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		"aws prefix":     {Tags{{Key: "AWS:x", Value: "a"}}, InvalidInput, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := ValidateTags(c.tags)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ValidateTags = %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || (c.msg != "" && e.Message != c.msg) {
				t.Fatalf("ValidateTags = %v, want %s %q", err, c.code, c.msg)
			}
			if name == "second bad" && !strings.Contains(e.Message, "tags.2.member.value") {
				t.Errorf("message does not name the second tag: %s", e.Message)
			}
		})
	}
}

func TestTagsMergeWithout(t *testing.T) {
	base := Tags{{Key: "Env", Value: "prod"}, {Key: "Team", Value: "a"}}
	got, err := base.Merge(Tags{{Key: "env", Value: "dev"}, {Key: "Owner", Value: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Tags{{Key: "env", Value: "dev"}, {Key: "Team", Value: "a"}, {Key: "Owner", Value: "x"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	if fmt.Sprint(base) != fmt.Sprint(Tags{{Key: "Env", Value: "prod"}, {Key: "Team", Value: "a"}}) {
		t.Errorf("Merge changed its receiver: %v", base)
	}
	if v, ok := got.Get("OWNER"); !ok || v != "x" {
		t.Errorf("Get(OWNER) = %q, %v", v, ok)
	}
	if w := got.Without([]string{"TEAM", "nope"}); len(w) != 2 || w[1].Key != "Owner" {
		t.Errorf("Without = %v", w)
	}
}

func TestEntityValidate(t *testing.T) {
	trust := `{"Version":"2012-10-17","Statement":[]}`
	cases := map[string]struct {
		v    interface{ Validate() error }
		code Code
	}{
		"user ok":               {User{Name: "u", Path: "/"}, ""},
		"user bad path":         {User{Name: "u", Path: "x"}, ValidationError},
		"user boundary not arn": {User{Name: "u", Path: "/", PermissionsBoundary: "Boundary"}, InvalidInput},
		"user bad inline":       {User{Name: "u", Path: "/", InlinePolicies: InlinePolicies{{Name: "p", Document: "{"}}}, MalformedPolicyDocument},
		"role ok":               {Role{Name: "r", Path: "/", AssumeRolePolicy: trust, MaxSessionDuration: 12 * time.Hour}, ""},
		"role 59 min":           {Role{Name: "r", Path: "/", AssumeRolePolicy: trust, MaxSessionDuration: 59 * time.Minute}, ValidationError},
		"role fractional":       {Role{Name: "r", Path: "/", AssumeRolePolicy: trust, MaxSessionDuration: time.Hour + time.Millisecond}, ValidationError},
		"role no trust":         {Role{Name: "r", Path: "/"}, ValidationError},
		"role 21 policies":      {Role{Name: "r", Path: "/", AssumeRolePolicy: trust, ManagedPolicies: make([]string, 21)}, LimitExceeded},
		"policy bad path":       {ManagedPolicy{Name: "p", Path: "/a b/"}, ValidationError},
		"oidc ok":               {OIDCProvider{URL: "https://issuer.example/path", Thumbprints: []string{strings.Repeat("0", 40)}}, ""},
		"oidc query":            {OIDCProvider{URL: "https://issuer.example/?a=b"}, InvalidInput},
		"oidc not hex":          {OIDCProvider{URL: "https://issuer.example", Thumbprints: []string{strings.Repeat("z", 40)}}, InvalidInput},
		"oidc 6 thumbprints":    {OIDCProvider{URL: "https://issuer.example", Thumbprints: strings.Fields(strings.Repeat(strings.Repeat("a", 40)+" ", 6))}, LimitExceeded},
		"password policy ok":    {PasswordPolicy{MinimumPasswordLength: 14, MaxPasswordAge: 90, PasswordReusePrevention: 24}, ""},
		"password policy 129":   {PasswordPolicy{MinimumPasswordLength: 129}, ValidationError},
		"password policy reuse": {PasswordPolicy{MinimumPasswordLength: 8, PasswordReusePrevention: 25}, ValidationError},
		"key bad status":        {AccessKey{ID: "AKIAIOSFODNN7EXAMPLE", Status: "Expired"}, ValidationError},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.v.Validate()
			var e *Error
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case c.code != "" && (!errors.As(err, &e) || e.Code != c.code):
				t.Fatalf("Validate = %v, want %s", err, c.code)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", Errorf(NoSuchEntity, "The user with name x cannot be found."))
	if !errors.Is(err, ErrNoSuchEntity) || errors.Is(err, ErrEntityAlreadyExists) {
		t.Errorf("errors.Is does not follow the code: %v", err)
	}
	if !errors.Is(err, &Error{Code: NoSuchEntity, Message: "The user with name x cannot be found."}) || errors.Is(err, &Error{Code: NoSuchEntity, Message: "other"}) {
		t.Error("errors.Is with a message does not compare it")
	}
}

// TestViolations: the one ValidationError renderer of the store, the entities and the
// Query API's model validation (sts/query uses it too).
func TestViolations(t *testing.T) {
	long := strings.Repeat("a", MaxEchoedValue-1) + "é" // the cut falls inside é
	cases := map[string]struct {
		add  func(v *Violations)
		want string // "" for no error
	}{
		"none": {add: func(*Violations) {}},
		"one": {add: func(v *Violations) { v.Add("status", "On", "Member must satisfy enum value set: [Active, Inactive]") },
			want: "1 validation error detected: Value 'On' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"},
		"null and hidden": {add: func(v *Violations) {
			v.AddNull("roleArn")
			v.AddHidden("webIdentityToken", "Member must have length 4")
		},
			want: "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
				"Value at 'webIdentityToken' failed to satisfy constraint: Member must have length 4"},
		"long value cut on a character boundary": {add: func(v *Violations) { v.Add("f", long, "c") },
			want: "1 validation error detected: Value '" + strings.Repeat("a", MaxEchoedValue-1) + "…' at 'f' failed to satisfy constraint: c"},
		"invalid UTF-8 replaced": {add: func(v *Violations) { v.Add("f", "a\xffb", "c") },
			want: "1 validation error detected: Value 'a\uFFFDb' at 'f' failed to satisfy constraint: c"},
		"rule check keeps a value on one line": {add: func(v *Violations) { v.Check(RuleUserName, "userName", "a\nb") },
			want: `1 validation error detected: Value 'a\nb' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		"own message replaces the list": {add: func(v *Violations) { v.Add("f", "x", "c"); v.Replace(MsgInvalidPath) }, want: MsgInvalidPath},
		"path rule":                     {add: func(v *Violations) { v.Check(RulePath, "path", "/a//b/") }, want: MsgInvalidPath},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var v Violations
			c.add(&v)
			err := v.Err()
			if c.want == "" {
				if err != nil || v.Len() != 0 {
					t.Fatalf("Err() = %v with %d violations, want nil", err, v.Len())
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != ValidationError || e.Message != c.want {
				t.Fatalf("Err() = %v\nwant ValidationError: %s", err, c.want)
			}
		})
	}
}
