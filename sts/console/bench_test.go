package console_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credbroker/credbroker/internal/inprocess"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// benchUsers is the size of the account the pages are measured with.
const benchUsers = 10_000

// bigAccount fills f's account with benchUsers users (each with a console
// password, half with an access key, in one of 20 groups), 20 groups, a policy
// attached to each, and 50 roles.
func bigAccount(b *testing.B, f *fixture) {
	b.Helper()
	hash, err := account.DefaultArgon2id().Hash("Bench-Passw0rd!", rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	err = f.st.Update(ctx, func(tx *store.Tx) error {
		for g := range 20 {
			if _, err := tx.CreateGroup(account.Group{Name: fmt.Sprintf("group-%02d", g)}); err != nil {
				return err
			}
			if err := tx.AttachPolicy(account.GroupRef(fmt.Sprintf("group-%02d", g)), "arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
				return err
			}
		}
		for r := range 50 {
			if _, err := tx.CreateRole(account.Role{Name: fmt.Sprintf("role-%02d", r), MaxSessionDuration: time.Hour,
				AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < benchUsers; start += 1000 {
		err := f.st.Update(ctx, func(tx *store.Tx) error {
			for i := start; i < start+1000; i++ {
				name := fmt.Sprintf("user-%05d", i)
				if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
					return err
				}
				if _, err := tx.CreateLoginProfile(account.LoginProfile{UserName: name, PasswordHash: hash}); err != nil {
					return err
				}
				if i%2 == 0 {
					if _, err := tx.CreateAccessKey(name); err != nil {
						return err
					}
				}
				if err := tx.AddUserToGroup(fmt.Sprintf("group-%02d", i%20), name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPages measures the server time of every page (the console's handler
// called directly, as signed-in root) in an account of 10,000 users, next to the
// yardstick of one IAM call the users page makes (ListUsers, 100 users, through
// the SDK in-process).
func BenchmarkPages(b *testing.B) {
	f := newFixtureTTL(b, 4*time.Hour)
	bigAccount(b, f)
	jar := f.browser(b)
	resp := postForm(b, jar, f.srv.URL+"/console/signin", url.Values{"account": {f.dev.AccountID}, "kind": {"root"}, "password": {rootPassword}, "csrf": {signinCSRFOf(b, f, jar)}})
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		b.Fatalf("root sign-in: %d", resp.StatusCode)
	}
	h := f.console.Handler()
	policyARN := url.QueryEscape("arn:aws:iam::aws:policy/AdministratorAccess")
	pages := []string{"/console/", "/console/users", "/console/users/user-05000", "/console/groups",
		"/console/groups/group-07", "/console/roles", "/console/roles/role-07", "/console/policies",
		"/console/policy?arn=" + policyARN, "/console/account", "/console/credential-report"}
	get := func(b *testing.B, path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "127.0.0.1:8913" // the console answers to addresses, not example.com
		req.AddCookie(cookies[0])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
		}
	}
	for _, p := range pages {
		get(b, p) // the first credential report, outside the timing
	}
	b.Run("yardstick=ListUsers100", func(b *testing.B) {
		creds := f.devAdminCreds(b)
		cl := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://core.test"),
			HTTPClient:  &http.Client{Transport: inprocess.Transport(f.core.Handler())},
			Credentials: credentials.StaticCredentialsProvider{Value: creds}})
		for b.Loop() {
			if _, err := cl.ListUsers(context.Background(), &iam.ListUsersInput{MaxItems: aws.Int32(100)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, p := range pages {
		b.Run("page="+p, func(b *testing.B) {
			for b.Loop() {
				get(b, p)
			}
		})
	}
}
