package imds

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/google/go-cmp/cmp"
)

func TestContainerResponses(t *testing.T) {
	e := newEnv(t, nil, nil)
	bound, _ := NewToken(nil)
	if err := e.tokens.Add(bound, "ci-deploy"); err != nil {
		t.Fatal(err)
	}
	near := e.token[:len(e.token)-1] + string(e.token[len(e.token)-1]^1)
	u := e.contSrv.URL
	cases := map[string]struct {
		method, path string
		hdr          map[string]string
		twoAuth      bool
		status       int
		code         string
		role         string // on success: whose credentials
	}{
		"credentials":           {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token}, status: 200, role: "dev-admin"},
		"bound token":           {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": bound}, status: 200, role: "ci-deploy"},
		"missing token":         {method: "GET", path: "/v1/credentials", status: 401, code: "MissingAuthorizationToken"},
		"empty token":           {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": ""}, status: 401, code: "MissingAuthorizationToken"},
		"wrong token":           {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": "not-the-token-at-all"}, status: 403, code: "InvalidAuthorizationToken"},
		"token off by one bit":  {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": near}, status: 403, code: "InvalidAuthorizationToken"},
		"bearer prefix":         {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": "Bearer " + e.token}, status: 403, code: "InvalidAuthorizationToken"},
		"two tokens":            {method: "GET", path: "/v1/credentials", twoAuth: true, status: 403, code: "InvalidAuthorizationToken"},
		"wrong path":            {method: "GET", path: "/v2/credentials", hdr: map[string]string{"Authorization": e.token}, status: 404, code: "NotFound"},
		"POST":                  {method: "POST", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token}, status: 405, code: "MethodNotAllowed"},
		"wrong host":            {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token, "Host": "attacker.example"}, status: 403, code: "Forbidden"},
		"ecs host":              {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token, "Host": "169.254.170.2"}, status: 200, role: "dev-admin"},
		"eks host v6":           {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token, "Host": "[fd00:ec2::23]"}, status: 200, role: "dev-admin"},
		"imds host not allowed": {method: "GET", path: "/v1/credentials", hdr: map[string]string{"Authorization": e.token, "Host": "169.254.169.254"}, status: 403, code: "Forbidden"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, u+c.path, nil)
			for k, v := range c.hdr {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header[k] = []string{v}
				}
			}
			if c.twoAuth {
				req.Header["Authorization"] = []string{e.token, e.token}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if c.status != 200 {
				if body["code"] != c.code || body["message"] == "" {
					t.Errorf("error body %v, want code %s and a message", body, c.code)
				}
				for _, tok := range []string{e.token, bound, e.token[:8], bound[:8]} {
					if strings.Contains(body["message"], tok) {
						t.Errorf("error message hints at a token: %q", body["message"])
					}
				}
				return
			}
			want := e.src.current(c.role)
			exp := map[string]string{
				"AccessKeyId": want.AccessKeyID, "SecretAccessKey": want.SecretAccessKey, "Token": want.SessionToken,
				"Expiration": want.Expiration.UTC().Format("2006-01-02T15:04:05Z"),
				"AccountId":  "123456789012", "RoleArn": "arn:aws:iam::123456789012:role/" + c.role,
			}
			if d := cmp.Diff(exp, body); d != "" {
				t.Errorf("credentials (-want +got):\n%s", d)
			}
			if got := e.src.lastCaller(); got.Endpoint != EndpointContainer || (c.role == "ci-deploy") != (got.BoundRole == "ci-deploy") {
				t.Errorf("source saw caller %+v", got)
			}
		})
	}
	if strings.Contains(e.log.String(), e.token) || strings.Contains(e.log.String(), bound) {
		t.Errorf("a token reached the log:\n%s", e.log.String())
	}
}

