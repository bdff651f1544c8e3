package imds

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
)

// The end-to-end tests run the real AWS CLI (v1) and boto3 against both
// endpoints, with a fake source; the CLI calls a fake STS that reports the
// access key id it was signed with.

const boto3Script = `
import json, sys, boto3, botocore.session, botocore.utils
creds = boto3.Session().get_credentials()
f = creds.get_frozen_credentials()
out = {"method": creds.method, "key": f.access_key, "secret": f.secret_key, "token": f.token,
       "account": getattr(f, "account_id", None)}
if sys.argv[1] == "imds":
    out["region"] = botocore.utils.IMDSRegionProvider(botocore.session.get_session()).provide()
print(json.dumps(out))
`

func requireTools(t *testing.T) {
	t.Helper()
	testtool.Need(t, "aws=awscli")
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is not installed (apt-get install python3-boto3): skipping the end-to-end test")
	}
}

// isolatedEnv is the environment of the child: no inherited AWS_* or proxy
// variables, an empty HOME, no shared config or credentials files.
func isolatedEnv(t *testing.T, extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch uk := strings.ToUpper(k); {
		case strings.HasPrefix(uk, "AWS_"), uk == "HOME", strings.HasSuffix(uk, "_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+t.TempDir(), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"NO_PROXY=*", "AWS_DEFAULT_REGION=us-east-1", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func run(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// fakeSTS answers GetCallerIdentity with the access key id of the SigV4
// Credential= scope as UserId, after checking the session token.
func fakeSTS(t *testing.T, wantToken func(keyID string) string) *httptest.Server {
	cred := regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		m := cred.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || r.Form.Get("Action") != "GetCallerIdentity" {
			http.Error(w, "unexpected request", 400)
			return
		}
		if r.Header.Get("X-Amz-Security-Token") != wantToken(m[1]) {
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>wrong session token</Message></Error></ErrorResponse>`)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/dev-admin/e2e</Arn>
    <UserId>%s</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>0b6ef3b7-4c3c-4b4e-9f0e-000000000000</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, m[1])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestE2E(t *testing.T) {
	requireTools(t)
	e := newEnv(t, nil, nil)
	e.clock.Advance(time.Until(e.clock.Now()) * -1) // the SDKs compare expiry with the real clock
	want := func() Credentials { return e.src.current("dev-admin") }
	sts := fakeSTS(t, func(keyID string) string {
		if c := want(); c.AccessKeyID == keyID {
			return c.SessionToken
		}
		return "unknown key " + keyID
	})
	tokenFile := filepath.Join(t.TempDir(), "container-token")
	if err := WriteTokenFile(tokenFile, e.token); err != nil {
		t.Fatal(err)
	}
	faces := map[string]map[string]string{
		"imds": {
			"AWS_EC2_METADATA_SERVICE_ENDPOINT": e.imdsSrv.URL + "/",
			"AWS_EC2_METADATA_V1_DISABLED":      "true",
		},
		"container": {
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     e.contSrv.URL + DefaultContainerPath,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
			"AWS_EC2_METADATA_DISABLED":              "true",
		},
	}
	for face, vars := range faces {
		t.Run("boto3/"+face, func(t *testing.T) {
			var got map[string]any
			out := run(t, isolatedEnv(t, vars), "python3", "-c", boto3Script, face)
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			c := want()
			method := map[string]string{"imds": "iam-role", "container": "container-role"}[face]
			if got["method"] != method || got["key"] != c.AccessKeyID || got["secret"] != c.SecretAccessKey || got["token"] != c.SessionToken {
				t.Errorf("boto3 got method %v key %v, want %s %s (or secret/token differ)", got["method"], got["key"], method, c.AccessKeyID)
			}
			if face == "imds" && got["region"] != "eu-west-3" {
				t.Errorf("boto3 IMDS region %v, want eu-west-3", got["region"])
			}
			if face == "container" && got["account"] != nil && got["account"] != "123456789012" {
				t.Errorf("boto3 account id %v", got["account"])
			}
		})
		t.Run("cli/"+face, func(t *testing.T) {
			vars := map[string]string{"AWS_ENDPOINT_URL_STS": sts.URL}
			for k, v := range faces[face] {
				vars[k] = v
			}
			out := run(t, isolatedEnv(t, vars), "aws", "sts", "get-caller-identity", "--output", "json")
			var got struct{ UserId, Account, Arn string }
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.UserId != want().AccessKeyID {
				t.Errorf("aws sts get-caller-identity signed with %q, want the served %q", got.UserId, want().AccessKeyID)
			}
		})
	}
	if logs := e.log.String(); strings.Contains(logs, want().SecretAccessKey) || strings.Contains(logs, e.token) {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
}
