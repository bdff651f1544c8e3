package rolesanywhere_test

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credbroker/credbroker/broker/x509cred"
	"github.com/credbroker/credbroker/internal/x509test"
	"github.com/credbroker/credbroker/sts/internal/coretest"
)

// BenchmarkCreateSession measures CreateSession through the core over loopback
// (signature check with the certificate's key, chain verify to the anchor, CRL list,
// profile, trust policy with principal tags, mint) next to AssumeRole through the
// same core (SigV4 HMAC, trust and identity policies, mint) and next to the
// yardstick: a trivial handler that answers CreateSession's bytes, served and called
// the same way, one request at a time over a keep-alive connection. It reports each
// case's median latency (µs) and the throughput ratios CASE/yardstick (target ≥ 0.2)
// and CASE/AssumeRole:
//
//	go test -run '^$' -bench CreateSession -benchtime 3000x ./sts/rolesanywhere/
func BenchmarkCreateSession(b *testing.B) {
	f := newFixture(b)
	root := x509test.NewCA(b, "Bench Root", x509test.RSA)
	inter := root.Issue(b, x509test.Template{CommonName: "Bench Issuing", CA: true, KeyType: x509test.RSA})
	roleARN := f.role("bench", `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],
 "Condition":{"StringEquals":{"aws:PrincipalTag/x509Issuer/CN":"Bench Issuing"}}},
{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)
	anchorARN := f.anchor("bench", root.PEM())
	profileARN := f.profile("bench", roleARN)
	sessionRequest := func(k x509test.KeyType) (*coretest.Replay, *http.Request) {
		leaf := inter.Issue(b, x509test.Template{CommonName: "bench", DNSNames: []string{"bench.example.com"}, KeyType: k})
		id, err := x509cred.NewIdentity(leaf.Cert, []*x509.Certificate{inter.Cert}, leaf.Key)
		if err != nil {
			b.Fatal(err)
		}
		c := &x509cred.Client{Endpoint: f.srv.URL, Region: testRegion}
		req, err := c.NewRequest(f.ctx, id, x509cred.SessionInput{TrustAnchorARN: anchorARN, ProfileARN: profileARN, RoleARN: roleARN})
		if err != nil {
			b.Fatal(err)
		}
		return coretest.Record(b, req), req
	}
	cs, req := sessionRequest(x509test.ECDSA)
	csRSA, _ := sessionRequest(x509test.RSA)

	// AssumeRole of the same role by a user allowed it, signed once with SigV4.
	admin := f.iam(f.root)
	if _, err := admin.CreateUser(f.ctx, &iam.CreateUserInput{UserName: aws.String("u")}); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.PutUserPolicy(f.ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("a"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)}); err != nil {
		b.Fatal(err)
	}
	key, err := admin.CreateAccessKey(f.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u")})
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN}, "RoleSessionName": {"bench"}}.Encode()
	ar, err := http.NewRequest(http.MethodPost, f.srv.URL+"/", bytes.NewReader([]byte(form)))
	if err != nil {
		b.Fatal(err)
	}
	ar.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256hex([]byte(form))
	if err := v4.NewSigner().SignHTTP(f.ctx, aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey},
		ar, sum, "sts", testRegion, f.clock.Now()); err != nil {
		b.Fatal(err)
	}
	as := coretest.Record(b, ar)
	as.Body = []byte(form)

	client := f.srv.Client()
	answer := cs.Do(b, client)
	csRSA.Do(b, client)
	as.Do(b, client)
	yard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(answer)
	}))
	defer yard.Close()
	ys := *cs
	ys.URL = yard.URL + "/sessions?" + req.URL.RawQuery

	cases := []struct {
		name string
		r    *coretest.Replay
		c    *http.Client
	}{
		{"CreateSession-ecdsa", cs, client},
		{"CreateSession-rsa", csRSA, client},
		{"AssumeRole", as, client},
		{"yardstick", &ys, yard.Client()},
	}
	// Interleaved rounds, so that each case meets the same load on this shared
	// machine; per case the median of the rounds' mean latencies.
	const rounds = 15
	per := max(b.N/rounds, 20)
	means := make([][]float64, len(cases))
	b.ResetTimer()
	for range rounds {
		for i, tc := range cases {
			start := time.Now()
			for range per {
				tc.r.Do(b, tc.c)
			}
			means[i] = append(means[i], float64(time.Since(start).Microseconds())/float64(per))
		}
	}
	b.StopTimer()
	med := make([]float64, len(cases))
	for i := range cases {
		slices.Sort(means[i])
		med[i] = means[i][rounds/2]
		b.ReportMetric(med[i], cases[i].name+"-us")
	}
	yardUS := med[len(cases)-1]
	b.ReportMetric(yardUS/med[0], "ecdsa/yardstick")
	b.ReportMetric(yardUS/med[1], "rsa/yardstick")
	b.ReportMetric(med[2]/med[0], "ecdsa/AssumeRole")
	b.ReportMetric(med[2]/med[1], "rsa/AssumeRole")
}