func TestContainerSourceFailures(t *testing.T) {
	e := newEnv(t, nil, func(o *ContainerOptions) { o.SourceTimeout = 50 * time.Millisecond })
	cases := []struct {
		name   string
		set    func(*fakeSource)
		status int
		code   string
	}{
		{"upstream", func(f *fakeSource) { f.err = fmt.Errorf("%w: AccessDenied: nope", ErrUpstream) }, 500, "CredentialsUnavailable"},
		{"not ready", func(f *fakeSource) { f.err = fmt.Errorf("refreshing: %w", ErrNotReady) }, 500, "CredentialsNotReady"},
		{"slow source", func(f *fakeSource) { f.block = true }, 500, "CredentialsNotReady"},
		{"no role", func(f *fakeSource) { f.roleErr = ErrNoRole }, 403, "NoRole"},
		{"role lookup fails", func(f *fakeSource) { f.roleErr = fmt.Errorf("peer lookup: %w", ErrUpstream) }, 500, "CredentialsUnavailable"},
		{"panic", func(f *fakeSource) { f.panicked = true }, 500, "InternalError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.src.set(c.set)
			defer func() { // end the streak with a success
				e.src.set(resetFake)
				if st, _, body := do(t, "GET", e.contSrv.URL+"/v1/credentials", map[string]string{"Authorization": e.token}); st != 200 {
					t.Errorf("after recovery: %d %s", st, body)
				}
			}()
			for i := 0; i < 2; i++ {
				st, _, body := do(t, "GET", e.contSrv.URL+"/v1/credentials", map[string]string{"Authorization": e.token})
				var eb errorBody
				if err := json.Unmarshal([]byte(body), &eb); err != nil || st != c.status || eb.Code != c.code {
					t.Fatalf("%d %s, want %d %s", st, body, c.status, c.code)
				}
				if strings.Contains(body, "AccessDenied") || strings.Contains(body, "exploded") {
					t.Fatalf("cause leaked to the client: %s", body)
				}
			}
		})
	}
	logs := e.log.String()
	if !strings.Contains(logs, "request handler panicked") || !strings.Contains(logs, "fake source exploded") {
		t.Errorf("panic not logged:\n%s", logs)
	}
	if n := strings.Count(logs, "cannot serve credentials"); n != 3 {
		t.Errorf("%d credential failure lines, want 3 (one per streak):\n%s", n, logs)
	}
	if n := strings.Count(logs, "cannot look up the caller's role"); n != 1 {
		t.Errorf("%d role lookup failure lines, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs, "serving credentials again"); n != 4 {
		t.Errorf("%d recovery lines, want 4:\n%s", n, logs)
	}
}

// TestSDKEndpointCreds runs the Go SDK's container provider with a token
// and, through config.LoadDefaultConfig as applications do, with the token
// file, including a token rotation and a credential rotation.
func TestSDKEndpointCreds(t *testing.T) {
	e := newEnv(t, nil, nil)
	uri := e.contSrv.URL + DefaultContainerPath
	t.Run("token", func(t *testing.T) {
		p := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = e.token })
		got, err := p.Retrieve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := e.src.current("dev-admin")
		if got.AccessKeyID != want.AccessKeyID || got.SessionToken != want.SessionToken || got.AccountID != "123456789012" ||
			!got.CanExpire || !got.Expires.Equal(want.Expiration.Truncate(time.Second)) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		p := endpointcreds.New(uri, func(o *endpointcreds.Options) { o.AuthorizationToken = "wrong-wrong-wrong-wrong" })
		_, err := p.Retrieve(context.Background())
		if err == nil || !strings.Contains(err.Error(), "InvalidAuthorizationToken") {
			t.Fatalf("err %v, want InvalidAuthorizationToken", err)
		}
	})
	t.Run("token file", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "container-token")
		if err := WriteTokenFile(file, e.token); err != nil {
			t.Fatal(err)
		}
		isolateAWSEnv(t, dir)
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file)
		retrieve := func() aws.Credentials {
			t.Helper()
			cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-3"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		first := retrieve()
		if first.AccessKeyID != e.src.current("dev-admin").AccessKeyID || first.Source != endpointcreds.ProviderName {
			t.Fatalf("got %s from %s", first.AccessKeyID, first.Source)
		}
		// Rotate the token as the broker does: accept the new one, write the
		// file, retire the old one; and let the source rotate its credentials.
		next, _ := NewToken(nil)
		if err := e.tokens.Add(next, ""); err != nil {
			t.Fatal(err)
		}
		if err := WriteTokenFile(file, next); err != nil {
			t.Fatal(err)
		}
		e.tokens.Remove(e.token)
		e.clock.Advance(50 * time.Minute)
		second := retrieve()
		if second.AccessKeyID == first.AccessKeyID || second.AccessKeyID != e.src.current("dev-admin").AccessKeyID {
			t.Fatalf("after rotation got %s (first %s)", second.AccessKeyID, first.AccessKeyID)
		}
		if st, _, _ := do(t, "GET", uri, map[string]string{"Authorization": e.token}); st != 403 {
			t.Errorf("retired token: %d, want 403", st)
		}
	})
}

// isolateAWSEnv clears every AWS_* variable and points the shared files away.
func isolateAWSEnv(t *testing.T, home string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
