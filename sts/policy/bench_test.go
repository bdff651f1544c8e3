package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// smallSet is BenchmarkDecideSmall's principal: 3 policies, 10 statements,
// a few conditions and a policy variable.
var smallDocs = []string{
	`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::data-bucket","arn:aws:s3:::data-bucket/*"]},
	  {"Sid":"Describe","Effect":"Allow","Action":["ec2:Describe*","cloudwatch:Get*","cloudwatch:List*"],"Resource":"*"},
	  {"Sid":"NoDelete","Effect":"Deny","Action":["s3:DeleteBucket","s3:DeleteBucketPolicy"],"Resource":"*"},
	  {"Sid":"IAMRead","Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Home","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::data-bucket/home/${aws:username}/*","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}},
	  {"Sid":"TLS","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
	  {"Sid":"Logs","Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:*:*:*"}]}`,
	`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Assume","Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/app-*"},
	  {"Sid":"Office","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}},
	  {"Sid":"Table","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:*:123456789012:table/orders"}]}`,
}

func smallFixture(tb testing.TB) (*Set, *Request) {
	tb.Helper()
	set := &Set{}
	for i, d := range smallDocs {
		p, err := Parse([]byte(d), KindIdentity, func(o *ParseOptions) { o.Name = []string{"a", "b", "c"}[i] })
		if err != nil {
			tb.Fatal(err)
		}
		set.Identity = append(set.Identity, p)
	}
	req := &Request{
		Principal: Principal{Type: PrincipalUser, ARN: "arn:aws:iam::123456789012:user/alice", Account: "123456789012",
			UserID: "AIDAEXAMPLEALICE0001", Username: "alice"},
		Action:   "s3:PutObject",
		Resource: Resource{ARN: "arn:aws:s3:::data-bucket/home/alice/report.csv"},
		Context: Context{
			CurrentTime:     time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
			SourceIP:        netip.MustParseAddr("10.1.2.3"),
			SecureTransport: BoolTrue,
			RequestedRegion: "eu-west-1",
		},
	}
	return set, req
}

func BenchmarkDecideSmall(b *testing.B) {
	set, req := smallFixture(b)
	var buf [16]Match
	if d := set.Decide(req, buf[:0]); d.Result != Allowed {
		b.Fatalf("fixture decides %v (%v)", d.Result, d.Reason)
	}
	b.ReportAllocs()
	for b.Loop() {
		set.Decide(req, buf[:0])
	}
}

// BenchmarkSimulateSmall is the simulator's decision (policy.Simulate, as the
// CLI and IAM's SimulatePrincipalPolicy make it) on DecideSmall's principal and
// request: compare with BenchmarkDecideSmall in the same run for what listing
// the deciding statements costs.
func BenchmarkSimulateSmall(b *testing.B) {
	set, req := smallFixture(b)
	var buf [16]Match
	if s := Simulate(set, req, buf[:0]); s.Decision.Result != Allowed || len(s.Matched) == 0 {
		b.Fatalf("fixture simulates %+v", s)
	}
	b.ReportAllocs()
	for b.Loop() {
		Simulate(set, req, buf[:0])
	}
}

// BenchmarkReferenceSmall is DecideSmall's same-run baseline: the reference
// evaluator (no compilation) on the same principal and request.
func BenchmarkReferenceSmall(b *testing.B) {
	set, req := smallFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		refDecide(set, req)
	}
}

// largeAccount is BenchmarkDecideLarge's account: 500 roles, 2,000 policies
// (1,500 customer managed, shared, and one inline policy per role) of 10
// statements each: 20,000 statements.
type largeAccount struct {
	roles    []*Set
	sessions []Principal
	policies int
	stmts    int
}

var (
	largeServices = []string{"s3", "ec2", "iam", "logs", "dynamodb", "sqs", "sns", "lambda", "kms", "secretsmanager",
		"ssm", "cloudwatch", "ecr", "ecs", "rds", "kinesis", "glue", "athena", "route53", "elasticloadbalancing"}
	largeVerbs   = []string{"Get", "List", "Describe", "Put", "Create", "Delete", "Update", "Tag"}
	largeNouns   = []string{"Object", "Bucket", "Instance", "Table", "Queue", "Topic", "Function", "Key", "Secret", "Parameter", "Item", "Stream"}
	largeRegions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}
	largeTeams   = []string{"blue", "red", "green", "ops"}
)

// regional returns svc, or ec2 for the services whose ARNs IAM refuses with a
// region (IAM; S3 buckets and objects).
func regional(svc string) string {
	if svc == "s3" || svc == "iam" {
		return "ec2"
	}
	return svc
}

