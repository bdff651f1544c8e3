package imds

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/hashicorp/go-hclog"
)

// fakeSource hands every caller role "dev-admin" (unless the token is bound)
// and mints credentials on its clock: a new generation (new key id) whenever
// the current one has less than 15 minutes left, as the broker would.
type fakeSource struct {
	clock    *clocktest.Clock
	lifetime time.Duration

	mu       sync.Mutex
	role     RoleInfo
	allowed  map[string]int // role → index used in the key id
	gen      map[string]int
	expires  map[string]time.Time
	err      error // returned by Credentials when set
	roleErr  error // returned by Role when set
	frozen   bool  // stop refreshing (credentials age and expire)
	panicked bool  // panic in Credentials
	block    bool  // block in Credentials until the context ends
	callers  []Caller
}

func newFakeSource(clock *clocktest.Clock) *fakeSource {
	return &fakeSource{
		clock:    clock,
		lifetime: time.Hour,
		role: RoleInfo{Name: "dev-admin",
			InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/dev-admin",
			InstanceProfileID:  "AIPAEXAMPLEPROFILE01"},
		allowed: map[string]int{"dev-admin": 1, "ci-deploy": 2},
		gen:     map[string]int{},
		expires: map[string]time.Time{},
	}
}

func (f *fakeSource) set(fn func(f *fakeSource)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeSource) Role(ctx context.Context, c Caller) (RoleInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roleErr != nil {
		return RoleInfo{}, f.roleErr
	}
	return f.role, nil
}

func (f *fakeSource) Credentials(ctx context.Context, c Caller, role string) (Credentials, error) {
	f.mu.Lock()
	f.callers = append(f.callers, c)
	block, panicked := f.block, f.panicked
	f.mu.Unlock()
	if panicked {
		panic("fake source exploded")
	}
	if block {
		<-ctx.Done()
		return Credentials{}, fmt.Errorf("waiting for STS: %w", ctx.Err())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Credentials{}, f.err
	}
	idx, ok := f.allowed[role]
	if !ok {
		return Credentials{}, fmt.Errorf("role %q: %w", role, ErrNoRole)
	}
	now := f.clock.Now()
	if !f.frozen && (f.gen[role] == 0 || f.expires[role].Sub(now) < 15*time.Minute) {
		f.gen[role]++
		f.expires[role] = now.Add(f.lifetime)
	}
	return f.creds(role, idx, f.gen[role], f.expires[role]), nil
}

func (f *fakeSource) creds(role string, idx, gen int, exp time.Time) Credentials {
	return Credentials{
		AccessKeyID:     fmt.Sprintf("ASIAFAKE%02d%010d", idx, gen),
		SecretAccessKey: fmt.Sprintf("fakeSecret/%s/%d+K7MDENGbPxRfiCYEXAMPLEKEY", role, gen),
		SessionToken:    fmt.Sprintf("FwoGZXIvYXdzEFAKE//%s/%d/<&>\"token\"", role, gen),
		Expiration:      exp,
		LastUpdated:     exp.Add(-f.lifetime),
		AccountID:       "123456789012",
		RoleARN:         "arn:aws:iam::123456789012:role/" + role,
	}
}

// current returns the credentials the source holds now for role.
func (f *fakeSource) current(role string) Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creds(role, f.allowed[role], f.gen[role], f.expires[role])
}

func (f *fakeSource) lastCaller() Caller {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.callers) == 0 {
		return Caller{}
	}
	return f.callers[len(f.callers)-1]
}

func testLogger(t testing.TB) (hclog.Logger, *logtest.Buffer) {
	buf := &logtest.Buffer{}
	return hclog.New(&hclog.LoggerOptions{Name: "imds", Level: hclog.Trace, Output: buf, Color: hclog.ColorOff}), buf
}

// env is one test setup: both endpoints over real loopback listeners.
type env struct {
	clock     *clocktest.Clock
	src       *fakeSource
	tokens    *TokenSet
	token     string
	ec2       *EC2
	container *Container
	imdsSrv   *httptest.Server
	contSrv   *httptest.Server
	log       *logtest.Buffer
}

func newEnv(t testing.TB, ec2Opts func(*EC2Options), contOpts func(*ContainerOptions)) *env {
	t.Helper()
	e := &env{clock: clocktest.New(clocktest.Start)}
	e.src = newFakeSource(e.clock)
	logger, buf := testLogger(t)
	e.log = buf
	var err error
	e.ec2, err = NewEC2(e.src, func(o *EC2Options) {
		o.Logger = logger.Named("ec2")
		o.Now = e.clock.Now
		o.Instance = Instance{Region: "eu-west-3", AccountID: "123456789012", InstanceID: "i-0abc1234def567890"}
		if ec2Opts != nil {
			ec2Opts(o)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = NewTokenSet()
	e.token, err = NewToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tokens.Add(e.token, ""); err != nil {
		t.Fatal(err)
	}
	e.container, err = NewContainer(e.src, e.tokens, func(o *ContainerOptions) {
		o.Logger = logger.Named("container")
		o.Now = e.clock.Now
		if contOpts != nil {
			contOpts(o)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e.imdsSrv = httptest.NewServer(e.ec2)
	t.Cleanup(e.imdsSrv.Close)
	e.contSrv = httptest.NewServer(e.container)
	t.Cleanup(e.contSrv.Close)
	return e
}

// do sends one request and returns status, headers and body.
func do(t testing.TB, method, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

// imdsToken gets a session token from the IMDS endpoint.
func (e *env) imdsToken(t testing.TB, ttl string) string {
	t.Helper()
	st, _, body := do(t, http.MethodPut, e.imdsSrv.URL+TokenPath, map[string]string{TokenTTLHeader: ttl})
	if st != http.StatusOK {
		t.Fatalf("token PUT: %d %s", st, body)
	}
	return body
}
