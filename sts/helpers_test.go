package sts_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/internal/coretest"
	"github.com/credbroker/credbroker/sts/store"
)

const testAccount = coretest.Account

// fixture is a core over a memory store, served by an httptest server
// (coretest's), with the names these tests use.
type fixture struct {
	c     *coretest.Core
	t     *testing.T
	ctx   context.Context
	store *store.Store
	core  *sts.Core
	srv   *httptest.Server
	clock *clocktest.Clock
	logs  *logtest.Buffer
}

type fixtureOpt = func(*sts.Options)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	c := coretest.New(t, func(o *coretest.Options) { o.Core = opts })
	return &fixture{c: c, t: t, ctx: c.Ctx, store: c.Store, core: c.Core, srv: c.Srv, clock: c.Clock, logs: c.Logs}
}

// update runs fn in a store transaction and fails the test on error.
func (f *fixture) update(fn func(tx *store.Tx) error) { f.t.Helper(); f.c.Update(fn) }

// user creates an IAM user with inline policies (name → document) and an access key.
func (f *fixture) user(name string, policies map[string]string, tags ...account.Tag) aws.Credentials {
	f.t.Helper()
	return f.c.User(name, coretest.Entity{Inline: policies, Tags: tags})
}

// client returns an SDK STS client signing with creds (anonymous when empty).
func (f *fixture) client(creds aws.Credentials) *awssts.Client {
	return awssts.NewFromConfig(f.c.Config(creds))
}

// role creates a role with a trust policy and inline policies.
func (f *fixture) role(name, trust string, maxSession time.Duration, policies map[string]string, tags ...account.Tag) account.Role {
	f.t.Helper()
	return f.c.Role(account.Role{Name: name, AssumeRolePolicy: trust, MaxSessionDuration: maxSession}, coretest.Entity{Inline: policies, Tags: tags})
}

// mfaDevice creates and enables a virtual MFA device for user and returns its serial and
// seed.
func (f *fixture) mfaDevice(user string) (string, []byte) {
	f.t.Helper()
	var d account.VirtualMFADevice
	f.update(func(tx *store.Tx) error {
		var err error
		if d, err = tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: user + "-mfa"}); err != nil {
			return err
		}
		return tx.EnableMFADevice(user, d.Serial)
	})
	return d.Serial, d.Seed
}

// code returns the TOTP code of seed at the fixture's time.
func (f *fixture) code(seed []byte) string {
	f.t.Helper()
	c, err := sts.TOTPCode(seed, sts.TOTPStep(f.clock.Now()))
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// sessionCreds turns an STS Credentials element into aws.Credentials.
func sessionCreds(c *types.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// rawCall signs form (Action=…&Version=…) with creds at time at, POSTs it to the core,
// and returns the status and body. creds empty: unsigned.
func (f *fixture) rawCall(creds aws.Credentials, service, form string, at time.Time) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/", strings.NewReader(form))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if creds.AccessKeyID != "" {
		sum := sha256.Sum256([]byte(form))
		if err := v4.NewSigner().SignHTTP(f.ctx, creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
			f.t.Fatal(err)
		}
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// errorOf parses an error response body.
func errorOf(t *testing.T, body string) (code, message string) {
	t.Helper()
	var doc struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return doc.Code, doc.Message
}

// send sends a request without a body, with header, to the core's server, and returns
// the response with its body read.
func (f *fixture) send(method, url string, header http.Header) (*http.Response, []byte) {
	f.t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		r.Header[k] = v
	}
	resp, err := f.srv.Client().Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, body
}

// restarted starts another core over the fixture's store (a restart, or a replica)
// on the same clock, with opts, and returns an STS client of it that signs with creds;
// everything is closed when the test ends.
func (f *fixture) restarted(t *testing.T, creds aws.Credentials, opts ...fixtureOpt) *awssts.Client {
	t.Helper()
	core, err := sts.New(f.ctx, f.store, append([]fixtureOpt{func(o *sts.Options) { o.Now = f.clock.Now }}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	return awssts.New(awssts.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", HTTPClient: srv.Client(),
		Credentials: staticCreds(creds), RetryMaxAttempts: 1})
}

func staticCreds(c aws.Credentials) aws.CredentialsProvider {
	return credentials.StaticCredentialsProvider{Value: c}
}