func largeStatement(rnd *rand.Rand, i int) string {
	svc := largeServices[rnd.IntN(len(largeServices))]
	var actions []string
	for k := 0; k < 1+rnd.IntN(6); k++ {
		verb := largeVerbs[rnd.IntN(len(largeVerbs))]
		switch rnd.IntN(4) {
		case 0:
			actions = append(actions, fmt.Sprintf("%q", svc+":"+verb+"*"))
		case 1:
			actions = append(actions, fmt.Sprintf("%q", svc+":*"))
		default:
			actions = append(actions, fmt.Sprintf("%q", svc+":"+verb+largeNouns[rnd.IntN(len(largeNouns))]))
		}
	}
	var resources []string
	for k := 0; k < 1+rnd.IntN(3); k++ {
		switch rnd.IntN(5) {
		case 0:
			resources = append(resources, `"*"`)
		case 1:
			resources = append(resources, fmt.Sprintf(`"arn:aws:%s:*:111122223333:%s/team-%s-*"`, regional(svc), strings.ToLower(largeNouns[rnd.IntN(len(largeNouns))]), largeTeams[rnd.IntN(4)]))
		case 2:
			resources = append(resources, fmt.Sprintf(`"arn:aws:s3:::bucket-%d/home/${aws:PrincipalTag/team}/*"`, rnd.IntN(50)))
		default:
			resources = append(resources, fmt.Sprintf(`"arn:aws:%s:%s:111122223333:%s/res-%d"`, regional(svc), largeRegions[rnd.IntN(3)], strings.ToLower(largeNouns[rnd.IntN(len(largeNouns))]), rnd.IntN(1000)))
		}
	}
	cond := ""
	switch rnd.IntN(10) {
	case 0:
		cond = fmt.Sprintf(`,"Condition":{"StringEquals":{"aws:RequestedRegion":[%q,%q]}}`, largeRegions[rnd.IntN(3)], largeRegions[rnd.IntN(3)])
	case 1:
		cond = `,"Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"},"Bool":{"aws:SecureTransport":"true"}}`
	case 2:
		cond = `,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}`
	}
	effect := "Allow"
	if rnd.IntN(10) == 0 {
		effect = "Deny"
	}
	return fmt.Sprintf(`{"Sid":"S%d","Effect":%q,"Action":[%s],"Resource":[%s]%s}`, i, effect, strings.Join(actions, ","), strings.Join(resources, ","), cond)
}

