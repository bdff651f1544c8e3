package imds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/google/go-cmp/cmp"
)

func TestEC2Responses(t *testing.T) {
	e := newEnv(t, nil, nil)
	tok := e.imdsToken(t, "21600")
	other, err := NewEC2(e.src, func(o *EC2Options) { o.Now = e.clock.Now })
	if err != nil {
		t.Fatal(err)
	}
	foreign := other.tokens.mint(e.clock.Now().Add(time.Hour))
	tampered := []byte(tok)
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '_' || tampered[len(tampered)/2] == '-' { // keep it valid base64url
		tampered[len(tampered)/2] = 'A'
	}
	u := e.imdsSrv.URL
	host := strings.TrimPrefix(u, "http://")
	creds := "/latest/meta-data/iam/security-credentials/"
	cases := map[string]struct {
		method, path string
		hdr          map[string]string
		status       int
		body         string // exact, when not empty
		contains     string
		allow        string
	}{
		"token ttl missing":      {method: "PUT", path: TokenPath, status: 400, contains: "1 to 21600"},
		"token ttl zero":         {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "0"}, status: 400},
		"token ttl too long":     {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "21601"}, status: 400},
		"token ttl not a number": {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "6h"}, status: 400},
		"token ttl signed":       {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "+60"}, status: 400},
		"token ttl negative":     {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "-1"}, status: 400},
		"token ttl huge":         {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "99999999999999999999"}, status: 400},
		"token forwarded": {method: "PUT", path: TokenPath, status: 403, contains: "X-Forwarded-For",
			hdr: map[string]string{TokenTTLHeader: "60", "X-Forwarded-For": "203.0.113.9"}},
		"token by GET":      {method: "GET", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "60"}, status: 405, allow: "PUT"},
		"token by POST":     {method: "POST", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "60"}, status: 405, allow: "PUT"},
		"no token":          {method: "GET", path: creds, status: 401, contains: "IMDSv2 is required"},
		"tampered token":    {method: "GET", path: creds, hdr: map[string]string{TokenHeader: string(tampered)}, status: 401, contains: "not valid"},
		"foreign token":     {method: "GET", path: creds, hdr: map[string]string{TokenHeader: foreign}, status: 401, contains: "not valid"},
		"garbage token":     {method: "GET", path: creds, hdr: map[string]string{TokenHeader: "AQAEAHhbx=="}, status: 401},
		"wrong host":        {method: "GET", path: creds, hdr: map[string]string{TokenHeader: tok, "Host": "attacker.example:" + port(host)}, status: 403},
		"wrong host on PUT": {method: "PUT", path: TokenPath, hdr: map[string]string{TokenTTLHeader: "60", "Host": "rebind.attacker.example"}, status: 403},
		"host 169.254.169.254": {method: "GET", path: creds, hdr: map[string]string{TokenHeader: tok, "Host": "169.254.169.254"},
			status: 200, body: "dev-admin"},
		"host ipv6 imds": {method: "GET", path: creds, hdr: map[string]string{TokenHeader: tok, "Host": "[fd00:ec2::254]:80"},
			status: 200, body: "dev-admin"},
		"host localhost": {method: "GET", path: creds, hdr: map[string]string{TokenHeader: tok, "Host": "LocalHost:" + port(host)},
			status: 200, body: "dev-admin"},
		"role list":                 {method: "GET", path: creds, hdr: map[string]string{TokenHeader: tok}, status: 200, body: "dev-admin"},
		"role list without slash":   {method: "GET", path: strings.TrimSuffix(creds, "/"), hdr: map[string]string{TokenHeader: tok}, status: 200, body: "dev-admin"},
		"another caller's role":     {method: "GET", path: creds + "ci-deploy", hdr: map[string]string{TokenHeader: tok}, status: 404},
		"role path below a role":    {method: "GET", path: creds + "dev-admin/x", hdr: map[string]string{TokenHeader: tok}, status: 404},
		"unknown path":              {method: "GET", path: "/latest/meta-data/nonesuch", hdr: map[string]string{TokenHeader: tok}, status: 404},
		"unknown path without auth": {method: "GET", path: "/latest/user-data", status: 404},
		"unknown version":           {method: "GET", path: "/2009-04-04/meta-data/", hdr: map[string]string{TokenHeader: tok}, status: 404},
		"POST metadata":             {method: "POST", path: creds, hdr: map[string]string{TokenHeader: tok}, status: 405, allow: "GET, HEAD"},
		"DELETE metadata":           {method: "DELETE", path: "/latest/meta-data/", hdr: map[string]string{TokenHeader: tok}, status: 405},
		"PUT metadata":              {method: "PUT", path: "/latest/meta-data/instance-id", hdr: map[string]string{TokenTTLHeader: "60"}, status: 405},
		"root":                      {method: "GET", path: "/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "latest"},
		"latest":                    {method: "GET", path: "/latest/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "dynamic\nmeta-data"},
		"meta-data": {method: "GET", path: "/latest/meta-data/", hdr: map[string]string{TokenHeader: tok}, status: 200,
			body: "ami-id\niam/\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/"},
		"iam":               {method: "GET", path: "/latest/meta-data/iam/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "info\nsecurity-credentials/"},
		"placement":         {method: "GET", path: "/latest/meta-data/placement/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "availability-zone\nregion"},
		"region":            {method: "GET", path: "/latest/meta-data/placement/region", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "eu-west-3"},
		"az with slash":     {method: "GET", path: "/latest/meta-data/placement/availability-zone/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "eu-west-3a"},
		"instance-id":       {method: "GET", path: "/latest/meta-data/instance-id", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "i-0abc1234def567890"},
		"dynamic":           {method: "GET", path: "/latest/dynamic/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "instance-identity/"},
		"instance-identity": {method: "GET", path: "/latest/dynamic/instance-identity/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "document"},
		"HEAD metadata":     {method: "HEAD", path: "/latest/meta-data/instance-id", hdr: map[string]string{TokenHeader: tok}, status: 200},
		"iam info":          {method: "GET", path: "/latest/meta-data/iam/info", hdr: map[string]string{TokenHeader: tok}, status: 200, contains: `"InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/dev-admin"`},
		"extended list":     {method: "GET", path: "/latest/meta-data/iam/security-credentials-extended/", hdr: map[string]string{TokenHeader: tok}, status: 200, body: "dev-admin"},
		"extended creds":    {method: "GET", path: "/latest/meta-data/iam/security-credentials-extended/dev-admin", hdr: map[string]string{TokenHeader: tok}, status: 200, contains: `"AccountId": "123456789012"`},
		"creds with query":  {method: "GET", path: creds + "dev-admin?x=1", hdr: map[string]string{TokenHeader: tok}, status: 200, contains: `"Code": "Success"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			st, h, body := do(t, c.method, u+c.path, c.hdr)
			if st != c.status {
				t.Fatalf("%s %s: status %d, want %d (body %q)", c.method, c.path, st, c.status, body)
			}
			if c.body != "" && body != c.body {
				t.Errorf("body %q, want %q", body, c.body)
			}
			if c.contains != "" && !strings.Contains(body, c.contains) {
				t.Errorf("body %q does not contain %q", body, c.contains)
			}
			if c.allow != "" && h.Get("Allow") != c.allow {
				t.Errorf("Allow %q, want %q", h.Get("Allow"), c.allow)
			}
		})
	}
	defer func() {
		logs := e.log.String()
		for _, secret := range []string{tok, foreign, string(tampered), e.src.current("dev-admin").SecretAccessKey, e.src.current("dev-admin").SessionToken} {
			if strings.Contains(logs, secret) {
				t.Errorf("a token or secret reached the log:\n%s", logs)
			}
		}
		if !strings.Contains(logs, "refused request with foreign Host header") {
			t.Errorf("Host refusals are not logged at debug:\n%s", logs)
		}
	}()
	t.Run("expired token", func(t *testing.T) {
		short := e.imdsToken(t, "60")
		if st, _, _ := do(t, "GET", u+creds, map[string]string{TokenHeader: short}); st != 200 {
			t.Fatalf("fresh token refused: %d", st)
		}
		e.clock.Advance(61 * time.Second)
		st, _, body := do(t, "GET", u+creds, map[string]string{TokenHeader: short})
		if st != 401 || !strings.Contains(body, "expired") {
			t.Fatalf("expired token: %d %q, want 401 expired", st, body)
		}
	})
}

func TestHeaderKeysCanonical(t *testing.T) {
	for k, want := range map[string]string{TokenHeader: tokenHeaderKey, TokenTTLHeader: tokenTTLHeaderKey} {
		if got := textproto.CanonicalMIMEHeaderKey(k); got != want {
			t.Errorf("canonical %s = %s, constant says %s", k, got, want)
		}
	}
}

func port(hostport string) string { return hostport[strings.LastIndexByte(hostport, ':')+1:] }

func TestEC2TokenPut(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, ttl := range []string{"1", "60", "21600"} {
		st, h, body := do(t, "PUT", e.imdsSrv.URL+TokenPath, map[string]string{TokenTTLHeader: ttl})
		if st != 200 {
			t.Fatalf("ttl %s: %d %s", ttl, st, body)
		}
		if got := h.Get(TokenTTLHeader); got != ttl {
			t.Errorf("ttl %s: echoed %q", ttl, got)
		}
		if len(body) != tokenEncLen || strings.ContainsAny(body, "\r\n =") {
			t.Errorf("token %q is not a header-safe %d-char token", body, tokenEncLen)
		}
	}
	// Bodies are bounded (IMDS requests carry none).
	req, _ := http.NewRequest("PUT", e.imdsSrv.URL+TokenPath, strings.NewReader(strings.Repeat("x", 2048)))
	req.Header.Set(TokenTTLHeader, "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("2 KiB body: %d, want 413", resp.StatusCode)
	}
	// A token lives at least its TTL and expires right after.
	tok := e.imdsToken(t, "1")
	if st, _, _ := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/", map[string]string{TokenHeader: tok}); st != 200 {
		t.Fatalf("fresh 1s token: %d", st)
	}
	e.clock.Advance(999 * time.Millisecond)
	if st, _, _ := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/", map[string]string{TokenHeader: tok}); st != 200 {
		t.Fatalf("1s token after 0.999s: %d", st)
	}
	e.clock.Advance(2 * time.Second)
	if st, _, _ := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/", map[string]string{TokenHeader: tok}); st != 401 {
		t.Fatalf("1s token after 3s: %d, want 401", st)
	}
}

func TestEC2CredentialsJSON(t *testing.T) {
	e := newEnv(t, nil, nil)
	tok := e.imdsToken(t, "300")
	st, h, body := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/iam/security-credentials/dev-admin",
		map[string]string{TokenHeader: tok})
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if ct := h.Get("Content-Type"); ct != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain as IMDS", ct)
	}
	want := e.src.current("dev-admin")
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	exp := map[string]string{
		"Code":            "Success",
		"LastUpdated":     want.LastUpdated.UTC().Format("2006-01-02T15:04:05Z"),
		"Type":            "AWS-HMAC",
		"AccessKeyId":     want.AccessKeyID,
		"SecretAccessKey": want.SecretAccessKey,
		"Token":           want.SessionToken,
		"Expiration":      want.Expiration.UTC().Format("2006-01-02T15:04:05Z"),
	}
	if d := cmp.Diff(exp, got); d != "" {
		t.Errorf("credentials JSON (-want +got):\n%s", d)
	}
	// EC2 field order and no fractional seconds (the clock has 535ms).
	order := []string{`"Code"`, `"LastUpdated"`, `"Type"`, `"AccessKeyId"`, `"SecretAccessKey"`, `"Token"`, `"Expiration"`}
	last := -1
	for _, k := range order {
		i := strings.Index(body, k)
		if i <= last {
			t.Fatalf("field %s out of EC2's order in %s", k, body)
		}
		last = i
	}
	if strings.Contains(got["Expiration"], ".") || !strings.HasSuffix(got["Expiration"], "Z") {
		t.Errorf("Expiration %q is not UTC without fractions", got["Expiration"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", got["Expiration"]); err != nil {
		t.Error(err)
	}
}

// recorder wraps a handler and records the status of every response.
type recorder struct {
	h  http.Handler
	mu sync.Mutex
	st []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: 200}
	rc.h.ServeHTTP(sw, r)
	rc.mu.Lock()
	rc.st = append(rc.st, fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, sw.status))
	rc.mu.Unlock()
}

func (rc *recorder) trace() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.st
	rc.st = nil
	return out
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// forwardingTransport adds X-Forwarded-For to token PUTs, as a misconfigured
// proxy would: the endpoint must refuse them, and the SDK falls back to IMDSv1.
type forwardingTransport struct{}

func (forwardingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestSDKEC2RoleCreds(t *testing.T) {
	const role = "/latest/meta-data/iam/security-credentials/"
	cases := map[string]struct {
		allowV1   bool
		fallback  aws.Ternary
		forwarded bool // token PUTs carry X-Forwarded-For (refused)
		wantErr   bool
		trace     []string
	}{
		"v2 only, SDK v1 disabled": {fallback: aws.FalseTernary,
			trace: []string{"PUT /latest/api/token 200", "GET " + role + " 200", "GET " + role + "dev-admin 200"}},
		"v2 only, SDK fallback enabled": {fallback: aws.TrueTernary,
			trace: []string{"PUT /latest/api/token 200", "GET " + role + " 200", "GET " + role + "dev-admin 200"}},
		"v1 allowed, token refused, SDK falls back": {allowV1: true, fallback: aws.TrueTernary, forwarded: true,
			trace: []string{"PUT /latest/api/token 403", "GET " + role + " 200", "GET " + role + "dev-admin 200"}},
		"v2 only, token refused, SDK falls back": {fallback: aws.TrueTernary, forwarded: true, wantErr: true},
		"v1 allowed, token refused, SDK v1 disabled": {allowV1: true, fallback: aws.FalseTernary, forwarded: true, wantErr: true,
			trace: []string{"PUT /latest/api/token 403"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(o *EC2Options) { o.AllowIMDSv1 = c.allowV1 }, nil)
			rec := &recorder{h: e.ec2}
			e.imdsSrv.Config.Handler = rec
			hc := &http.Client{}
			if c.forwarded {
				hc.Transport = forwardingTransport{}
			}
			p := ec2rolecreds.New(func(o *ec2rolecreds.Options) {
				o.Client = sdkimds.New(sdkimds.Options{Endpoint: e.imdsSrv.URL, EnableFallback: c.fallback, HTTPClient: hc})
			})
			got, err := p.Retrieve(context.Background())
			if c.wantErr {
				if err == nil {
					t.Fatalf("Retrieve succeeded with %s", got.AccessKeyID)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				want := e.src.current("dev-admin")
				if got.AccessKeyID != want.AccessKeyID || got.SecretAccessKey != want.SecretAccessKey || got.SessionToken != want.SessionToken {
					t.Errorf("got key %s, want %s", got.AccessKeyID, want.AccessKeyID)
				}
				if !got.CanExpire || got.Expires.After(want.Expiration) {
					t.Errorf("expiry %v, want at most %v", got.Expires, want.Expiration)
				}
			}
			if c.trace != nil {
				if d := cmp.Diff(c.trace, rec.trace()); d != "" {
					t.Errorf("request trace (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestSDKExpiryAndRotation drives the Go SDK through an expired session
// token (the endpoint answers 401, the SDK fetches a new one) and a
// credential rotation by the source.
func TestSDKExpiryAndRotation(t *testing.T) {
	e := newEnv(t, nil, nil)
	rec := &recorder{h: e.ec2}
	e.imdsSrv.Config.Handler = rec
	client := sdkimds.New(sdkimds.Options{Endpoint: e.imdsSrv.URL, EnableFallback: aws.FalseTernary})
	p := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client })
	first, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec.trace()
	// The SDK asks for 300s tokens and keeps them by its own clock; move ours
	// past that, and past the source's refresh point (15 min before expiry).
	e.clock.Advance(50 * time.Minute)
	second, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessKeyID == second.AccessKeyID {
		t.Fatalf("rotation not seen: still %s", first.AccessKeyID)
	}
	if want := e.src.current("dev-admin").AccessKeyID; second.AccessKeyID != want {
		t.Errorf("got %s, want %s", second.AccessKeyID, want)
	}
	want := []string{
		"GET /latest/meta-data/iam/security-credentials/ 401",
		"PUT /latest/api/token 200",
		"GET /latest/meta-data/iam/security-credentials/ 200",
		"GET /latest/meta-data/iam/security-credentials/dev-admin 200",
	}
	if d := cmp.Diff(want, rec.trace()); d != "" {
		t.Errorf("trace after token expiry (-want +got):\n%s", d)
	}
}

func TestSDKIMDSClient(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := sdkimds.New(sdkimds.Options{Endpoint: e.imdsSrv.URL, EnableFallback: aws.FalseTernary})
	ctx := context.Background()
	reg, err := c.GetRegion(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Region != "eu-west-3" {
		t.Errorf("region %q", reg.Region)
	}
	doc, err := c.GetInstanceIdentityDocument(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := doc.InstanceIdentityDocument
	gotDoc := []string{d.Region, d.AvailabilityZone, d.InstanceID, d.AccountID, d.InstanceType, d.Version, d.PrivateIP}
	if diff := cmp.Diff([]string{"eu-west-3", "eu-west-3a", "i-0abc1234def567890", "123456789012", "t3.micro", "2017-09-30", "127.0.0.1"}, gotDoc); diff != "" {
		t.Errorf("identity document (-want +got):\n%s", diff)
	}
	if !d.PendingTime.Equal(e.clock.Now().Truncate(time.Second)) {
		t.Errorf("pendingTime %v", d.PendingTime)
	}
	info, err := c.GetIAMInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.InstanceProfileArn != e.src.role.InstanceProfileARN || info.InstanceProfileID != e.src.role.InstanceProfileID {
		t.Errorf("iam info %+v", info.IAMInfo)
	}
	for p, want := range map[string]string{
		"instance-id":                 "i-0abc1234def567890",
		"placement/availability-zone": "eu-west-3a",
		"placement/region":            "eu-west-3",
		"iam/security-credentials/":   "dev-admin",
	} {
		out, err := c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: p})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(out.Content)
		if string(b) != want {
			t.Errorf("%s: %q, want %q", p, b, want)
		}
	}
	_, err = c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: "iam/security-credentials/ci-deploy"})
	var st interface{ HTTPStatusCode() int }
	if !errors.As(err, &st) || st.HTTPStatusCode() != 404 {
		t.Errorf("another caller's role: %v, want a 404", err)
	}
}

func TestEC2SourceFailures(t *testing.T) {
	e := newEnv(t, func(o *EC2Options) { o.SourceTimeout = 50 * time.Millisecond }, nil)
	tok := e.imdsToken(t, "21600")
	get := func() (int, string) {
		st, _, body := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/iam/security-credentials/dev-admin", map[string]string{TokenHeader: tok})
		return st, body
	}
	if st, _ := get(); st != 200 {
		t.Fatalf("healthy: %d", st)
	}
	cases := []struct {
		name     string
		set      func(*fakeSource)
		contains string
	}{
		{"upstream", func(f *fakeSource) { f.err = fmt.Errorf("%w: sts: AccessDenied: not authorized", ErrUpstream) }, "unavailable"},
		{"unclassified", func(f *fakeSource) { f.err = errors.New("keyring locked") }, "unavailable"},
		{"not ready", func(f *fakeSource) { f.err = ErrNotReady }, "not ready"},
		{"slow source", func(f *fakeSource) { f.block = true }, "not ready"},
		{"expired credentials", func(f *fakeSource) { f.frozen = true; e.clock.Advance(2 * time.Hour) }, "not ready"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.src.set(c.set)
			for i := 0; i < 3; i++ {
				st, body := get()
				if st != 404 || !strings.Contains(body, c.contains) || !strings.Contains(body, "dev-admin") {
					t.Fatalf("%d %q, want 404 saying %q", st, body, c.contains)
				}
				if strings.Contains(body, "AccessDenied") || strings.Contains(body, "keyring") {
					t.Fatalf("upstream error text leaked to the client: %q", body)
				}
			}
			e.src.set(resetFake)
			if st, _ := get(); st != 200 {
				t.Fatalf("after recovery: %d", st)
			}
		})
	}
	logs := e.log.String()
	if n := strings.Count(logs, "cannot serve credentials"); n != len(cases) {
		t.Errorf("logged %d failures for %d streaks of 3:\n%s", n, len(cases), logs)
	}
	if n := strings.Count(logs, "serving credentials again"); n != len(cases) {
		t.Errorf("logged %d recoveries, want %d", n, len(cases))
	}
	for _, want := range []string{"AccessDenied", "keyring locked", "deadline exceeded", "expired at"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks the cause %q", want)
		}
	}
}

// resetFake clears the failure switches (the caller holds the lock).
func resetFake(f *fakeSource) {
	f.err, f.roleErr, f.frozen, f.block, f.panicked = nil, nil, false, false, false
}

func TestEC2NoRole(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.src.set(func(f *fakeSource) { f.roleErr = fmt.Errorf("uid 1001: %w", ErrNoRole) })
	tok := e.imdsToken(t, "600")
	for _, p := range []string{"security-credentials/", "security-credentials/dev-admin", "info", "security-credentials-extended/"} {
		st, _, body := do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/iam/"+p, map[string]string{TokenHeader: tok})
		if st != 404 {
			t.Errorf("%s: %d %q, want 404", p, st, body)
		}
	}
	if strings.Contains(e.log.String(), "[WARN]") {
		t.Errorf("a caller without a role is not a failure to warn about:\n%s", e.log.String())
	}
}

func TestEC2CallerPassed(t *testing.T) {
	e := newEnv(t, nil, nil)
	tok := e.imdsToken(t, "600")
	do(t, "GET", e.imdsSrv.URL+"/latest/meta-data/iam/security-credentials/dev-admin", map[string]string{TokenHeader: tok})
	c := e.src.lastCaller()
	u, _ := url.Parse(e.imdsSrv.URL)
	if c.Endpoint != EndpointIMDS || c.Local.String() != u.Host || !c.Remote.Addr().IsLoopback() || c.Remote.Port() == 0 {
		t.Errorf("caller %+v, want IMDS from loopback to %s", c, u.Host)
	}
}

func TestNewEC2Validation(t *testing.T) {
	src := newFakeSource(clocktest.New(clocktest.Start))
	for name, fn := range map[string]func(*EC2Options){
		"az of another region": func(o *EC2Options) { o.Instance = Instance{Region: "us-west-2", AvailabilityZone: "us-east-1a"} },
		"az without letter":    func(o *EC2Options) { o.Instance = Instance{Region: "us-west-2", AvailabilityZone: "us-west-2"} },
		"bad allowed host":     func(o *EC2Options) { o.AllowedHosts = []string{"http://x"} },
		"newline in id":        func(o *EC2Options) { o.Instance = Instance{InstanceID: "i-1\nx"} },
		"rand fails":           func(o *EC2Options) { o.Rand = bytes.NewReader(nil) },
	} {
		if _, err := NewEC2(src, fn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewEC2(nil); err == nil {
		t.Error("nil source accepted")
	}
}

// TestSDKDefaultChainIMDS resolves credentials and region through
// config.LoadDefaultConfig as applications do, with IMDSv1 disabled.
func TestSDKDefaultChainIMDS(t *testing.T) {
	e := newEnv(t, nil, nil)
	isolateAWSEnv(t, t.TempDir())
	os.Unsetenv("AWS_EC2_METADATA_DISABLED")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", e.imdsSrv.URL+"/")
	t.Setenv("AWS_EC2_METADATA_V1_DISABLED", "true")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithEC2IMDSRegion())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-3" {
		t.Errorf("region %q from IMDS, want eu-west-3", cfg.Region)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != e.src.current("dev-admin").AccessKeyID || got.Source != ec2rolecreds.ProviderName {
		t.Errorf("got %s from %s", got.AccessKeyID, got.Source)
	}
}

func TestEC2AllowIMDSv1(t *testing.T) {
	e := newEnv(t, func(o *EC2Options) { o.AllowIMDSv1 = true }, nil)
	creds := e.imdsSrv.URL + "/latest/meta-data/iam/security-credentials/dev-admin"
	if st, _, body := do(t, "GET", creds, nil); st != 200 || !strings.Contains(body, e.src.current("dev-admin").AccessKeyID) {
		t.Fatalf("IMDSv1 GET: %d %q", st, body)
	}
	// A token that is sent must still be valid, as on EC2.
	if st, _, _ := do(t, "GET", creds, map[string]string{TokenHeader: "bogus"}); st != 401 {
		t.Errorf("invalid token with IMDSv1 allowed: %d, want 401", st)
	}
	tok := e.imdsToken(t, "60")
	e.clock.Advance(2 * time.Minute)
	if st, _, _ := do(t, "GET", creds, map[string]string{TokenHeader: tok}); st != 401 {
		t.Errorf("expired token with IMDSv1 allowed: %d, want 401", st)
	}
}
