package iamapi_test

import (
	"context"
	"encoding/base32"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/internal/coretest"
	"github.com/credbroker/credbroker/sts/store"
)

const testAccount = coretest.Account

// fixture is a core with the IAM API over a memory store, served by httptest
// (coretest's), with the names these tests use.
type fixture struct {
	c     *coretest.Core
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
	var api *iamapi.API
	c := coretest.New(t, func(o *coretest.Options) {
		o.RunningClock = real
		o.Register = func(core *sts.Core) (err error) {
			api, err = iamapi.Register(core, func(o *iamapi.Options) { o.Argon2id = cheapHash })
			return err
		}
	})
	f := &fixture{c: c, t: t, ctx: c.Ctx, store: c.Store, core: c.Core, api: api, srv: c.Srv, clock: c.Clock}
	f.update(func(tx *store.Tx) error {
		k, err := tx.CreateAccessKey(account.RootUserName)
		f.root = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	})
	return f
}

// update runs fn in a store transaction and fails the test on error.
func (f *fixture) update(fn func(tx *store.Tx) error) { f.t.Helper(); f.c.Update(fn) }

// client returns an IAM client signing with creds.
func (f *fixture) client(creds aws.Credentials) *iam.Client {
	return iam.NewFromConfig(f.c.Config(creds))
}

// rootClient signs as the account's root user.
func (f *fixture) rootClient() *iam.Client { return f.client(f.root) }

// user creates an IAM user with managed policies attached and an access key, through
// the store, and returns the key.
func (f *fixture) user(name string, managed ...string) aws.Credentials {
	f.t.Helper()
	return f.c.User(name, coretest.Entity{Managed: managed})
}

// inlineUser creates a user with one inline policy and an access key.
func (f *fixture) inlineUser(name, doc string) aws.Credentials {
	f.t.Helper()
	return f.c.User(name, coretest.Entity{Inline: map[string]string{"p": doc}})
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

// in is the input of an SDK call by field name; a value for a pointer field may be
// given without the pointer (a string for a *string).
type in map[string]any

// call calls the iam.Client method action (ListUsers, …) with an input made of params
// and answers its output (*iam.ListUsersOutput, …) and error: for tables of cases that
// differ only in the action and its parameters.
func call(t testing.TB, ctx context.Context, c *iam.Client, action string, params in) (any, error) {
	t.Helper()
	m := reflect.ValueOf(c).MethodByName(action)
	if !m.IsValid() {
		t.Fatalf("iam.Client has no method %s", action)
	}
	input := reflect.New(m.Type().In(1).Elem())
	for name, v := range params {
		f, val := input.Elem().FieldByName(name), reflect.ValueOf(v)
		if f.Kind() == reflect.Pointer && val.Kind() != reflect.Pointer {
			p := reflect.New(val.Type())
			p.Elem().Set(val)
			val = p
		}
		if !f.IsValid() || !val.Type().AssignableTo(f.Type()) {
			t.Fatalf("%sInput has no field %s of type %T", action, name, v)
		}
		f.Set(val)
	}
	res := m.Call([]reflect.Value{reflect.ValueOf(ctx), input})
	err, _ := res[1].Interface().(error)
	return res[0].Interface(), err
}

// errCase is an SDK call that fails: action with params answers code, HTTP status
// and (when msg is not empty) a message containing msg.
type errCase struct {
	action string
	params in
	code   string
	status int
	msg    string
}

// wantErrs runs each case, named by its key, as the client c.
func wantErrs(t *testing.T, ctx context.Context, c *iam.Client, cases map[string]errCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantErr(t, ignore(call(t, ctx, c, tc.action, tc.params)), tc.code, tc.status, tc.msg)
		})
	}
}

// field returns what the field name of an SDK call's output holds, or the call's error.
func field[V any](name string) func(out any, err error) (V, error) {
	return func(out any, err error) (V, error) {
		var v V
		if err != nil {
			return v, err
		}
		return reflect.ValueOf(out).Elem().FieldByName(name).Interface().(V), nil
	}
}

// userGroupRole makes the user u, the group g and the role r (trusting EC2).
func (f *fixture) userGroupRole() {
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](f.t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	must[*iam.CreateGroupOutput](f.t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	must[*iam.CreateRoleOutput](f.t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
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
