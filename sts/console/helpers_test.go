package console_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/logtest"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/console"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/store"
)

// fixture is the demo account's core with IAM and the console, on an HTTP server
// routed as the daemon's core listener is.
type fixture struct {
	core    *sts.Core
	st      *store.Store
	dev     sts.DevAccount
	console *console.Console
	srv     *httptest.Server
	log     *logtest.Buffer
}

// rootPassword is the root user's console password in the fixture.
const rootPassword = "Root-Passw0rd!-for-tests"

func newFixture(t testing.TB, optFns ...func(*console.Options)) *fixture {
	t.Helper()
	return newFixtureTTL(t, time.Second, optFns...)
}

// newFixtureTTL is newFixture with a credential report that lasts ttl.
func newFixtureTTL(t testing.TB, ttl time.Duration, optFns ...func(*console.Options)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, dev, err := sts.OpenDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	core, err := sts.New(ctx, st, func(o *sts.Options) { o.Logger = log })
	if err != nil {
		t.Fatal(err)
	}
	// newFixture's credential report lasts a second (not IAM's four hours), so
	// that the dashboard follows each change soon.
	if _, err := iamapi.Register(core, func(o *iamapi.Options) { o.CredentialReportTTL = ttl }); err != nil {
		t.Fatal(err)
	}
	con, err := console.New(core, append([]func(*console.Options){func(o *console.Options) { o.Logger = log.Named("console") }}, optFns...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(core, con)
	t.Cleanup(func() { srv.Close(); core.Close(); st.Close() })
	f := &fixture{core: core, st: st, dev: dev, console: con, srv: srv, log: logs}
	f.setPassword(t, account.RootUserName, rootPassword, false)
	return f
}

// serve serves con and core on an HTTP server, routed as the daemon's core
// listener is.
func serve(core *sts.Core, con *console.Console) *httptest.Server {
	ch := con.Handler()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Serves(r.URL.Path) {
			ch.ServeHTTP(w, r)
			return
		}
		core.Handler().ServeHTTP(w, r)
	}))
}

// setPassword gives a user (created if missing) a console password, as `core
// init` and `core root-password` do (sts.SetConsolePassword: the password policy
// applied, hashed as IAM's).
func (f *fixture) setPassword(t testing.TB, user, password string, reset bool) {
	t.Helper()
	ctx := context.Background()
	if user != account.RootUserName {
		if err := f.st.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateUser(account.User{Name: user})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sts.SetConsolePassword(ctx, f.st, user, password, reset); err != nil {
		t.Fatal(err)
	}
}

// devAdminCreds assumes dev-admin with the user dev's key, through the Go SDK.
func (f *fixture) devAdminCreds(t testing.TB) aws.Credentials {
	t.Helper()
	c := awssts.New(awssts.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(f.dev.AccessKeyID, f.dev.SecretAccessKey, "")})
	out, err := c.AssumeRole(context.Background(), &awssts.AssumeRoleInput{RoleArn: aws.String(f.dev.RoleARN), RoleSessionName: aws.String("console-test")})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey), SessionToken: aws.ToString(cr.SessionToken)}
}

// adminIAM is an IAM client of the Go SDK signed as dev-admin, to set up and
// check what the console does.
func (f *fixture) adminIAM(t testing.TB) *iam.Client {
	t.Helper()
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.srv.URL),
		Credentials: credentials.StaticCredentialsProvider{Value: f.devAdminCreds(t)}})
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
func (f *fixture) browser(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// mustGet is c.Get(u), failing the test on a transport error.
func mustGet(t testing.TB, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func postForm(t testing.TB, c *http.Client, u string, v url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
