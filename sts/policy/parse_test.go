package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const okStatement = `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`

func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func TestParseFaults(t *testing.T) {
	trustOK := `{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}`
	tests := map[string]struct {
		kind    Kind
		doc     string
		message string
		path    string
	}{
		"not JSON":             {KindIdentity, `{"Version":`, "Syntax errors in policy.", "$.Version"},
		"unclosed list":        {KindIdentity, `{"Statement":[}`, "Syntax errors in policy.", "$.Statement"},
		"not an object":        {KindIdentity, `["Allow"]`, "Syntax errors in policy.", "$"},
		"text after document":  {KindIdentity, doc(okStatement) + ` {}`, "Syntax errors in policy.", "$"},
		"duplicate member":     {KindIdentity, `{"Statement":[` + okStatement + `],"Statement":[]}`, "Syntax errors in policy.", "$.Statement"},
		"unknown element":      {KindIdentity, `{"Version":"2012-10-17","Statment":[]}`, "Syntax errors in policy.", "$.Statment"},
		"unknown version":      {KindIdentity, `{"Version":"2012-10-18","Statement":[` + okStatement + `]}`, "Syntax errors in policy.", "$.Version"},
		"version not text":     {KindIdentity, `{"Version":2012,"Statement":[` + okStatement + `]}`, "Syntax errors in policy.", "$.Version"},
		"id not text":          {KindIdentity, `{"Id":[],"Statement":[` + okStatement + `]}`, "Syntax errors in policy.", "$.Id"},
		"no statement":         {KindIdentity, `{"Version":"2012-10-17"}`, "Syntax errors in policy.", "$"},
		"empty statement list": {KindIdentity, `{"Version":"2012-10-17","Statement":[]}`, "Syntax errors in policy.", "$.Statement"},
		"statement is text":    {KindIdentity, doc(`"Allow"`), "Syntax errors in policy.", "$.Statement[0]"},
		"unknown statement element": {KindIdentity, doc(`{"Effect":"Allow","Actions":"s3:*","Action":"s3:*","Resource":"*"}`),
			"Syntax errors in policy.", "$.Statement[0].Actions"},
		"no effect":       {KindIdentity, doc(`{"Action":"s3:*","Resource":"*"}`), "Syntax errors in policy.", "$.Statement[0]"},
		"effect in lower": {KindIdentity, doc(`{"Effect":"allow","Action":"s3:*","Resource":"*"}`), "The policy failed legacy parsing", "$.Statement[0].Effect"},
		"effect not text": {KindIdentity, doc(`{"Effect":true,"Action":"s3:*","Resource":"*"}`), "Syntax errors in policy.", "$.Statement[0].Effect"},
		"sid with space": {KindIdentity, doc(`{"Sid":"read all","Effect":"Allow","Action":"s3:*","Resource":"*"}`),
			"Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*", "$.Statement[0].Sid"},
		"duplicate sid": {KindIdentity, doc(`{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}`),
			"Statement IDs (SID) in a single policy must be unique.", "$.Statement[1].Sid"},
		"sid not text":            {KindIdentity, doc(`{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}`), "Syntax errors in policy.", "$.Statement[0].Sid"},
		"identity principal":      {KindIdentity, doc(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal.", "$.Statement[0].Principal"},
		"identity notprincipal":   {KindIdentity, doc(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal.", "$.Statement[0].NotPrincipal"},
		"boundary principal":      {KindBoundary, doc(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal.", "$.Statement[0].Principal"},
		"session principal":       {KindSession, doc(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal.", "$.Statement[0].Principal"},
		"scp principal":           {KindSCP, doc(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal.", "$.Statement[0].Principal"},
		"trust without principal": {KindTrust, doc(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), "Missing required field Principal", "$.Statement[0]"},
		"resource policy without principal": {KindResource, doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`),
			"Missing required field Principal", "$.Statement[0]"},
		"principal and notprincipal": {KindResource, doc(`{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"s3:*"}`), "Syntax errors in policy.", "$.Statement[0].NotPrincipal"},
		"wildcard inside principal": {KindTrust, doc(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"sts:AssumeRole"}`),
			`Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*"`, "$.Statement[0].Principal.AWS"},
		"principal is an ARN string": {KindTrust, doc(`{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root","Action":"sts:AssumeRole"}`),
			`Invalid principal in policy: "arn:aws:iam::123456789012:root"`, "$.Statement[0].Principal"},
		"unknown principal type": {KindTrust, doc(`{"Effect":"Allow","Principal":{"User":"bob"},"Action":"sts:AssumeRole"}`),
			`Invalid principal in policy: "User":"bob"`, "$.Statement[0].Principal.User"},
		"short account id": {KindTrust, doc(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"sts:AssumeRole"}`),
			`Invalid principal in policy: "AWS":"12345"`, "$.Statement[0].Principal.AWS"},
		"empty principal":      {KindTrust, doc(`{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}`), "Syntax errors in policy.", "$.Statement[0].Principal"},
		"no action":            {KindIdentity, doc(`{"Effect":"Allow","Resource":"*"}`), "Policy statement must contain actions.", "$.Statement[0]"},
		"empty action":         {KindIdentity, doc(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Policy statement must contain actions.", "$.Statement[0].Action"},
		"action not text":      {KindIdentity, doc(`{"Effect":"Allow","Action":["s3:*",7],"Resource":"*"}`), "Syntax errors in policy.", "$.Statement[0].Action[1]"},
		"action and notaction": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}`), "Syntax errors in policy.", "$.Statement[0].NotAction"},
		"action without vendor": {KindIdentity, doc(`{"Effect":"Allow","Action":["s3:GetObject","GetObject"],"Resource":"*"}`),
			"Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", "$.Statement[0].Action[1]"},
		"trust grants s3": {KindTrust, doc(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"s3:GetObject"}`),
			"AssumeRole policy may only specify STS AssumeRole actions.", "$.Statement[0].Action"},
		"no resource":              {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*"}`), "Policy statement must contain resources.", "$.Statement[0]"},
		"scp no resource":          {KindSCP, doc(`{"Effect":"Allow","Action":"*"}`), "Policy statement must contain resources.", "$.Statement[0]"},
		"empty resource":           {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":[]}`), "Policy statement must contain resources.", "$.Statement[0].Resource"},
		"resource and notresource": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}`), "Syntax errors in policy.", "$.Statement[0].NotResource"},
		"resource not an ARN": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"my-bucket"}`),
			`Resource my-bucket must be in ARN format or "*".`, "$.Statement[0].Resource"},
		"resource with too few segments": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":["*","arn:aws:s3:bucket"]}`),
			`Resource arn:aws:s3:bucket can not contain region information.`, "$.Statement[0].Resource[1]"},
		"unknown partition": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws1:s3:::b"}`),
			`Partition "aws1" is not valid for resource "arn:aws1:s3:::b".`, "$.Statement[0].Resource"},
		"trust with resource": {KindTrust, doc(`{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"*"}`),
			"Has prohibited field Resource", "$.Statement[0].Resource"},
		"condition not object": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":[]}`), "Syntax errors in policy.", "$.Statement[0].Condition"},
		"unknown operator": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"a"}}}`),
			"Syntax errors in policy.", "$.Statement[0].Condition.StringEqualz"},
		"operator in lower case": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"stringequals":{"aws:username":"a"}}}`),
			"Syntax errors in policy.", "$.Statement[0].Condition.stringequals"},
		"Null with a set operator": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAllValues:Null":{"aws:TagKeys":"true"}}}`),
			"Syntax errors in policy.", `$.Statement[0].Condition["ForAllValues:Null"]`},
		"NullIfExists": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"aws:TagKeys":"true"}}}`),
			"Syntax errors in policy.", "$.Statement[0].Condition.NullIfExists"},
		"operator block not object": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":"true"}}`), "Syntax errors in policy.", "$.Statement[0].Condition.Bool"},
		"condition value object": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}`),
			"Syntax errors in policy.", `$.Statement[0].Condition.StringEquals["aws:username"]`},
		"condition value null": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":["a",null]}}}`),
			"Syntax errors in policy.", `$.Statement[0].Condition.StringEquals["aws:username"][1]`},
		"trust action in bad case still sts": {KindTrust, doc(trustOK, `{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"STS:AssumeRoleWithWebIdentity"}`, `{"Effect":"Allow","Principal":"*","Action":"iam:PassRole"}`),
			"AssumeRole policy may only specify STS AssumeRole actions.", "$.Statement[2].Action"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), tc.kind)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse returned %v, want a *Error", err)
			}
			got := [3]string{e.Code, e.Message, e.Path}
			want := [3]string{CodeMalformedPolicyDocument, tc.message, tc.path}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fault (-want +got):\n%s", diff)
			}
			if e.Line == 0 {
				t.Errorf("no position for %s", e.Path)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := map[string]struct {
		kind Kind
		doc  string
	}{
		"statement as an object":    {KindIdentity, `{"Version":"2012-10-17","Statement":` + okStatement + `}`},
		"trust without version":     {KindTrust, `{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
		"version 2008-10-17 and Id": {KindResource, `{"Version":"2008-10-17","Id":"x y","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`},
		"lists everywhere": {KindIdentity, doc(`{"Sid":"A1","Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
			"Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b"]},"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}`)},
		"empty sids may repeat":                {KindIdentity, doc(`{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}`)},
		"wildcards and variables in resources": {KindIdentity, doc(`{"Effect":"Allow","Action":"s3:*","Resource":["arn:*:s3:::b/${aws:username}/*","arn:aws-cn:s3:::x","arn:aws:logs:*:*:*"]}`)},
		"trust policy of every principal type": {KindTrust, doc(`{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/p/a","arn:aws:iam::123456789012:role/r","arn:aws:sts::123456789012:assumed-role/r/s","arn:aws:sts::123456789012:federated-user/f","AIDAEXAMPLE000000001","*"],
			"Service":["ec2.amazonaws.com","lambda.amazonaws.com"],"Federated":["accounts.google.com","arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"]},
			"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"x"}}}`)},
		"resource policy without Resource and free Sids": {KindResource, doc(`{"Sid":"any text here","Effect":"Allow","Principal":"*","Action":"s3:GetObject"}`, `{"Sid":"any text here","Effect":"Deny","NotPrincipal":{"AWS":"123456789012","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`)},
		"scp with NotAction":                             {KindSCP, doc(`{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}`)},
		"every operator": {KindIdentity, doc(func() string {
			var conds []string
			for name := range operators {
				v := `"x"`
				if (operator{base: operators[name].base}).isDate() {
					v = `"2025-01-01"`
				}
				conds = append(conds, fmt.Sprintf(`%q:{"a:b":%s}`, name, v))
				if name != "Null" {
					conds = append(conds, fmt.Sprintf(`%q:{"a:b":%s}`, name+"IfExists", v), fmt.Sprintf(`%q:{"a:b":%s}`, "ForAllValues:"+name, v), fmt.Sprintf(`%q:{"a:b":%s}`, "ForAnyValue:"+name+"IfExists", v))
				}
			}
			return `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{` + strings.Join(conds, ",") + `}}`
		}())},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Parse([]byte(tc.doc), tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Statements()) == 0 || p.Kind() != tc.kind {
				t.Fatalf("parsed %d statements of kind %v", len(p.Statements()), p.Kind())
			}
			if faults := Validate([]byte(tc.doc), tc.kind); len(faults) != 0 {
				t.Fatalf("Validate disagrees: %v", faults)
			}
		})
	}
}

