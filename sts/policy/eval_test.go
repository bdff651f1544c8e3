package policy

import (
	"net/netip"
	"testing"
	"time"
)

func mustParse(t testing.TB, kind Kind, name, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), kind, func(o *ParseOptions) { o.Name = name })
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// TestSurprisingRules pins the rules of AWS's documentation that most often
// surprise policy authors.
func TestSurprisingRules(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		req    Request
		want   Result
	}{
		{"ForAllValues with the key missing allows (vacuous truth)",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}}}`,
			Request{Principal: alice, Action: "ec2:CreateTags", Resource: Resource{ARN: "*"}}, Allowed},
		{"ForAnyValue with the key missing does not",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}}}`,
			Request{Principal: alice, Action: "ec2:CreateTags", Resource: Resource{ARN: "*"}}, ImplicitlyDenied},
		{"NotAction with Allow grants every other action",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`,
			Request{Principal: alice, Action: "organizations:LeaveOrganization", Resource: Resource{ARN: "*"}}, Allowed},
		{"Null true means the key is absent",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceIdentity":"true"}}}}`,
			Request{Principal: alice, Action: "s3:ListBucket"}, Allowed},
		{"Null true fails when the key is present",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceIdentity":"true"}}}}`,
			Request{Principal: alice, Action: "s3:ListBucket", Context: Context{SourceIdentity: "x"}}, ImplicitlyDenied},
		{"condition key names are case-insensitive",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:REQUESTEDREGION":"eu-west-1"}}}}`,
			Request{Principal: alice, Action: "s3:ListBucket", Context: Context{RequestedRegion: "eu-west-1"}}, Allowed},
		{"condition values are case-sensitive",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"EU-WEST-1"}}}}`,
			Request{Principal: alice, Action: "s3:ListBucket", Context: Context{RequestedRegion: "eu-west-1"}}, ImplicitlyDenied},
		{"negated operators are true when the key is missing",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}}`,
			Request{Principal: alice, Action: "iam:ListUsers"}, Allowed},
		{"'*' in a resource spans '/'",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`,
			Request{Principal: alice, Action: "s3:GetObject", Resource: Resource{ARN: "arn:aws:s3:::b/x/y/z"}}, Allowed},
		{"arn:aws:logs:*:*:* covers log streams (a '*' ending a segment matches beyond the colons)",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:*"}}`,
			Request{Principal: alice, Action: "logs:PutLogEvents", Resource: Resource{ARN: "arn:aws:logs:eu-west-1:111122223333:log-group:g:log-stream:s"}}, Allowed},
		{"a '*' inside a segment does not cross a colon",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-west-1:111122223333:log-group:g*s"}}`,
			Request{Principal: alice, Action: "logs:PutLogEvents", Resource: Resource{ARN: "arn:aws:logs:eu-west-1:111122223333:log-group:g:log-stream:s"}}, ImplicitlyDenied},
		{"an explicit deny beats any number of allows",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"},{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"*"}]}`,
			Request{Principal: alice, Action: "s3:DeleteObject", Resource: Resource{ARN: "arn:aws:s3:::b/k"}}, ExplicitlyDenied},
		{"an unresolvable variable makes the statement not match",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}*"}}`,
			Request{Principal: appSession, Action: "s3:GetObject", Resource: Resource{ARN: "arn:aws:s3:::home/x"}}, ImplicitlyDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := &Set{Identity: []*Policy{mustParse(t, KindIdentity, "p", tc.policy)}}
			if d := set.Evaluate(&tc.req); d.Result != tc.want {
				t.Errorf("%v (%v), want %v", d.Result, d.Reason, tc.want)
			}
			if ref := refDecide(set, &tc.req); ref.result != tc.want {
				t.Errorf("reference: %v, want %v", ref.result, tc.want)
			}
		})
	}
}

func TestDecideAppendsToBuffer(t *testing.T) {
	set, req := smallFixture(t)
	buf := make([]Match, 1, 8)
	buf[0] = Match{Policy: set.Identity[2], Statement: 0, Layer: LayerSession}
	d := set.Decide(req, buf)
	if d.Result != Allowed || len(d.Statements) != 2 {
		t.Fatalf("got %v with %v", d.Result, d.Statements)
	}
	if d.Statements[0] != buf[0] || d.Statements[1].String() != "b:Home" || &d.Statements[0] != &buf[0] {
		t.Errorf("statements %v: want the caller's entry kept and b:Home appended in place", d.Statements)
	}
	m := d.Statements[1]
	if m.Sid() != "Home" || m.Effect() != Allow || m.Layer != LayerIdentity || m.Policy.Name() != "b" {
		t.Errorf("match %+v", m)
	}
}

