package rolesanywhere_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	ra "github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/rolesanywhere"
	"github.com/credbroker/credbroker/sts/store"
)

const (
	testAccount = "123456789012"
	testRegion  = "us-east-1"
)

// skew sets the core's clock d away from the wall clock (AWS's signing helper signs
// with the wall clock); 0 puts it back.
func (f *fixture) skew(d time.Duration) { f.clock.Set(time.Now().UTC().Add(d)) }

// fixture is a core with IAM and Roles Anywhere over a memory store, served by
// httptest.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *store.Store
	core  *sts.Core
	srv   *httptest.Server
	clock *clocktest.Clock
	root  aws.Credentials
	logs  *logtest.Buffer // Roles Anywhere's log, audit lines included
	api   *rolesanywhere.API
}

// auditLine waits for the audit line of Roles Anywhere that holds every string of
// want (the line is written once the answer is sent) and returns it.
func (f *fixture) auditLine(want ...string) string {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		for _, l := range strings.Split(f.logs.String(), "\n") {
			if strings.Contains(l, "audit") && allIn(l, want) {
				return l
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no audit line with %q in:\n%s", want, f.logs.String())
		}
	}
}

func allIn(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(time.Now().UTC())
	clk.Run() // clients sign with the real time
	st, err := store.OpenMemory(ctx, testAccount, func(o *store.Options) {
		o.Now = clk.Now
		o.UsageFlushInterval = -1
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	core, err := sts.New(ctx, st, func(o *sts.Options) { o.Now = clk.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	if _, err := iamapi.Register(core); err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	api, err := rolesanywhere.Register(core, func(o *rolesanywhere.Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{t: t, ctx: ctx, store: st, core: core, srv: srv, clock: clk, logs: logs, api: api}
	if err := st.Update(ctx, func(tx *store.Tx) error {
		k, err := tx.CreateAccessKey(account.RootUserName)
		f.root = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// send sends r to the core and returns the answer and its body.
func (f *fixture) send(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := f.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, string(b)
}

// config is the SDK configuration of a client of the fixture's core signing with creds.
func (f *fixture) config(creds aws.Credentials) aws.Config {
	return aws.Config{BaseEndpoint: aws.String(f.srv.URL), Region: testRegion, HTTPClient: f.srv.Client(),
		Credentials: credentials.StaticCredentialsProvider{Value: creds}, RetryMaxAttempts: 1}
}

// ra returns a Roles Anywhere client of the Go SDK v2 signing with creds.
func (f *fixture) ra(creds aws.Credentials) *ra.Client { return ra.NewFromConfig(f.config(creds)) }

// iam returns an IAM client of the Go SDK v2 signing with creds.
func (f *fixture) iam(creds aws.Credentials) *iam.Client { return iam.NewFromConfig(f.config(creds)) }

// role creates a role with trust policy doc and returns its ARN.
func (f *fixture) role(name, doc string) string {
	f.t.Helper()
	out, err := f.iam(f.root).CreateRole(f.ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)})
	if err != nil {
		f.t.Fatal(err)
	}
	return *out.Role.Arn
}

// anchor creates an enabled trust anchor of the PEM bundle and returns its ARN.
func (f *fixture) anchor(name string, bundle []byte) string {
	f.t.Helper()
	out, err := f.ra(f.root).CreateTrustAnchor(f.ctx, &ra.CreateTrustAnchorInput{
		Name: aws.String(name), Enabled: aws.Bool(true),
		Source: &types.Source{SourceType: types.TrustAnchorTypeCertificateBundle,
			SourceData: &types.SourceDataMemberX509CertificateData{Value: string(bundle)}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return *out.TrustAnchor.TrustAnchorArn
}

// profile creates an enabled profile listing roles and returns its ARN.
func (f *fixture) profile(name string, roles ...string) string {
	f.t.Helper()
	out, err := f.ra(f.root).CreateProfile(f.ctx, &ra.CreateProfileInput{Name: aws.String(name), Enabled: aws.Bool(true), RoleArns: roles})
	if err != nil {
		f.t.Fatal(err)
	}
	return *out.Profile.ProfileArn
}

// trustRA is a trust policy that lets Roles Anywhere assume the role.
const trustRA = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},
"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