func TestParseStatementShape(t *testing.T) {
	src := "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"pid\",\n  \"Statement\": [\n    {\"Sid\": \"One\", \"Effect\": \"Deny\", \"NotAction\": \"iam:*\", \"Resource\": [\"arn:aws:s3:::a\", \"arn:aws:s3:::b\"],\n     \"Condition\": {\"NumericLessThan\": {\"s3:max-keys\": 10}, \"Bool\": {\"aws:SecureTransport\": [false, \"TRUE\"]}}}\n  ]\n}"
	p, err := Parse([]byte(src), KindIdentity, func(o *ParseOptions) { o.Name, o.ARN = "n", "arn:aws:iam::123456789012:policy/n" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{{
		Sid: "One", Effect: Deny, NotAction: []string{"iam:*"}, Resource: []string{"arn:aws:s3:::a", "arn:aws:s3:::b"},
		Condition: []Condition{
			{Operator: "NumericLessThan", Key: "s3:max-keys", Values: []string{"10"}},
			{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"false", "TRUE"}},
		},
		Path: "$.Statement[0]", Start: Position{5, 5}, End: Position{6, 109},
	}}
	if diff := cmp.Diff(want, p.Statements()); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	if p.ID() != "pid" || p.Version() != Version2012 || p.Name() != "n" || p.ARN() != "arn:aws:iam::123456789012:policy/n" {
		t.Errorf("policy attributes: %q %q %q %q", p.ID(), p.Version(), p.Name(), p.ARN())
	}
}

func TestValidateListsIAMsFaultThenTheRestInOrder(t *testing.T) {
	src := doc(`{"Sid":"a-b","Effect":"Permit","Action":"GetObject","Resource":"bucket"}`, `{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`)
	var got []string
	for _, e := range Validate([]byte(src), KindIdentity) {
		got = append(got, e.Path+": "+e.Message)
	}
	want := []string{
		"$.Statement[0].Effect: " + msgSyntax, // IAM's answer first
		"$.Statement[0].Sid: " + msgSidAlnum,
		"$.Statement[0].Action: " + msgVendor,
		`$.Statement[0].Resource: Resource bucket must be in ARN format or "*".`,
		"$.Statement[1].Principal: " + msgPrincipalForbidden,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
}

// sized returns an identity policy of exactly n characters that are not white
// space, padded with pad white space.
func sized(t *testing.T, n int, pad int) []byte {
	t.Helper()
	head := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::`
	tail := `"}}`
	fill := n - len(head) - len(tail)
	if fill < 1 {
		t.Fatalf("cannot build a document of %d characters", n)
	}
	return []byte(head + strings.Repeat("a", fill) + tail + strings.Repeat(" \n\t", pad))
}

func TestSizeLimits(t *testing.T) {
	tests := []struct {
		limit   Limit
		max     int
		entity  string
		code    string
		message string
		spaces  bool // white space counts
	}{
		{LimitManaged, 6144, "", CodeLimitExceeded, "Cannot exceed quota for PolicySize: 6144", false},
		{LimitInlineUser, 2048, "alice", CodeLimitExceeded, "Maximum policy size of 2048 bytes exceeded for user alice", false},
		{LimitInlineRole, 10240, "app", CodeLimitExceeded, "Maximum policy size of 10240 bytes exceeded for role app", false},
		{LimitInlineGroup, 5120, "devs", CodeLimitExceeded, "Maximum policy size of 5120 bytes exceeded for group devs", false},
		{LimitTrust, 2048, "", CodeLimitExceeded, "Cannot exceed quota for ACLSizePerRole: 2048", false},
		{LimitSession, 2048, "", CodeValidationError, "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048", true},
		{LimitSCP, 5120, "", CodeLimitExceeded, "The policy document exceeds the maximum size of 5120 characters for a service control policy.", true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.limit.Max(), tc.entity), func(t *testing.T) {
			opts := func(o *ParseOptions) { o.Limit, o.Entity = tc.limit, tc.entity }
			kind := KindIdentity
			if tc.limit == LimitTrust {
				kind = KindResource // a document with a Resource, checked for size only
			}
			if tc.limit.Max() != tc.max {
				t.Fatalf("Max() = %d, want %d", tc.limit.Max(), tc.max)
			}
			atLimit := sized(t, tc.max, 0)
			if tc.limit.Size(atLimit) != tc.max {
				t.Fatalf("Size = %d, want %d", tc.limit.Size(atLimit), tc.max)
			}
			if _, err := Parse(atLimit, KindIdentity, opts); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			padded := sized(t, tc.max, 100)
			_, err := Parse(padded, KindIdentity, opts)
			if tc.spaces != (err != nil) {
				t.Fatalf("at the limit with white space: %v (white space counts: %v)", err, tc.spaces)
			}
			_, err = Parse(sized(t, tc.max+1, 0), kind, opts)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("one over the limit: %v", err)
			}
			if e.Code != tc.code || e.Message != tc.message {
				t.Errorf("one over the limit: %s: %s, want %s: %s", e.Code, e.Message, tc.code, tc.message)
			}
		})
	}
	if _, err := Parse(sized(t, 20000, 0), KindIdentity); err != nil {
		t.Errorf("NoLimit refused a large document: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse([]byte("{\"Version\": \"2012-10-17\",\n\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\"}}"), KindIdentity)
	want := "MalformedPolicyDocument: Policy statement must contain resources. (at $.Statement, line 2 column 14)"
	if err == nil || err.Error() != want {
		t.Fatalf("Error() = %v, want %s", err, want)
	}
}

func TestKindNames(t *testing.T) {
	for k := KindIdentity; k <= KindSCP; k++ {
		got, err := ParseKind(strings.ToUpper(k.String()))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("inline"); err == nil {
		t.Error("ParseKind accepted an unknown kind")
	}
}