func TestDecideAllocatesNothing(t *testing.T) {
	set, base := smallFixture(t)
	requests := map[string]func(r *Request){
		"allowed with a variable": func(r *Request) {},
		"capital letters in the action": func(r *Request) {
			r.Action = "S3:PUTOBJECT"
		},
		"explicit deny from an IP condition": func(r *Request) {
			r.Context.SourceIP = netip.MustParseAddr("198.51.100.1")
		},
		"implicit deny": func(r *Request) {
			r.Action = "kms:Decrypt"
		},
		"role session with tags and extra keys": func(r *Request) {
			r.Principal = appSession
			r.Principal.Tags = []Tag{{"team", "blue"}}
			r.Context.Keys = []ContextKey{{"s3:prefix", []string{"home/"}}}
		},
	}
	var buf [16]Match
	for name, mutate := range requests {
		req := *base
		mutate(&req)
		if n := testing.AllocsPerRun(200, func() { set.Decide(&req, buf[:0]) }); n != 0 {
			t.Errorf("%s: %v allocations per decision", name, n)
		}
	}
	// Typed keys read as text, templates in typed operators: not the
	// common path, but they must still be right.
	p := mustParse(t, KindIdentity, "typed", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
		"StringLike":{"aws:CurrentTime":"2025-*"},"DateGreaterThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}}}`)
	req := Request{Principal: alice, Action: "s3:ListBucket", Context: Context{CurrentTime: t2025, TokenIssueTime: t2025.Add(-time.Hour)}}
	if d := (&Set{Identity: []*Policy{p}}).Decide(&req, buf[:0]); d.Result != Allowed {
		t.Errorf("typed keys: %v", d.Result)
	}
}

func TestResultWords(t *testing.T) {
	for r, want := range map[Result][2]string{
		Allowed:          {"Allowed", "allowed"},
		ExplicitlyDenied: {"ExplicitlyDenied", "explicitDeny"},
		ImplicitlyDenied: {"ImplicitlyDenied", "implicitDeny"},
	} {
		if r.String() != want[0] || r.EvalDecision() != want[1] {
			t.Errorf("%d: %q %q, want %q", r, r.String(), r.EvalDecision(), want)
		}
	}
	var zero Decision
	if zero.Result != ImplicitlyDenied {
		t.Error("the zero Decision must deny")
	}
	for r := ReasonNone + 1; r <= ReasonFederatedNoSessionPolicy; r++ {
		if r.String() == "" {
			t.Errorf("reason %d has no text", r)
		}
	}
}

func TestPrincipalKeysByType(t *testing.T) {
	tests := []struct {
		p          Principal
		arn, ptype string
	}{
		{alice, "arn:aws:iam::111122223333:user/alice", "User"},
		{appSession, "arn:aws:iam::111122223333:role/svc/app", "AssumedRole"},
		{Principal{Type: PrincipalFederatedUser, ARN: "arn:aws:sts::111122223333:federated-user/f", Account: "111122223333"}, "arn:aws:sts::111122223333:federated-user/f", "FederatedUser"},
		{Principal{Type: PrincipalRoot, ARN: "arn:aws:iam::111122223333:root", Account: "111122223333"}, "arn:aws:iam::111122223333:root", "Account"},
		{Principal{Type: PrincipalAnonymous}, "", "Anonymous"},
		{Principal{Type: PrincipalService, ARN: "ec2.amazonaws.com"}, "", ""},
	}
	for _, tc := range tests {
		r := &Request{Principal: tc.p}
		arn := newKeyRef("aws:PrincipalArn")
		typ := newKeyRef("aws:principaltype")
		a, ty := r.lookup(&arn), r.lookup(&typ)
		if a.s != tc.arn || ty.s != tc.ptype {
			t.Errorf("%v: aws:PrincipalArn %q aws:PrincipalType %q, want %q %q", tc.p.Type, a.s, ty.s, tc.arn, tc.ptype)
		}
	}
}

func TestResourceSlotFailsClosed(t *testing.T) {
	identity := mustParse(t, KindIdentity, "identity", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
	set := &Set{Resource: []*Policy{identity, nil}, Identity: []*Policy{nil}, Session: []*Policy{nil}, SCP: [][]*Policy{{nil, mustParse(t, KindSCP, "scp", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)}}}
	r := Request{Principal: alice, Action: "s3:GetObject", Resource: Resource{ARN: "arn:aws:s3:::b/k"}}
	d := set.Evaluate(&r)
	if d.Result != ImplicitlyDenied || d.Reason != ReasonNoIdentityAllow {
		t.Errorf("an identity policy in the resource slot decided %v (%v)", d.Result, d.Reason)
	}
}
