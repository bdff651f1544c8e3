package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary documents to the parser of every kind: it must
// not panic, must be deterministic, and Parse and Validate must agree.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*"],"NotResource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]}}}]}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/x"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}],"Id":"x"}`))
	f.Add([]byte(`{"Statement":[}`))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:x":"true"},"DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}}]}`))
	// The grammar cases: documents IAM accepts and refuses.
	files, _ := filepath.Glob("testdata/conformance/grammar/*.json")
	for _, file := range files {
		var gf grammarFile
		if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &gf) == nil {
			for _, c := range append(gf.Valid, gf.Invalid...) {
				f.Add([]byte(c.Document))
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for k := KindIdentity; k <= KindSCP; k++ {
			p, err := Parse(doc, k)
			faults := Validate(doc, k)
			if (err == nil) != (len(faults) == 0) {
				t.Fatalf("%v: Parse says %v, Validate says %v", k, err, faults)
			}
			if err != nil {
				if err.Error() != faults[0].Error() {
					t.Fatalf("%v: Parse reports %q first, Validate %q", k, err, faults[0])
				}
				if _, err2 := Parse(doc, k); err2 == nil || err2.Error() != err.Error() {
					t.Fatalf("%v: not deterministic: %v then %v", k, err, err2)
				}
				continue
			}
			// An accepted document re-encodes (from its statements) into one
			// that is accepted too.
			if _, err := json.Marshal(p.Statements()); err != nil {
				t.Fatalf("%v: statements do not encode: %v", k, err)
			}
			set := &Set{Identity: []*Policy{p}}
			if k == KindResource || k == KindTrust {
				set = &Set{Resource: []*Policy{p}}
			}
			for _, r := range fuzzRequests {
				d1, d2 := set.Evaluate(r), set.Evaluate(r)
				if d1.Result != d2.Result || d1.Reason != d2.Reason || len(d1.Statements) != len(d2.Statements) {
					t.Fatalf("%v: not deterministic", k)
				}
			}
		}
	})
}

var fuzzRequests = []*Request{
	{Principal: Principal{Type: PrincipalUser, ARN: "arn:aws:iam::123456789012:user/alice", Account: "123456789012", Username: "alice", UserID: "AIDAEXAMPLE000000001"},
		Action: "s3:GetObject", Resource: Resource{ARN: "arn:aws:s3:::b/alice/x"},
		Context: Context{CurrentTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), RequestTags: []Tag{{"a", "b"}}}},
	{Principal: Principal{Type: PrincipalAssumedRole, ARN: "arn:aws:sts::123456789012:assumed-role/x/s", RoleARN: "arn:aws:iam::123456789012:role/x", Account: "123456789012"},
		Action: "sts:AssumeRole", Context: Context{Keys: []ContextKey{{"aws:x", []string{"1", "2"}}}}},
	{Principal: Principal{Type: PrincipalService, ARN: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"},
}

// FuzzEvaluate feeds arbitrary text to every part of a request and a
// condition of a policy, and requires the compiled engine and the reference
// evaluator to agree.
func FuzzEvaluate(f *testing.F) {
	f.Add("StringLike", "aws:username", "a*${aws:username}", "s3:Get*", "arn:aws:s3:::b/*", "s3:GetObject", "arn:aws:s3:::b/k", "alice")
	f.Add("ForAllValues:StringEquals", "aws:TagKeys", "env", "*", "*", "iam:ListUsers", "*", "env")
	f.Add("NumericLessThanIfExists", "s3:max-keys", "10", "s3:*", "arn:aws:s3:::*", "s3:ListBucket", "arn:aws:s3:::b", "5")
	f.Add("IpAddress", "aws:SourceIp", "10.0.0.0/8", "*", "*", "ec2:RunInstances", "*", "10.1.2.3")
	f.Add("DateGreaterThan", "aws:CurrentTime", "2024-01-01", "*", "arn:aws:logs:*:*:*", "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s", "2025-01-01T00:00:00Z")
	f.Add("ArnLike", "aws:SourceArn", "arn:aws:s3:::b*:x", "s?:*", "arn:aws:s3:::a*b", "S3:GETOBJECT", "arn:aws:s3:::a:b", "arn:aws:s3:::bq:x")
	f.Add("Null", "aws:x", "true", "*", "*", "a:b", "*", "")
	f.Fuzz(func(t *testing.T, op, key, value, actionPattern, resourcePattern, action, resource, reqValue string) {
		doc, err := json.Marshal(map[string]any{
			"Version": Version2012,
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": actionPattern, "Resource": resourcePattern,
				"Condition": map[string]any{op: map[string]any{key: value}},
			}},
		})
		if err != nil {
			return
		}
		p, err := Parse(doc, KindIdentity, func(o *ParseOptions) { o.Name = "fuzz" })
		if err != nil {
			return
		}
		r := &Request{
			Principal: Principal{Type: PrincipalUser, ARN: "arn:aws:iam::123456789012:user/alice", Account: "123456789012", Username: "alice"},
			Action:    action,
			Resource:  Resource{ARN: resource},
			Context:   Context{Keys: []ContextKey{{key, []string{reqValue}}}},
		}
		if !asciiOnly(key) {
			return // key names are compared with Unicode case folding by one and lower-casing by the other
		}
		sameAsReference(t, &Set{Identity: []*Policy{p}}, r)
	})
}

func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
