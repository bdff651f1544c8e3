package iamapi_test

import (
	"context"
	"encoding/base32"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store"
)

const testAccount = "123456789012"

// fixture is a core with the IAM API over a memory store, served by httptest.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *store.Store
	core  *sts.Core
	api   *iamapi.API
	srv   *httptest.Server
	clock *clocktest.Clock
	root  aws.Credentials
}

// cheapHash keeps password hashing fast in tests; production uses the defaults.
var cheapHash = account.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}

func newFixture(t testing.TB) *fixture { return newFixtureClock(t, false) }

// newFixtureClock is newFixture with a clock that runs (real) or stands still.
func newFixtureClock(t testing.TB, real bool) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(time.Now().UTC().Truncate(time.Second))
	if real {
		clk.Run()
	}
	cat, err := policy.BuiltinCatalog()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenMemory(ctx, testAccount, func(o *store.Options) {
		o.Now = clk.Now
		o.UsageFlushInterval = -1
		o.AWSManagedPolicyExists = func(arn string) bool { _, ok := cat.Lookup(arn); return ok }
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	core, err := sts.New(ctx, st, func(o *sts.Options) {
		o.Now = clk.Now
		o.Catalog = cat
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	api, err := iamapi.Register(core, func(o *iamapi.Options) { o.Argon2id = cheapHash })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(core.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{t: t, ctx: ctx, store: st, core: core, api: api, srv: srv, clock: clk}
	f.update(func(tx *store.Tx) error {
		k, err := tx.CreateAccessKey(account.RootUserName)
		f.root = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	})
	return f
}

// update runs fn in a store transaction and fails the test on error.
func (f *fixture) update(fn func(tx *store.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// client returns an IAM client signing with creds.
func (f *fixture) client(creds aws.Credentials) *iam.Client {
	return iam.New(iam.Options{
		BaseEndpoint:     aws.String(f.srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		HTTPClient:       f.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// rootClient signs as the account's root user.
func (f *fixture) rootClient() *iam.Client { return f.client(f.root) }

// user creates an IAM user with managed policies attached and an access key, through
// the store, and returns the key.
func (f *fixture) user(name string, managed ...string) aws.Credentials {
	f.t.Helper()
	var k account.AccessKey
	f.update(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
			return err
		}
		for _, arn := range managed {
			if err := tx.AttachPolicy(account.UserRef(name), arn); err != nil {
				return err
			}
		}
		var err error
		k, err = tx.CreateAccessKey(name)
		return err
	})
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// inlineUser creates a user with one inline policy and an access key.
func (f *fixture) inlineUser(name, doc string) aws.Credentials {
	f.t.Helper()
	var k account.AccessKey
	f.update(func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
			return err
		}
		if err := tx.PutInlinePolicy(account.UserRef(name), "p", doc); err != nil {
			return err
		}
		var err error
		k, err = tx.CreateAccessKey(name)
		return err
	})
	return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
}

// wantErr checks that err is the AWS error code with HTTP status and (when msg is
// not empty) a message containing msg.
func wantErr(t testing.TB, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("error code %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	if msg != "" && !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("message %q, want it to contain %q", ae.ErrorMessage(), msg)
	}
	var re *awshttp.ResponseError
	if status != 0 && errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: HTTP status %d, want %d", code, re.HTTPStatusCode(), status)
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const (
	adminARN       = "arn:aws:iam::aws:policy/AdministratorAccess"
	iamReadOnlyARN = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
	powerUserARN   = "arn:aws:iam::aws:policy/PowerUserAccess"
)

const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

type storeTx = store.Tx

// base32NoPad decodes a Base32StringSeed (no padding, maybe a trailing newline).
func base32NoPad(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimSpace(s))
}
