package policy

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

var (
	t2025 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	alice = Principal{Type: PrincipalUser, ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333",
		UserID: "AIDAALICE00000000001", Username: "alice", Tags: []Tag{{"Team", "blue"}, {"cost-center", "42"}}}
	appSession = Principal{Type: PrincipalAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/app/s1",
		RoleARN: "arn:aws:iam::111122223333:role/svc/app", Account: "111122223333", UserID: "AROAAPP0000000000001:s1"}
)

// condHolds reports whether a statement whose only restriction is one
// condition allows the request: the condition's outcome.
func condHolds(t *testing.T, op, key string, values any, r *Request) bool {
	t.Helper()
	doc, err := json.Marshal(map[string]any{"Version": Version2012, "Statement": map[string]any{
		"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": map[string]any{op: map[string]any{key: values}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Legacy: a stored document may hold values IAM refuses today ("tomorrow").
	p, err := Parse(doc, KindIdentity, func(o *ParseOptions) { o.Legacy = true })
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	if r.Principal.Type == PrincipalAnonymous {
		r.Principal = alice
	}
	if r.Action == "" {
		r.Action = "s3:GetObject"
	}
	got := (&Set{Identity: []*Policy{p}}).Evaluate(r).Result == Allowed
	if ref := refDecide(&Set{Identity: []*Policy{p}}, r).result == Allowed; ref != got {
		t.Errorf("%s %s %v: engine %v, reference %v", op, key, values, got, ref)
	}
	return got
}

func keys(kv ...any) *Request {
	r := &Request{}
	for i := 0; i < len(kv); i += 2 {
		var vals []string
		switch v := kv[i+1].(type) {
		case string:
			vals = []string{v}
		case []string:
			vals = v
		}
		r.Context.Keys = append(r.Context.Keys, ContextKey{kv[i].(string), vals})
	}
	return r
}

func TestConditionOperators(t *testing.T) {
	typed := func(f func(c *Context)) *Request { r := &Request{}; f(&r.Context); return r }
	tests := []struct {
		name   string
		op     string
		key    string
		values any
		req    *Request
		want   bool
	}{
		// String: exact, case-sensitive values; several policy values are alternatives.
		{"StringEquals", "StringEquals", "s3:prefix", "home/", keys("s3:prefix", "home/"), true},
		{"StringEquals is case-sensitive", "StringEquals", "s3:prefix", "Home/", keys("s3:prefix", "home/"), false},
		{"StringEquals any of several", "StringEquals", "s3:prefix", []string{"a", "home/"}, keys("s3:prefix", "home/"), true},
		{"key names are case-insensitive", "StringEquals", "S3:PREFIX", "home/", keys("s3:Prefix", "home/"), true},
		{"StringEquals missing key", "StringEquals", "s3:prefix", "home/", keys(), false},
		{"StringNotEquals", "StringNotEquals", "s3:prefix", "a", keys("s3:prefix", "b"), true},
		{"StringNotEquals none of several", "StringNotEquals", "s3:prefix", []string{"a", "b"}, keys("s3:prefix", "b"), false},
		{"StringNotEquals missing key is true", "StringNotEquals", "s3:prefix", "a", keys(), true},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", "aws:username", "ALICE", &Request{}, true},
		{"StringNotEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "aws:username", "ALICE", &Request{}, false},
		{"StringLike", "StringLike", "s3:prefix", "home/*", keys("s3:prefix", "home/alice/x"), true},
		{"StringLike question mark", "StringLike", "s3:prefix", "h?me", keys("s3:prefix", "home"), true},
		{"StringLike is case-sensitive", "StringLike", "s3:prefix", "HOME/*", keys("s3:prefix", "home/x"), false},
		{"StringNotLike", "StringNotLike", "s3:prefix", "home/*", keys("s3:prefix", "tmp/x"), true},
		{"StringNotLike missing key is true", "StringNotLike", "s3:prefix", "home/*", keys(), true},
		{"StringEqualsIfExists missing", "StringEqualsIfExists", "s3:prefix", "a", keys(), true},
		{"StringEqualsIfExists present", "StringEqualsIfExists", "s3:prefix", "a", keys("s3:prefix", "b"), false},
		{"StringNotEqualsIfExists present", "StringNotEqualsIfExists", "s3:prefix", "a", keys("s3:prefix", "a"), false},
		{"number value as string", "StringEquals", "s3:max-keys", 10, keys("s3:max-keys", "10"), true},
		// Numeric.
		{"NumericEquals", "NumericEquals", "s3:max-keys", "10", keys("s3:max-keys", "10.0"), true},
		{"NumericNotEquals", "NumericNotEquals", "s3:max-keys", "10", keys("s3:max-keys", "11"), true},
		{"NumericLessThan", "NumericLessThan", "s3:max-keys", 10, keys("s3:max-keys", "9"), true},
		{"NumericLessThan equal", "NumericLessThan", "s3:max-keys", 10, keys("s3:max-keys", "10"), false},
		{"NumericLessThanEquals", "NumericLessThanEquals", "s3:max-keys", 10, keys("s3:max-keys", "10"), true},
		{"NumericGreaterThan", "NumericGreaterThan", "s3:max-keys", 10, keys("s3:max-keys", "10.5"), true},
		{"NumericGreaterThanEquals", "NumericGreaterThanEquals", "s3:max-keys", 10, keys("s3:max-keys", "9"), false},
		{"Numeric on text never matches", "NumericLessThan", "s3:max-keys", 10, keys("s3:max-keys", "ten"), false},
		{"Numeric on MFA age", "NumericLessThan", "aws:MultiFactorAuthAge", 3600,
			typed(func(c *Context) { c.CurrentTime = t2025; c.MultiFactorAuthTime = t2025.Add(-30 * time.Minute) }), true},
		{"Numeric on MFA age, too old", "NumericLessThan", "aws:MultiFactorAuthAge", 3600,
			typed(func(c *Context) { c.CurrentTime = t2025; c.MultiFactorAuthTime = t2025.Add(-2 * time.Hour) }), false},
		{"MFA age absent without MFA", "NumericLessThanIfExists", "aws:MultiFactorAuthAge", 3600, typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"Numeric on epoch time", "NumericGreaterThan", "aws:EpochTime", 1735689600, typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		// Date.
		{"DateGreaterThan", "DateGreaterThan", "aws:CurrentTime", "2025-01-01T00:00:00Z", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"DateLessThan", "DateLessThan", "aws:CurrentTime", "2025-01-01T00:00:00Z", typed(func(c *Context) { c.CurrentTime = t2025 }), false},
		{"DateLessThanEquals at the instant", "DateLessThanEquals", "aws:CurrentTime", "2025-03-01T12:00:00Z", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"DateGreaterThanEquals at the instant", "DateGreaterThanEquals", "aws:CurrentTime", "2025-03-01T13:00:00+01:00", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"DateEquals with offset", "DateEquals", "aws:CurrentTime", "2025-03-01T07:00:00-05:00", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"DateNotEquals", "DateNotEquals", "aws:CurrentTime", "2025-03-01", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"Date as a day", "DateLessThan", "aws:CurrentTime", "2025-03-02", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"Date as epoch seconds", "DateGreaterThan", "aws:CurrentTime", "1735689600", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"Date on epoch time", "DateLessThan", "aws:EpochTime", "2025-06-01", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"Date on a text key", "DateLessThan", "aws:TokenIssueTime", "2025-06-01", keys("aws:TokenIssueTime", "2025-03-01T00:00:00Z"), true},
		{"Date on token issue time", "DateGreaterThan", "aws:TokenIssueTime", "2025-06-01", typed(func(c *Context) { c.TokenIssueTime = t2025 }), false},
		{"Date on bad text", "DateLessThan", "aws:TokenIssueTime", "2025-06-01", keys("aws:TokenIssueTime", "soon"), false},
		{"Date policy value bad", "DateLessThan", "aws:CurrentTime", "tomorrow", typed(func(c *Context) { c.CurrentTime = t2025 }), false},
		// Bool.
		{"Bool true", "Bool", "aws:SecureTransport", "true", typed(func(c *Context) { c.SecureTransport = BoolTrue }), true},
		{"Bool false", "Bool", "aws:SecureTransport", false, typed(func(c *Context) { c.SecureTransport = BoolFalse }), true},
		{"Bool mismatch", "Bool", "aws:SecureTransport", "false", typed(func(c *Context) { c.SecureTransport = BoolTrue }), false},
		{"Bool missing", "Bool", "aws:MultiFactorAuthPresent", "false", &Request{}, false},
		{"BoolIfExists missing (the MFA idiom)", "BoolIfExists", "aws:MultiFactorAuthPresent", "false", &Request{}, true},
		{"Bool on text", "Bool", "custom:flag", "true", keys("custom:flag", "TRUE"), true},
		{"Bool is AWS service", "Bool", "aws:PrincipalIsAWSService", "false", &Request{}, true},
		// Binary.
		{"BinaryEquals", "BinaryEquals", "custom:blob", "QmluYXJ5VmFsdWU=", keys("custom:blob", "QmluYXJ5VmFsdWU="), true},
		{"BinaryEquals differs", "BinaryEquals", "custom:blob", "QmluYXJ5VmFsdWU=", keys("custom:blob", "YWJj"), false},
		// IP addresses.
		{"IpAddress v4", "IpAddress", "aws:SourceIp", "203.0.113.0/24", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("203.0.113.7") }), true},
		{"IpAddress outside", "IpAddress", "aws:SourceIp", "203.0.113.0/24", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("198.51.100.1") }), false},
		{"IpAddress single address", "IpAddress", "aws:SourceIp", "203.0.113.7", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("203.0.113.7") }), true},
		{"IpAddress v6", "IpAddress", "aws:SourceIp", "2001:db8::/32", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("2001:db8:1::5") }), true},
		{"IpAddress v4-mapped request", "IpAddress", "aws:SourceIp", "10.0.0.0/8", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("::ffff:10.1.2.3") }), true},
		{"IpAddress v4 vs v6 block", "IpAddress", "aws:SourceIp", "2001:db8::/32", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("10.1.2.3") }), false},
		{"NotIpAddress", "NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8", "192.168.0.0/16"}, typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("203.0.113.7") }), true},
		{"NotIpAddress inside", "NotIpAddress", "aws:SourceIp", []string{"10.0.0.0/8", "192.168.0.0/16"}, typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("192.168.1.1") }), false},
		{"NotIpAddress missing key is true", "NotIpAddress", "aws:SourceIp", "10.0.0.0/8", &Request{}, true},
		{"IpAddress on text", "IpAddress", "aws:SourceIp", "10.0.0.0/8", keys("aws:SourceIp", "10.9.9.9"), true},
		// ARNs.
		{"ArnLike", "ArnLike", "aws:SourceArn", "arn:aws:s3:::bucket-*", keys("aws:SourceArn", "arn:aws:s3:::bucket-logs"), true},
		{"ArnEquals with wildcards", "ArnEquals", "aws:PrincipalArn", "arn:aws:iam::*:role/svc/*", &Request{Principal: appSession}, true},
		{"ArnEquals is case-sensitive", "ArnEquals", "aws:SourceArn", "arn:aws:s3:::Bucket", keys("aws:SourceArn", "arn:aws:s3:::bucket"), false},
		{"ArnNotLike", "ArnNotLike", "aws:SourceArn", "arn:aws:s3:::bucket-*", keys("aws:SourceArn", "arn:aws:s3:::other"), true},
		{"ArnNotEquals missing key is true", "ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::x", keys(), true},
		{"ArnLike segment-bound star", "ArnLike", "aws:SourceArn", "arn:aws:sns:us-*-1:*:topic", keys("aws:SourceArn", "arn:aws:sns:us-east:x-1:123:topic"), false},
		// Null: "true" means absent.
		{"Null true, absent", "Null", "aws:TokenIssueTime", "true", &Request{}, true},
		{"Null true, present", "Null", "aws:TokenIssueTime", "true", typed(func(c *Context) { c.TokenIssueTime = t2025 }), false},
		{"Null false, present", "Null", "aws:TokenIssueTime", "false", typed(func(c *Context) { c.TokenIssueTime = t2025 }), true},
		{"Null false, absent", "Null", "aws:TokenIssueTime", "false", &Request{}, false},
		{"Null on an empty list is absent", "Null", "custom:list", "true", keys("custom:list", []string{}), true},
		{"Null with a boolean", "Null", "aws:RequestTag/env", true, &Request{}, true},
		// Sets: ForAllValues / ForAnyValue.
		{"ForAllValues subset", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "team"},
			typed(func(c *Context) { c.RequestTags = []Tag{{"env", "x"}} }), true},
		{"ForAllValues not subset", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env", "team"},
			typed(func(c *Context) { c.RequestTags = []Tag{{"env", "x"}, {"owner", "y"}} }), false},
		{"ForAllValues missing key is true", "ForAllValues:StringEquals", "aws:TagKeys", []string{"env"}, &Request{}, true},
		{"ForAllValues empty list is true", "ForAllValues:StringEquals", "custom:list", "a", keys("custom:list", []string{}), true},
		{"ForAllValues StringLike", "ForAllValues:StringLike", "custom:list", "a*", keys("custom:list", []string{"ab", "ac"}), true},
		{"ForAllValues StringNotEquals", "ForAllValues:StringNotEquals", "custom:list", []string{"x", "y"}, keys("custom:list", []string{"a", "b"}), true},
		{"ForAllValues StringNotEquals, one hit", "ForAllValues:StringNotEquals", "custom:list", []string{"x", "y"}, keys("custom:list", []string{"a", "x"}), false},
		{"ForAnyValue overlap", "ForAnyValue:StringEquals", "custom:list", []string{"b", "z"}, keys("custom:list", []string{"a", "b"}), true},
		{"ForAnyValue none", "ForAnyValue:StringEquals", "custom:list", []string{"y", "z"}, keys("custom:list", []string{"a", "b"}), false},
		{"ForAnyValue missing key is false", "ForAnyValue:StringEquals", "custom:list", "a", keys(), false},
		{"ForAnyValue IfExists missing key", "ForAnyValue:StringEqualsIfExists", "custom:list", "a", keys(), true},
		{"ForAnyValue StringNotEquals", "ForAnyValue:StringNotEquals", "custom:list", []string{"a"}, keys("custom:list", []string{"a", "b"}), true},
		{"ForAnyValue StringNotEquals, all listed", "ForAnyValue:StringNotEquals", "custom:list", []string{"a", "b"}, keys("custom:list", []string{"a", "b"}), false},
		{"plain StringNotEquals on a list: none may match", "StringNotEquals", "custom:list", []string{"a"}, keys("custom:list", []string{"a", "b"}), false},
		{"plain StringEquals on a list: any may match", "StringEquals", "custom:list", []string{"b"}, keys("custom:list", []string{"a", "b"}), true},
		{"ForAnyValue numeric", "ForAnyValue:NumericGreaterThan", "custom:list", "5", keys("custom:list", []string{"1", "7"}), true},
		{"ForAllValues numeric", "ForAllValues:NumericGreaterThan", "custom:list", "5", keys("custom:list", []string{"1", "7"}), false},
		// Tags, by key name case-insensitively, by value case-sensitively.
		{"principal tag", "StringEquals", "aws:PrincipalTag/team", "blue", &Request{}, true},
		{"principal tag value case", "StringEquals", "aws:PrincipalTag/team", "Blue", &Request{}, false},
		{"request tag", "StringEquals", "aws:RequestTag/Env", "prod", typed(func(c *Context) { c.RequestTags = []Tag{{"env", "prod"}} }), true},
		{"resource tag", "StringEquals", "aws:ResourceTag/owner", "${aws:username}",
			&Request{Resource: Resource{ARN: "arn:aws:ec2:eu-west-1:111122223333:instance/i-1", Tags: []Tag{{"Owner", "alice"}}}}, true},
		{"resource tag matches principal tag", "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}",
			&Request{Resource: Resource{ARN: "*", Tags: []Tag{{"team", "blue"}}}}, true},
		// Global keys from the principal.
		{"aws:PrincipalArn of a session is its role", "StringEquals", "aws:PrincipalArn", "arn:aws:iam::111122223333:role/svc/app", &Request{Principal: appSession}, true},
		{"aws:PrincipalType", "StringEquals", "aws:PrincipalType", "AssumedRole", &Request{Principal: appSession}, true},
		{"aws:username is for users only", "Null", "aws:username", "true", &Request{Principal: appSession}, true},
		{"aws:userid of a session", "StringLike", "aws:userid", "AROAAPP0000000000001:*", &Request{Principal: appSession}, true},
		{"aws:PrincipalAccount", "StringEquals", "aws:PrincipalAccount", "111122223333", &Request{}, true},
		{"aws:ResourceAccount defaults to the principal's", "StringEquals", "aws:ResourceAccount", "111122223333", &Request{}, true},
		{"aws:RequestedRegion", "StringLike", "aws:RequestedRegion", "eu-*", typed(func(c *Context) { c.RequestedRegion = "eu-west-1" }), true},
		{"aws:SourceIdentity", "StringEquals", "aws:SourceIdentity", "alice", typed(func(c *Context) { c.SourceIdentity = "alice" }), true},
		{"aws:CurrentTime as text", "StringLike", "aws:CurrentTime", "2025-03-01T*", typed(func(c *Context) { c.CurrentTime = t2025 }), true},
		{"aws:SourceIp as text", "StringEquals", "aws:SourceIp", "10.1.2.3", typed(func(c *Context) { c.SourceIP = netip.MustParseAddr("10.1.2.3") }), true},
		{"an explicit key overrides a field", "StringEquals", "aws:RequestedRegion", "us-east-1",
			&Request{Context: Context{RequestedRegion: "eu-west-1", Keys: []ContextKey{{"AWS:RequestedRegion", []string{"us-east-1"}}}}}, true},
		// Several values with variables.
		{"variable in a condition value", "StringLike", "s3:prefix", []string{"public/*", "home/${aws:username}/*"}, keys("s3:prefix", "home/alice/docs"), true},
		{"variable in a numeric value", "NumericEquals", "custom:n", "${aws:PrincipalTag/cost-center}", keys("custom:n", "42"), true},
		{"variable with IgnoreCase", "StringEqualsIgnoreCase", "custom:who", "${aws:username}", keys("custom:who", "ALICE"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := condHolds(t, tc.op, tc.key, tc.values, tc.req); got != tc.want {
				t.Errorf("%s {%s: %v} = %v, want %v", tc.op, tc.key, tc.values, got, tc.want)
			}
		})
	}
}

func TestSeveralConditionsAreAnded(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
	  "StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:PrincipalTag/team":"blue"},
	  "Bool":{"aws:SecureTransport":"true"}}}}`
	p, err := Parse([]byte(doc), KindIdentity)
	if err != nil {
		t.Fatal(err)
	}
	set := &Set{Identity: []*Policy{p}}
	base := Request{Principal: alice, Action: "s3:ListBucket", Context: Context{RequestedRegion: "eu-west-1", SecureTransport: BoolTrue}}
	if d := set.Evaluate(&base); d.Result != Allowed {
		t.Fatalf("all conditions hold: %v", d.Result)
	}
	for name, mutate := range map[string]func(r *Request){
		"other region":     func(r *Request) { r.Context.RequestedRegion = "us-east-1" },
		"no TLS":           func(r *Request) { r.Context.SecureTransport = BoolFalse },
		"other team":       func(r *Request) { r.Principal.Tags = []Tag{{"team", "red"}} },
		"no region at all": func(r *Request) { r.Context.RequestedRegion = "" },
	} {
		r := base
		mutate(&r)
		if d := set.Evaluate(&r); d.Result != ImplicitlyDenied {
			t.Errorf("%s: %v, want ImplicitlyDenied", name, d.Result)
		}
	}
}
