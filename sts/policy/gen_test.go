package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// gen draws the choices of a generated case from fuzz input, or from a PRNG
// when src is set. Exhausted input draws zeros, so every input is a case.
type gen struct {
	data []byte
	src  *rand.Rand
}

func (g *gen) n(k int) int {
	if k <= 1 {
		return 0
	}
	if g.src != nil {
		return g.src.IntN(k)
	}
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return int(b) % k
}

func (g *gen) chance(percent int) bool { return g.n(100) < percent }

func (g *gen) pick(list ...string) string { return list[g.n(len(list))] }

func (g *gen) some(max int, list ...string) []string {
	n := 1 + g.n(max)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(list...)
	}
	return out
}

var (
	genActionPatterns = []string{"*", "s3:*", "s3:Get*", "s3:GetObject", "S3:GETOBJECT", "s3:?etObject", "iam:List*",
		"iam:*User*", "ec2:Describe*", "*:Get*", "s3*", "sts:AssumeRole", "logs:*", "s3:Put?bject", "s3:PutObject", "iam:GetUser",
		"kms:*", "iam:Delete*"}
	genActions = []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "iam:ListUsers", "iam:GetUser",
		"ec2:DescribeInstances", "sts:AssumeRole", "logs:PutLogEvents", "S3:getobject", "IAM:listUSERS",
		"kms:Decrypt", "iam:DeletePolicy", "IAM:DeleteRole"}
	genResourcePatterns = []string{"*", "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/${aws:username}/*",
		"arn:aws:s3:::*", "arn:aws:s3:::b*t/*", "arn:aws:logs:*:*:*", "arn:aws:logs:us-east-1:111122223333:log-group:app:*",
		"arn:aws:logs:*:*:log-group:ap*", "arn:aws:iam::*:role/*", "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}",
		"arn:aws:s3:::a*c", "arn:aws:s3:::a?b*", "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'none'}/*", "arn:aws:s3:::bucket/${*}",
		"arn:aws:*:*:111122223333:*", "arn:aws:ec2:*:*:instance/*", "arn:aws:s3:::bucket/*/file.txt", "arn:aws:s3:::*${aws:username}*",
		"arn:aws:s3:::a*:c", "arn:aws:logs:us-*:*:log-group:app*", "arn:aws:iam::111122223333:user/alice", "arn:aws:s3:::bucket/${aws:userid}", "arn:aws:s3:::bucket/${aws:username}/**", "arn:aws:s3:::bucket/${aws:username}${*}*",
		"arn:aws:s3:::bucket/${aws:username}?*", "arn:aws:s3:::${aws:PrincipalTag/team}", "arn:aws:kms:*:*:key/*",
		"arn:aws:iam::*:role/aws-service-role/*", "arn:aws:iam::aws:policy/*"}
	genResources = []string{"arn:aws:s3:::bucket", "arn:aws:s3:::bucket/alice/file.txt", "arn:aws:s3:::bucket/bob/x",
		"arn:aws:s3:::other/key", "arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:s1", "arn:aws:iam::111122223333:role/app",
		"arn:aws:iam::111122223333:user/alice", "*", "", "arn:aws:s3:::a:b:c", "arn:aws:s3:::abc", "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
		"arn:aws:s3:::bucket/none/x", "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/blue/y",
		"arn:aws:kms:us-east-1:111122223333:key/k1", "arn:aws:iam::aws:policy/AdministratorAccess",
		"arn:aws:iam::111122223333:role/aws-service-role/ec2.amazonaws.com/AWSServiceRoleForEC2"}
	genPrincipalEntries = []string{"*", "111122223333", "444455556666", "arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root",
		"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/dev/bob", "arn:aws:iam::111122223333:role/app",
		"arn:aws:sts::111122223333:assumed-role/app/s1", "arn:aws:sts::111122223333:federated-user/fed", "AIDAALICE00000000001",
		"AROAAPP0000000000001", "arn:aws:iam::444455556666:role/ext"}
	genKeys = []string{"aws:username", "aws:userid", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType",
		"aws:PrincipalTag/team", "aws:principaltag/TEAM", "aws:SourceIp", "aws:CurrentTime", "aws:EpochTime", "aws:SecureTransport",
		"aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge", "aws:TokenIssueTime", "aws:RequestedRegion", "aws:SourceIdentity",
		"aws:RequestTag/env", "aws:TagKeys", "aws:ResourceTag/owner", "aws:ResourceAccount", "aws:PrincipalIsAWSService",
		"aws:PrincipalServiceName", "s3:prefix", "s3:max-keys", "ec2:InstanceType", "aws:SourceArn", "custom:list", "custom:missing"}
	genOperators = []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
		"StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
		"NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
		"DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Null"}
	genValues = []string{"alice", "bob", "Alice", "a*", "*", "?lice", "${aws:username}", "home/${aws:username}/*", "true", "false", "TRUE",
		"10", "3600", "-1", "1.5", "2025-01-01T00:00:00Z", "2024-06-01", "1735689600", "2025-06-01T12:00:00.5Z", "10.0.0.0/8", "10.1.2.3",
		"192.0.2.0/24", "2001:db8::/32", "::1", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::*:role/*", "arn:aws:s3:::bucket/*",
		"arn:aws:s3:::bucket", "eu-west-1", "us-*", "dev", "prod", "env", "team", "Env", "YWJj", "111122223333", "User", "AssumedRole",
		"${aws:PrincipalTag/team}", "${aws:SourceIdentity, 'none'}", "${aws:CurrentTime}", "${aws:EpochTime}", "x${?}y", "",
		"blue", "red", "t3.*", "m5.large", "home/${aws:username}/**", "${aws:username}${*}*", "${aws:username}", "a", "b", "arn:aws:iam::111122223333:*", "${aws:PrincipalAccount}", "arn:*",
		"${custom:list}", "${aws:TagKeys, 'env'}", "arn:aws:iam::${aws:PrincipalAccount}:role/*", "${aws:PrincipalArn}"}
)

// genFit gives, for some keys, the operators and values that suit them, so
// that generated conditions often hold and their mistakes show.
var genFit = func() map[string]struct{ ops, values []string } {
	str := []string{"StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase"}
	arn := []string{"ArnEquals", "ArnLike", "ArnNotLike", "StringEquals", "StringLike"}
	num := []string{"NumericLessThan", "NumericGreaterThanEquals", "NumericEquals", "NumericNotEquals"}
	date := []string{"DateLessThan", "DateGreaterThan", "DateEquals", "DateNotEquals", "DateLessThanEquals"}
	boolean := []string{"Bool", "Null"}
	ip := []string{"IpAddress", "NotIpAddress"}
	m := map[string]struct{ ops, values []string }{
		"aws:username":               {str, []string{"alice", "bob", "mallory", "a*", "${aws:username}", "ALICE"}},
		"aws:userid":                 {str, []string{"AIDAALICE00000000001", "AROAAPP0000000000001:*", "*:fed", "111122223333"}},
		"aws:principalarn":           {arn, []string{"arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::*:role/*", "arn:aws:sts::111122223333:assumed-role/app/*", "${aws:PrincipalArn}", "arn:aws:iam::111122223333:*"}},
		"aws:principalaccount":       {str, []string{"111122223333", "444455556666", "${aws:ResourceAccount}"}},
		"aws:principaltype":          {str, []string{"User", "AssumedRole", "FederatedUser", "Account", "Anonymous"}},
		"aws:principaltag/team":      {str, []string{"blue", "red", "${aws:PrincipalTag/team}", "b*"}},
		"aws:sourceip":               {ip, []string{"10.0.0.0/8", "10.1.2.3", "192.0.2.0/24", "2001:db8::/32", "::ffff:10.0.0.0/104", "0.0.0.0/0"}},
		"aws:currenttime":            {date, []string{"2025-01-01T00:00:00Z", "2025-03-01", "1735689600", "2025-06-01T12:00:00.5Z", "2024-12-31T23:30:00-01:00"}},
		"aws:tokenissuetime":         {date, []string{"2025-01-01T00:00:00Z", "2025-03-01", "${aws:CurrentTime}"}},
		"aws:epochtime":              {num, []string{"1735689600", "1748779200", "2000000000"}},
		"aws:multifactorauthage":     {num, []string{"3600", "600", "0"}},
		"aws:securetransport":        {boolean, []string{"true", "false"}},
		"aws:multifactorauthpresent": {boolean, []string{"true", "false", "TRUE"}},
		"aws:requestedregion":        {str, []string{"eu-west-1", "us-*", "eu-*"}},
		"aws:requesttag/env":         {str, []string{"prod", "dev", "Prod"}},
		"aws:tagkeys":                {[]string{"ForAllValues:StringEquals", "ForAnyValue:StringEquals", "ForAllValues:StringLike", "ForAnyValue:StringNotEquals", "StringEquals"}, []string{"env", "team", "owner", "Env", "e*"}},
		"ec2:instancetype":           {[]string{"ForAllValues:StringLike", "ForAnyValue:StringEquals", "StringLike", "StringNotEquals"}, []string{"t3.*", "m5.large", "t3.micro"}},
		"custom:list":                {[]string{"ForAllValues:StringEquals", "ForAnyValue:StringEquals", "ForAllValues:StringNotEquals", "StringNotEquals"}, []string{"a", "b", "c", "d"}},
	}
	return m
}()

type genPrincipal struct {
	p    Principal
	name string
}

var genPrincipals = []genPrincipal{
	{Principal{Type: PrincipalUser, ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333", UserID: "AIDAALICE00000000001", Username: "alice"}, "alice"},
	{Principal{Type: PrincipalUser, ARN: "arn:aws:iam::111122223333:user/dev/bob", Account: "111122223333", UserID: "AIDABOB0000000000002", Username: "bob"}, "bob"},
	{Principal{Type: PrincipalAssumedRole, ARN: "arn:aws:sts::111122223333:assumed-role/app/s1", RoleARN: "arn:aws:iam::111122223333:role/app",
		Account: "111122223333", UserID: "AROAAPP0000000000001:s1"}, "session"},
	{Principal{Type: PrincipalAssumedRole, ARN: "arn:aws:sts::444455556666:assumed-role/ext/x", RoleARN: "arn:aws:iam::444455556666:role/ext",
		Account: "444455556666", UserID: "AROAEXT0000000000009:x"}, "external session"},
	{Principal{Type: PrincipalFederatedUser, ARN: "arn:aws:sts::111122223333:federated-user/fed", Account: "111122223333", UserID: "111122223333:fed"}, "federated user"},
	{Principal{Type: PrincipalRoot, ARN: "arn:aws:iam::111122223333:root", Account: "111122223333", UserID: "111122223333"}, "root"},
	{Principal{Type: PrincipalService, ARN: "ec2.amazonaws.com"}, "service"},
	{Principal{Type: PrincipalFederated, ARN: "accounts.google.com"}, "web identity"},
	{Principal{Type: PrincipalAnonymous}, "anonymous"},
}

// statement builds one statement as a JSON-ready map.
func (g *gen) statement(kind Kind) map[string]any {
	trust := kind == KindTrust
	resourcePolicy := trust || kind == KindResource
	s := map[string]any{"Effect": g.pick("Allow", "Allow", "Deny")}
	if g.chance(10) {
		s["Sid"] = fmt.Sprintf("S%d", g.n(1000))
	}
	key := "Action"
	if g.chance(20) {
		key = "NotAction"
	}
	s[key] = g.some(3, genActionPatterns...)
	switch {
	case trust:
		s[key] = g.some(2, "sts:AssumeRole", "sts:TagSession", "sts:AssumeRole*", "STS:assumerole")
	case resourcePolicy && g.chance(30):
	case g.chance(20):
		s["NotResource"] = g.some(2, genResourcePatterns...)
	default:
		s["Resource"] = g.some(3, genResourcePatterns...)
	}
	if resourcePolicy {
		var pr any
		switch g.n(4) {
		case 0:
			pr = "*"
		case 1:
			pr = map[string]any{"Service": g.pick("ec2.amazonaws.com", "lambda.amazonaws.com")}
		case 2:
			pr = map[string]any{"Federated": "accounts.google.com", "AWS": g.some(2, genPrincipalEntries...)}
		default:
			pr = map[string]any{"AWS": g.some(3, genPrincipalEntries...)}
		}
		if g.chance(20) {
			s["NotPrincipal"] = pr
		} else {
			s["Principal"] = pr
		}
	}
	if n := g.n(3); n > 0 && g.chance(50) {
		cond := map[string]map[string]any{}
		for i := 0; i < n; i++ {
			key := g.pick(genKeys...)
			fit, fitting := genFit[strings.ToLower(key)]
			op := g.pick(genOperators...)
			if fitting && g.chance(60) {
				op = g.pick(fit.ops...)
			}
			if op != "Null" {
				if g.chance(20) {
					op += "IfExists"
				}
				switch g.n(5) {
				case 0:
					op = "ForAllValues:" + op
				case 1:
					op = "ForAnyValue:" + op
				}
			}
			if cond[op] == nil {
				cond[op] = map[string]any{}
			}
			vals := g.some(3, genValues...)
			if fitting && g.chance(70) {
				vals = g.some(3, fit.values...)
			}
			if len(vals) == 1 {
				cond[op][key] = vals[0]
			} else {
				cond[op][key] = vals
			}
		}
		s["Condition"] = cond
	}
	return s
}

func (g *gen) policy(t testing.TB, name string, kind Kind) *Policy {
	doc := map[string]any{}
	if g.chance(90) {
		doc["Version"] = Version2012
	}
	var stmts []any
	for i := 0; i < 1+g.n(4); i++ {
		stmts = append(stmts, g.statement(kind))
	}
	doc["Statement"] = stmts
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data, kind, func(o *ParseOptions) { o.Name = name })
	if err != nil {
		// Sids may repeat; such documents are simply not cases.
		return nil
	}
	return p
}

func (g *gen) set(t testing.TB) *Set {
	s := &Set{}
	for i := 0; i < g.n(4); i++ {
		if p := g.policy(t, fmt.Sprintf("id%d", i), KindIdentity); p != nil {
			s.Identity = append(s.Identity, p)
		}
	}
	if g.chance(25) {
		s.Boundary = g.policy(t, "boundary", KindIdentity)
	}
	if g.chance(25) {
		for i := 0; i < 1+g.n(2); i++ {
			if p := g.policy(t, fmt.Sprintf("session%d", i), KindIdentity); p != nil {
				s.Session = append(s.Session, p)
			}
		}
	}
	if g.chance(40) {
		kind := KindResource
		if g.chance(30) {
			kind = KindTrust
		}
		if p := g.policy(t, "resource", kind); p != nil {
			s.Resource = append(s.Resource, p)
		}
	}
	if g.chance(15) {
		for l := 0; l < 1+g.n(2); l++ {
			var level []*Policy
			for i := 0; i < 1+g.n(2); i++ {
				if p := g.policy(t, fmt.Sprintf("scp%d.%d", l, i), KindSCP); p != nil {
					level = append(level, p)
				}
			}
			s.SCP = append(s.SCP, level)
		}
	}
	return s
}

func (g *gen) request() *Request {
	r := &Request{Principal: genPrincipals[g.n(len(genPrincipals))].p}
	if g.chance(40) {
		r.Principal.Tags = [][]Tag{{{"team", "blue"}}, {{"Team", "red"}}, {{"team", "blue"}, {"TEAM", "green"}}}[g.n(3)]
	}
	r.Action = g.pick(genActions...)
	r.Resource.ARN = g.pick(genResources...)
	r.Resource.Account = g.pick("", "", "111122223333", "444455556666")
	if g.chance(30) {
		r.Resource.Tags = []Tag{{"owner", g.pick("alice", "bob")}}
	}
	c := &r.Context
	times := []time.Time{{}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 12, 0, 0, 5e8, time.UTC),
		time.Date(2023, 12, 31, 23, 0, 0, 0, time.FixedZone("x", 3600))}
	c.CurrentTime = times[g.n(len(times))]
	if ip := g.pick("", "10.1.2.3", "192.0.2.7", "2001:db8::1", "::ffff:10.9.9.9", "203.0.113.5"); ip != "" {
		c.SourceIP = netip.MustParseAddr(ip)
	}
	c.SecureTransport = Bool(g.n(3))
	c.MultiFactorAuthPresent = Bool(g.n(3))
	if g.chance(30) {
		c.MultiFactorAuthTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(g.n(7200)) * time.Second)
	}
	c.TokenIssueTime = times[g.n(len(times))]
	c.RequestedRegion = g.pick("", "eu-west-1", "us-east-1")
	c.SourceIdentity = g.pick("", "alice", "none")
	if g.chance(40) {
		c.RequestTags = [][]Tag{{{"env", "prod"}}, {{"Env", "dev"}, {"team", "blue"}}, {{"env", "dev"}, {"owner", "a"}}}[g.n(3)]
	}
	extras := []ContextKey{
		{"s3:prefix", []string{"home/alice/x"}}, {"s3:max-keys", []string{"10"}}, {"ec2:InstanceType", []string{"t3.micro", "m5.large"}},
		{"aws:SourceArn", []string{"arn:aws:s3:::bucket"}}, {"custom:list", []string{"a", "b", "c"}}, {"aws:username", []string{"mallory"}},
		{"aws:PrincipalTag/team", []string{"red"}}, {"custom:list", nil}, {"AWS:SourceIP", []string{"10.0.0.1"}},
		{"aws:CurrentTime", []string{"2030-01-01T00:00:00Z"}}, {"custom:list", []string{"a", "a"}},
	}
	for i := 0; i < g.n(4); i++ {
		c.Keys = append(c.Keys, extras[g.n(len(extras))])
	}
	return r
}

// sameAsReference asserts the compiled engine decides r exactly as the reference.
func sameAsReference(t testing.TB, set *Set, r *Request) {
	t.Helper()
	d := set.Decide(r, nil)
	want := refDecide(set, r)
	var got []string
	for _, m := range d.Statements {
		got = append(got, refMatch{m.Layer, m.Policy, m.Statement}.String())
	}
	sort.Strings(got)
	if d.Result != want.result || d.Reason != want.reason || strings.Join(got, " ") != strings.Join(want.matches, " ") {
		t.Fatalf("engine: %v (%v) %v\nreference: %v (%v) %v\n%s", d.Result, d.Reason, got, want.result, want.reason, want.matches, describe(set, r))
	}
	if again := set.Decide(r, nil); again.Result != d.Result || again.Reason != d.Reason || len(again.Statements) != len(d.Statements) {
		t.Fatalf("not deterministic: %v then %v", d, again)
	}
}

func describe(set *Set, r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "request: %+v\n", *r)
	show := func(label string, p *Policy) {
		if p == nil {
			return
		}
		data, _ := json.Marshal(p.Statements())
		fmt.Fprintf(&b, "%s %s (version %q): %s\n", label, p.Name(), p.Version(), data)
	}
	for _, p := range set.Identity {
		show("identity", p)
	}
	show("boundary", set.Boundary)
	for _, p := range set.Session {
		show("session", p)
	}
	for _, p := range set.Resource {
		show("resource", p)
	}
	for _, l := range set.SCP {
		for _, p := range l {
			show("scp", p)
		}
	}
	return b.String()
}

// TestDifferential runs generated policy sets and requests through both
// evaluators (FuzzDifferential explores further).
func TestDifferential(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 400
	}
	for i := 0; i < n; i++ {
		g := &gen{src: rand.New(rand.NewPCG(7, uint64(i)))}
		set := g.set(t)
		for k := 0; k < 5; k++ {
			sameAsReference(t, set, g.request())
		}
	}
}

func FuzzDifferential(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("policy set and request"))
	f.Add([]byte{3, 1, 0, 2, 9, 4, 1, 0, 0, 0, 7, 200, 13, 77, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	for i := 0; i < 8; i++ {
		r := rand.New(rand.NewPCG(11, uint64(i)))
		b := make([]byte, 200)
		for k := range b {
			b[k] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		set := g.set(t)
		sameAsReference(t, set, g.request())
	})
}