func largePolicy(tb testing.TB, rnd *rand.Rand, name string) *Policy {
	var stmts []string
	for i := 0; i < 10; i++ {
		stmts = append(stmts, largeStatement(rnd, i))
	}
	return mustParse(tb, KindIdentity, name, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`)
}

func buildLargeAccount(tb testing.TB) *largeAccount {
	rnd := rand.New(rand.NewPCG(2025, 500))
	a := &largeAccount{}
	managed := make([]*Policy, 1500)
	for i := range managed {
		managed[i] = largePolicy(tb, rnd, fmt.Sprintf("managed-%d", i))
	}
	a.policies = len(managed)
	for r := 0; r < 500; r++ {
		set := &Set{}
		for k := 0; k < 4+rnd.IntN(6); k++ {
			set.Identity = append(set.Identity, managed[rnd.IntN(len(managed))])
		}
		set.Identity = append(set.Identity, largePolicy(tb, rnd, fmt.Sprintf("inline-%d", r)))
		a.policies++
		if r%5 == 0 {
			set.Boundary = managed[rnd.IntN(len(managed))]
		}
		a.roles = append(a.roles, set)
		a.sessions = append(a.sessions, Principal{Type: PrincipalAssumedRole, Account: "111122223333",
			ARN:     fmt.Sprintf("arn:aws:sts::111122223333:assumed-role/role-%d/session", r),
			RoleARN: fmt.Sprintf("arn:aws:iam::111122223333:role/role-%d", r), UserID: fmt.Sprintf("AROAROLE%012d:session", r),
			Tags: []Tag{{"team", largeTeams[r%4]}}})
	}
	a.stmts = a.policies * 10
	return a
}

func (a *largeAccount) requests(n int) []Request {
	rnd := rand.New(rand.NewPCG(1, 2))
	out := make([]Request, n)
	for i := range out {
		svc := largeServices[rnd.IntN(len(largeServices))]
		noun := largeNouns[rnd.IntN(len(largeNouns))]
		out[i] = Request{
			Principal: a.sessions[rnd.IntN(len(a.sessions))],
			Action:    svc + ":" + largeVerbs[rnd.IntN(len(largeVerbs))] + noun,
			Resource: Resource{ARN: fmt.Sprintf("arn:aws:%s:%s:111122223333:%s/team-%s-%d", svc, largeRegions[rnd.IntN(3)], strings.ToLower(noun), largeTeams[rnd.IntN(4)], rnd.IntN(9)),
				Tags: []Tag{{"team", largeTeams[rnd.IntN(4)]}}},
			Context: Context{CurrentTime: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), SourceIP: netip.MustParseAddr("10.2.3.4"),
				SecureTransport: BoolTrue, RequestedRegion: largeRegions[rnd.IntN(3)]},
		}
	}
	return out
}

func (a *largeAccount) roleOf(r *Request) *Set {
	var n int
	fmt.Sscanf(r.Principal.RoleARN, "arn:aws:iam::111122223333:role/role-%d", &n)
	return a.roles[n]
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkDecideLarge decides for one role of a large account per
// operation, and reports the p50/p99 latency of single decisions and the heap
// the compiled account takes.
func BenchmarkDecideLarge(b *testing.B) {
	before := heapInUse()
	acct := buildLargeAccount(b)
	heap := heapInUse() - before
	reqs := acct.requests(4096)
	sets := make([]*Set, len(reqs))
	for i := range reqs {
		sets[i] = acct.roleOf(&reqs[i])
	}
	var buf [32]Match
	results := map[Result]int{}
	for i := range reqs {
		results[sets[i].Decide(&reqs[i], buf[:0]).Result]++
	}
	if results[Allowed] == 0 || results[ImplicitlyDenied] == 0 {
		b.Fatalf("the workload decides %v: not a useful mix", results)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(reqs)
		sets[k].Decide(&reqs[k], buf[:0])
		i++
	}
	b.StopTimer()
	// Latency of single decisions, timed one by one.
	lat := make([]time.Duration, 0, 20000)
	for n := 0; n < 20000; n++ {
		k := n % len(reqs)
		start := time.Now()
		sets[k].Decide(&reqs[k], buf[:0])
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	runtime.KeepAlive(acct)
}

// BenchmarkReferenceLarge is DecideLarge's same-run baseline: the reference
// evaluator on the same roles and requests.
func BenchmarkReferenceLarge(b *testing.B) {
	acct := buildLargeAccount(b)
	reqs := acct.requests(256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(reqs)
		refDecide(acct.roleOf(&reqs[k]), &reqs[k])
		i++
	}
}

// TestLargeAccountFits checks the memory budget for the compiled
// account (200 MB), and its shape.
func TestLargeAccountFits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 2,000 policies")
	}
	before := heapInUse()
	acct := buildLargeAccount(t)
	heap := heapInUse() - before
	if acct.policies != 2000 || acct.stmts != 20000 || len(acct.roles) != 500 {
		t.Fatalf("account of %d roles, %d policies, %d statements", len(acct.roles), acct.policies, acct.stmts)
	}
	if heap > 200<<20 {
		t.Errorf("compiled account takes %d MB, budget 200 MB", heap>>20)
	}
	t.Logf("compiled account: %.1f MB", float64(heap)/(1<<20))
	runtime.KeepAlive(acct)
}

// BenchmarkBuiltinCatalogStart is what a process pays for the AWS managed policies at
// start (BuiltinCatalog: nothing is decoded yet). Compare with main's, which compiled
// its ten policies there.
func BenchmarkBuiltinCatalogStart(b *testing.B) {
	benchRetained(b, func() any {
		c, err := BuiltinCatalog()
		if err != nil {
			b.Fatal(err)
		}
		return c
	})
}

// BenchmarkBuiltinCatalogFirstUse is what the first Lookup pays, once per process:
// decoding the embedded catalog (every AWS managed policy) and compiling the policy
// looked up (AdministratorAccess, which the dev account attaches).
func BenchmarkBuiltinCatalogFirstUse(b *testing.B) {
	benchRetained(b, func() any {
		all, err := loadBuiltin()
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range all {
			if m.Name == "AdministratorAccess" {
				if err := m.compile(); err != nil {
					b.Fatal(err)
				}
			}
		}
		return all
	})
}

// benchRetained runs fn b.N times and reports, as retained-B, the heap that the
// last result keeps after a collection.
func benchRetained(b *testing.B, fn func() any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var keep any
	for i := 0; i < b.N; i++ {
		keep = fn()
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "retained-B")
	runtime.KeepAlive(keep)
}
