package iamapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/iamapi"
	"github.com/credbroker/credbroker/sts/internal/coretest"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store"
)

// largeAccount is a core over a bbolt file holding 10,000 users (in 20 groups) and
// 2,000 roles, served on loopback, with an administrator's key.
type largeAccount struct {
	srv   *httptest.Server
	admin aws.Credentials
}

func newLargeAccount(b *testing.B, users, roles int) *largeAccount {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	if err := store.WriteKeyFile(keyFile, rand.Reader); err != nil {
		b.Fatal(err)
	}
	cat, err := policy.BuiltinCatalog()
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.OpenFile(ctx, filepath.Join(dir, "core.db"), store.FileKey(keyFile), func(o *store.Options) {
		o.AccountID = testAccount
		o.AWSManagedPolicyExists = func(arn string) bool { _, ok := cat.Lookup(arn); return ok }
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	la := &largeAccount{}
	err = st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreatePolicy(account.ManagedPolicy{Name: "DevelopersAccess"}, devPolicy); err != nil {
			return err
		}
		for g := range 20 {
			name := fmt.Sprintf("group-%02d", g)
			if _, err := tx.CreateGroup(account.Group{Name: name}); err != nil {
				return err
			}
			if err := tx.AttachPolicy(account.GroupRef(name), "arn:aws:iam::123456789012:policy/DevelopersAccess"); err != nil {
				return err
			}
		}
		for i := range users {
			name := fmt.Sprintf("user-%05d", i)
			if _, err := tx.CreateUser(account.User{Name: name, Path: "/staff/", Tags: account.Tags{{Key: "n", Value: name}}}); err != nil {
				return err
			}
			if err := tx.AddUserToGroup(fmt.Sprintf("group-%02d", i%20), name); err != nil {
				return err
			}
		}
		for i := range roles {
			name := fmt.Sprintf("role-%04d", i)
			if _, err := tx.CreateRole(account.Role{Name: name, Path: "/app/", AssumeRolePolicy: ec2Trust, Description: "role " + name}); err != nil {
				return err
			}
			if err := tx.AttachPolicy(account.RoleRef(name), "arn:aws:iam::123456789012:policy/DevelopersAccess"); err != nil {
				return err
			}
		}
		if _, err := tx.CreateUser(account.User{Name: "admin"}); err != nil {
			return err
		}
		if err := tx.AttachPolicy(account.UserRef("admin"), adminARN); err != nil {
			return err
		}
		k, err := tx.CreateAccessKey("admin")
		la.admin = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	core, err := sts.New(ctx, st, func(o *sts.Options) { o.Catalog = cat })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { core.Close() })
	if _, err := iamapi.Register(core); err != nil {
		b.Fatal(err)
	}
	la.srv = httptest.NewServer(core.Handler())
	b.Cleanup(la.srv.Close)
	return la
}

// sign records one IAM request to base, signed once to be replayed.
func sign(b *testing.B, creds aws.Credentials, base string, form url.Values) *coretest.Replay {
	b.Helper()
	form.Set("Version", "2010-05-08")
	body := []byte(form.Encode())
	req, err := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		b.Fatal(err)
	}
	return coretest.Record(b, req)
}

// latencies sends r b.N times, one after another on one keep-alive connection, and
// reports p50 and p99 in milliseconds.
func latencies(b *testing.B, r *coretest.Replay, client *http.Client) {
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		r.Do(b, client)
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(d)
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkLoopback measures List and Get calls (and a 50×10 simulation) on an account
// of 10,000 users and 2,000 roles, over loopback, each next to its yardstick: a
// trivial handler that answers the same bytes, served and called the same way. The
// difference is the core's work: SigV4, authorization, the store, the XML.
//
//	go test -run '^$' -bench Loopback -benchtime 2000x ./sts/iamapi/
func BenchmarkLoopback(b *testing.B) {
	la := newLargeAccount(b, 10000, 2000)
	client := la.srv.Client()
	actions := make([]string, 0, 50)
	for _, svc := range []string{"s3", "logs", "iam", "ec2", "sqs"} {
		for i := range 10 {
			actions = append(actions, fmt.Sprintf("%s:Action%d", svc, i))
		}
	}
	actions[0], actions[1], actions[10] = "s3:GetObject", "s3:PutObject", "logs:PutLogEvents"
	sim := url.Values{"Action": {"SimulatePrincipalPolicy"}, "PolicySourceArn": {"arn:aws:iam::123456789012:user/staff/user-00042"}, "MaxItems": {"1000"}}
	for i, a := range actions {
		sim.Set(fmt.Sprintf("ActionNames.member.%d", i+1), a)
	}
	for i := range 10 {
		sim.Set(fmt.Sprintf("ResourceArns.member.%d", i+1), fmt.Sprintf("arn:aws:s3:::app-bucket/object-%d", i))
	}
	cases := []struct {
		name string
		form url.Values
	}{
		{"ListUsers", url.Values{"Action": {"ListUsers"}}},
		{"ListUsers-page50", url.Values{"Action": {"ListUsers"}, "PathPrefix": {"/staff/"}, "MaxItems": {"100"}}},
		{"GetUser", url.Values{"Action": {"GetUser"}, "UserName": {"user-05000"}}},
		{"ListGroupsForUser", url.Values{"Action": {"ListGroupsForUser"}, "UserName": {"user-07777"}}},
		{"ListRoles", url.Values{"Action": {"ListRoles"}}},
		{"GetRole", url.Values{"Action": {"GetRole"}, "RoleName": {"role-1500"}}},
		{"ListAttachedRolePolicies", url.Values{"Action": {"ListAttachedRolePolicies"}, "RoleName": {"role-1500"}}},
		{"GetGroup", url.Values{"Action": {"GetGroup"}, "GroupName": {"group-07"}}},
		{"GetAccountAuthorizationDetails", url.Values{"Action": {"GetAccountAuthorizationDetails"}}},
		{"GetAccountSummary", url.Values{"Action": {"GetAccountSummary"}}},
		{"SimulatePrincipalPolicy-50x10", sim},
	}
	for _, tc := range cases {
		r := sign(b, la.admin, la.srv.URL, tc.form)
		if tc.name == "ListUsers-page50" { // start in the middle of the list
			body := r.Do(b, client)
			for range 49 {
				m := between(string(body), "<Marker>", "</Marker>")
				tc.form.Set("Marker", m)
				r = sign(b, la.admin, la.srv.URL, tc.form)
				body = r.Do(b, client)
			}
		}
		body := r.Do(b, client)
		yard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write(body)
		}))
		ys := *r // the same request, to the yardstick
		ys.URL = yard.URL + "/"
		b.Run(tc.name+"/core", func(b *testing.B) { latencies(b, r, client) })
		b.Run(tc.name+"/yardstick", func(b *testing.B) { latencies(b, &ys, yard.Client()) })
		b.Logf("%s: %d bytes", tc.name, len(body))
		yard.Close()
	}
}

func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(rest, end)
	return v
}
