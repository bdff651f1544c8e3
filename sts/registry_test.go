package sts_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// getUserResult renders by encoding/xml, as most IAM results will.
type getUserResult struct {
	User struct {
		Path       string          `xml:"Path"`
		UserName   string          `xml:"UserName"`
		UserID     string          `xml:"UserId"`
		Arn        string          `xml:"Arn"`
		CreateDate query.Timestamp `xml:"CreateDate"`
	} `xml:"User"`
}

// iamService is a two-action IAM service, as the IAM API package registers its own.
func iamService(t *testing.T) *sts.Service {
	raw, err := os.ReadFile("iamapi/model_iam.json.gz") // the IAM API's embedded model
	if err != nil {
		t.Fatal(err)
	}
	model, err := query.LoadModel(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &sts.Service{Model: model, DenyReasons: true, Actions: map[string]sts.Action{
		"GetUser": {Handler: func(ctx context.Context, c *sts.Call) (any, error) {
			name := c.Params.String("UserName")
			if name == "" {
				name = c.Caller.Principal.Username
			}
			var u account.User
			if err := c.Store().View(ctx, func(tx *store.Tx) error {
				var err error
				u, err = tx.User(name)
				return err
			}); err != nil {
				return nil, err
			}
			if err := c.Authorize("iam:GetUser", u.ARN); err != nil {
				return nil, err
			}
			var r getUserResult
			r.User.Path, r.User.UserName, r.User.UserID, r.User.Arn = u.Path, u.Name, u.ID, u.ARN
			r.User.CreateDate = query.Timestamp(u.Created)
			return &r, nil
		}},
		"DeleteAccountAlias": {Handler: func(ctx context.Context, c *sts.Call) (any, error) {
			return nil, c.Authorize("iam:DeleteAccountAlias", "*")
		}},
	}}
}

func iamClient(f *fixture, creds aws.Credentials) *iam.Client {
	return iam.New(iam.Options{
		BaseEndpoint:     aws.String(f.srv.URL),
		Region:           "us-east-1",
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		HTTPClient:       f.srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestRegisteredServiceIAM(t *testing.T) {
	f := newFixture(t)
	if err := f.core.Register(iamService(t)); err != nil {
		t.Fatal(err)
	}
	reader := f.user("reader", map[string]string{"get": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}`})
	c := iamClient(f, reader)

	out, err := c.GetUser(f.ctx, &iam.GetUserInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.User.UserName != "reader" || *out.User.Arn != "arn:aws:iam::123456789012:user/reader" ||
		out.User.CreateDate.IsZero() || out.User.CreateDate.Nanosecond() != 0 {
		t.Errorf("GetUser: %+v", out.User)
	}

	_, err = c.GetUser(f.ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	assertAPIError(t, err, "NoSuchEntity", "The user with name nobody cannot be found.", 404)

	_, err = c.DeleteAccountAlias(f.ctx, &iam.DeleteAccountAliasInput{AccountAlias: aws.String("my-alias")})
	assertAPIError(t, err, "AccessDenied", "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: iam:DeleteAccountAlias because no identity-based policy allows the iam:DeleteAccountAlias action", 403)

	// Validation runs on the IAM model: an existing user's name has at most 128
	// characters (existingUserNameType), and no spaces.
	_, err = c.GetUser(f.ctx, &iam.GetUserInput{UserName: aws.String(strings.Repeat("u", 129))})
	assertAPIError(t, err, "ValidationError", "1 validation error detected: Value '"+strings.Repeat("u", 129)+"' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128", 400)
	_, err = c.GetUser(f.ctx, &iam.GetUserInput{UserName: aws.String("a b")})
	assertAPIError(t, err, "ValidationError", `1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`, 400)

	// An action the registered service does not have.
	_, err = c.ListUsers(f.ctx, &iam.ListUsersInput{})
	assertAPIError(t, err, "InvalidAction", "Could not find operation ListUsers for version 2010-05-08", 400)
}

func TestRegisterRefusesUnknownAction(t *testing.T) {
	f := newFixture(t)
	svc := iamService(t)
	svc.Actions["NoSuchAction"] = sts.Action{Handler: func(context.Context, *sts.Call) (any, error) { return nil, nil }}
	if err := f.core.Register(svc); err == nil {
		t.Fatal("Register accepted an action its model does not have")
	}
}

// assertAPIError checks an SDK error's code, message and HTTP status.
func assertAPIError(t *testing.T, err error, code, message string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	if ae.ErrorCode() != code || (message != "" && ae.ErrorMessage() != message) {
		t.Errorf("error %s: %q\nwant  %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
	if status != 0 {
		if got := httpStatus(err); got != status {
			t.Errorf("%s: HTTP status %d, want %d", code, got, status)
		}
	}
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// An IAM request whose signature fails is answered in IAM's namespace.
func TestErrorsInTheRequestedAPINamespace(t *testing.T) {
	f := newFixture(t)
	if err := f.core.Register(iamService(t)); err != nil {
		t.Fatal(err)
	}
	_, body := f.rawCall(aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: strings.Repeat("s", 40)}, "iam", "Action=GetUser&Version=2010-05-08", f.clock.Now())
	if !strings.Contains(body, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`) || !strings.Contains(body, "InvalidClientTokenId") {
		t.Errorf("%s", body)
	}
}
