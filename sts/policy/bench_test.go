package policy

import (
	"net/netip"
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
