package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/credbroker/credbroker/sts"
)

// FuzzDestination: whatever Destination a login names, the browser is sent to a
// path of this console, never off it.
func FuzzDestination(f *testing.F) {
	for _, s := range []string{"/console/users", "https://evil.example/console/", "//evil/console/", "/console/../x",
		"/console/%2e%2e/x", "javascript:alert(1)", "/console/\\evil", "http://h/console/a?b=c#d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dest string) {
		got := destination(dest)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, Prefix+"/") || strings.HasPrefix(got, "//") ||
			strings.Contains(got, "\\") || strings.Contains(u.Path, "/../") {
			t.Fatalf("destination(%q) = %q", dest, got)
		}
	})
}

// FuzzFederationAndSignIn: whatever a browser or a script sends to /federation
// and /console/signin, the console answers without failing (no 5xx) and never sets
// a session cookie.
func FuzzFederationAndSignIn(f *testing.F) {
	ctx := context.Background()
	st, _, err := sts.OpenDev(ctx)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	core, err := sts.New(ctx, st)
	if err != nil {
		f.Fatal(err)
	}
	defer core.Close()
	c, err := New(core)
	if err != nil {
		f.Fatal(err)
	}
	h := c.Handler()
	f.Add("Action=getSigninToken&Session=%7B%22sessionId%22%3A%22ASIA%22%2C%22sessionKey%22%3A%22k%22%2C%22sessionToken%22%3A%22t%22%7D", "")
	f.Add("Action=login&SigninToken=abc&Destination=%2Fconsole%2F", "")
	f.Add("Action=getSigninToken&SessionDuration=99999999999999999999", "Session={}")
	f.Add("", "account=123456789012&kind=root&password=x")
	f.Add("", "pending=zzz&mfa=123456")
	f.Fuzz(func(t *testing.T, query, body string) {
		for _, path := range []string{FederationPath, Prefix + "/signin"} {
			// With the sign-in form's token, so that the fuzzed fields reach the sign-in.
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body+"&csrf=fuzz"))
			req.URL.RawQuery = query
			req.AddCookie(&http.Cookie{Name: signinCookie, Value: "fuzz"})
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("POST %s?%q body %q: %d %s", path, query, body, rec.Code, rec.Body.String())
			}
			if ck := rec.Result().Cookies(); len(ck) > 0 && ck[0].MaxAge >= 0 {
				t.Fatalf("POST %s?%q body %q set a session cookie", path, query, body)
			}
		}
	})
}

// TestListAllPages: listAll follows IsTruncated and Marker to the last page and
// sets the principal's name on every request.
func TestListAllPages(t *testing.T) {
	pages := map[string]*iam.ListUserPoliciesOutput{
		"":   {PolicyNames: []string{"a", "b"}, IsTruncated: true, Marker: aws.String("m1")},
		"m1": {PolicyNames: []string{"c"}},
	}
	list := func(_ context.Context, in *iam.ListUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error) {
		if aws.ToString(in.UserName) != "carol" {
			t.Errorf("UserName %q", aws.ToString(in.UserName))
		}
		return pages[aws.ToString(in.Marker)], nil
	}
	got, err := listAll[iam.ListUserPoliciesInput, iam.ListUserPoliciesOutput, string](context.Background(), list,
		map[string]*string{"UserName": aws.String("carol")}, "PolicyNames")
	if err != nil || strings.Join(got, ",") != "a,b,c" {
		t.Errorf("listAll = %v, %v", got, err)
	}
}
