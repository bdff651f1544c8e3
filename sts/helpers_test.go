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
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

const testAccount = "123456789012"

// fixture is a core over a memory store, served by an httptest server.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store *store.Store
	core  *sts.Core
	srv   *httptest.Server
	clock *clocktest.Clock
	logs  *logBuffer
}

type fixtureOpt = func(*sts.Options)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(time.Now().UTC().Truncate(time.Second))
	st, err := store.OpenMemory(ctx, testAccount, func(o *store.Options) {
		o.Now = clk.Now
		o.UsageFlushInterval = -1
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &logBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug, JSONFormat: true})
	core, err := sts.New(ctx, st, append([]fixtureOpt{func(o *sts.Options) {
		o.Now = clk.Now
		o.Logger = logger
	}}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, ctx: ctx, store: st, core: core, srv: srv, clock: clk, logs: logs}
}

// update runs fn in a store transaction and fails the test on error.
func (f *fixture) update(fn func(tx *store.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// user creates an IAM user with inline policies (name → document) and an access key.
func (f *fixture) user(name string, policies map[string]string, tags ...account.Tag) aws.Credentials {
	f.t.Helper()
	var k account.AccessKey
	f.update(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: name, Tags: tags}); err != nil {
			return err
		}
		for pn, doc := range policies {
			if err := tx.PutInlinePolicy(account.UserRef(name), pn, doc); err != nil {
				return err
			}
		}
		var err error
		k, err = tx.CreateAccessKey(name)
		return err
	})
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// client returns an SDK STS client signing with creds (anonymous when empty).
func (f *fixture) client(creds aws.Credentials) *awssts.Client {
	return awssts.New(awssts.Options{
		BaseEndpoint:     aws.String(f.srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		HTTPClient:       f.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// role creates a role with a trust policy and inline policies.
func (f *fixture) role(name, trust string, maxSession time.Duration, policies map[string]string, tags ...account.Tag) account.Role {
	f.t.Helper()
	var r account.Role
	f.update(func(tx *store.Tx) error {
		var err error
		r, err = tx.CreateRole(account.Role{Name: name, AssumeRolePolicy: trust, MaxSessionDuration: maxSession, Tags: tags})
		if err != nil {
			return err
		}
		for pn, doc := range policies {
			if err := tx.PutInlinePolicy(account.RoleRef(name), pn, doc); err != nil {
				return err
			}
		}
		return nil
	})
	return r
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

func staticCreds(c aws.Credentials) aws.CredentialsProvider {
	return credentials.StaticCredentialsProvider{Value: c}
}
