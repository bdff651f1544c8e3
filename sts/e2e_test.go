package sts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/oidc/oidctest"
	"github.com/credbroker/credbroker/sts/store"
)

// e2e is the core of `serve --dev` on a loopback port, and the real AWS CLI and boto3
// pointed at it in an environment of their own.
type e2e struct {
	t       *testing.T
	store   *store.Store
	url     string
	dev     sts.DevAccount
	home    string
	python  string
	aws     string
	ghToken string
}

// findPython returns the python3 interpreter the caller's environment runs (pyenv
// shims need the caller's HOME; the interpreter itself does not).
func findPython(t *testing.T) (python, aws string) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	out, err := exec.Command("python3", "-c", "import sys, boto3; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 with boto3 is not installed")
	}
	python = strings.TrimSpace(string(out))
	aws = filepath.Join(filepath.Dir(python), "aws")
	if _, err := os.Stat(aws); err != nil {
		aws = testtool.Path(t, "aws=awscli")
	}
	return python, aws
}

func newE2E(t *testing.T) *e2e {
	python, awsBin := findPython(t)
	ctx := context.Background()
	st, dev, err := sts.OpenDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ghKey := oidctest.NewECKey(t, "gh-e2e")
	const gh = "https://token.actions.githubusercontent.com"
	core, err := sts.New(ctx, st, func(o *sts.Options) {
		o.OIDC = append(o.OIDC, func(oo *oidc.Options) { oo.PinnedKeys = map[string][]byte{gh: oidctest.JWKS(ghKey)} })
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })

	// A user without permissions, and a role for GitHub Actions.
	var intruder account.AccessKey
	err = st.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateUser(account.User{Name: "intruder"}); err != nil {
			return err
		}
		var err error
		if intruder, err = tx.CreateAccessKey("intruder"); err != nil {
			return err
		}
		p, err := tx.CreateOIDCProvider(account.OIDCProvider{URL: gh, ClientIDs: []string{"sts.amazonaws.com"}})
		if err != nil {
			return err
		}
		_, err = tx.CreateRole(account.Role{Name: "gha", AssumeRolePolicy: webTrust(p.ARN,
			`{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/*"}}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: core.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	home := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("credentials", fmt.Sprintf("[dev]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n[intruder]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		dev.AccessKeyID, dev.SecretAccessKey, intruder.ID, intruder.Secret))
	write("config", fmt.Sprintf("[default]\nregion = us-east-1\n\n[profile admin]\nrole_arn = %s\nsource_profile = dev\nrole_session_name = cli-admin\n", dev.RoleARN))
	return &e2e{t: t, store: st, url: "http://" + l.Addr().String(), dev: dev, home: home, python: python, aws: awsBin,
		ghToken: oidctest.Sign(t, ghKey, oidctest.GitHubClaims(gh, "octo-org/octo-repo", "refs/heads/main", time.Now()))}
}

// env is a clean environment: no AWS_* of the caller's, a HOME of the test's own.
func (e *e2e) env(extra ...string) []string {
	env := []string{
		"HOME=" + e.home,
		"PATH=" + filepath.Dir(e.python) + ":/usr/bin:/bin",
		"AWS_CONFIG_FILE=" + filepath.Join(e.home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(e.home, "credentials"),
		"AWS_ENDPOINT_URL_STS=" + e.url,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"PYTHONDONTWRITEBYTECODE=1",
	}
	return append(env, extra...)
}

// run runs the aws CLI; it returns stdout, stderr and the exit code.
func (e *e2e) run(env []string, args ...string) (string, string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.aws, append(args, "--output", "json")...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("aws %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func (e *e2e) runJSON(env []string, v any, args ...string) {
	e.t.Helper()
	out, errs, code := e.run(env, args...)
	if code != 0 {
		e.t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type cliCreds struct {
	Credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser struct{ Arn, AssumedRoleId string }
}

func (c cliCreds) env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + c.Credentials.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN=" + c.Credentials.SessionToken}
}

type identity struct{ UserId, Account, Arn string }

func TestEndToEndAWSCLI(t *testing.T) {
	e := newE2E(t)
	base := e.env()

	var id identity
	e.runJSON(base, &id, "sts", "get-caller-identity", "--profile", "dev")
	if id.Arn != e.dev.UserARN || id.Account != "123456789012" || !strings.HasPrefix(id.UserId, "AIDA") {
		t.Fatalf("get-caller-identity: %+v", id)
	}

	var ar cliCreds
	e.runJSON(base, &ar, "sts", "assume-role", "--profile", "dev", "--role-arn", e.dev.RoleARN, "--role-session-name", "e2e", "--duration-seconds", "3600")
	exp, err := time.Parse(time.RFC3339, ar.Credentials.Expiration)
	if err != nil || time.Until(exp) < 59*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Errorf("Expiration %q: %v", ar.Credentials.Expiration, err)
	}
	if ar.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/dev-admin/e2e" || !strings.HasPrefix(ar.Credentials.AccessKeyID, "ASIA") {
		t.Errorf("assume-role: %+v", ar.AssumedRoleUser)
	}
	e.runJSON(append(base, ar.env()...), &id, "sts", "get-caller-identity")
	if id.Arn != ar.AssumedRoleUser.Arn || id.UserId != ar.AssumedRoleUser.AssumedRoleId {
		t.Errorf("get-caller-identity with the session: %+v", id)
	}

	// A profile with role_arn: the CLI assumes the role itself.
	e.runJSON(base, &id, "sts", "get-caller-identity", "--profile", "admin")
	if id.Arn != "arn:aws:sts::123456789012:assumed-role/dev-admin/cli-admin" {
		t.Errorf("role profile: %+v", id)
	}

	var gst cliCreds
	e.runJSON(base, &gst, "sts", "get-session-token", "--profile", "dev", "--duration-seconds", "900")
	e.runJSON(append(base, gst.env()...), &id, "sts", "get-caller-identity")
	if id.Arn != e.dev.UserARN {
		t.Errorf("get-caller-identity with the session token: %+v", id)
	}

	_, stderr, code := e.run(base, "sts", "assume-role", "--profile", "intruder", "--role-arn", e.dev.RoleARN, "--role-session-name", "nope")
	want := "An error occurred (AccessDenied) when calling the AssumeRole operation: User: arn:aws:iam::123456789012:user/intruder is not authorized to perform: sts:AssumeRole on resource: " + e.dev.RoleARN
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("denied assume-role: exit %d\n%s", code, stderr)
	}
	_, stderr, code = e.run(base, "sts", "assume-role", "--profile", "dev", "--role-arn", e.dev.RoleARN, "--role-session-name", "not valid!")
	if code == 0 || !strings.Contains(stderr, "(ValidationError)") || !strings.Contains(stderr, `Value 'not valid!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`) {
		t.Errorf("short session name: exit %d\n%s", code, stderr)
	}

	var web cliCreds
	e.runJSON(base, &web, "sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/gha",
		"--role-session-name", "gha-run", "--web-identity-token", e.ghToken)
	if web.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/gha/gha-run" {
		t.Errorf("assume-role-with-web-identity: %+v", web.AssumedRoleUser)
	}
}

const boto3Script = `
import datetime, json, sys, boto3, botocore
out = {}
s = boto3.Session(profile_name="dev")
sts = s.client("sts")
out["me"] = sts.get_caller_identity()["Arn"]
r = sts.assume_role(RoleArn=sys.argv[1], RoleSessionName="boto3", Tags=[{"Key": "team", "Value": "blue"}], SourceIdentity="boto3-user")
c = r["Credentials"]
out["expires_in_minutes"] = round((c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 60)
out["assumed"] = r["AssumedRoleUser"]["Arn"]
out["packed"] = r.get("PackedPolicySize")
out["source_identity"] = r.get("SourceIdentity")
sess = boto3.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"], region_name="us-east-1")
out["session"] = sess.client("sts").get_caller_identity()["Arn"]
t = sts.get_session_token(DurationSeconds=900)["Credentials"]
out["session_token_key"] = t["AccessKeyId"][:4]
out["account"] = sess.client("sts").get_access_key_info(AccessKeyId=c["AccessKeyId"])["Account"]
try:
    boto3.Session(profile_name="intruder").client("sts").assume_role(RoleArn=sys.argv[1], RoleSessionName="nope")
    out["denied"] = "no error"
except botocore.exceptions.ClientError as e:
    out["denied"] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
    out["denied_status"] = e.response["ResponseMetadata"]["HTTPStatusCode"]
    out["request_id"] = e.response["ResponseMetadata"]["RequestId"]
print(json.dumps(out))
`

func TestEndToEndBoto3(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.python, "-c", boto3Script, e.dev.RoleARN)
	cmd.Env = e.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"me":                 e.dev.UserARN,
		"assumed":            "arn:aws:sts::123456789012:assumed-role/dev-admin/boto3",
		"session":            "arn:aws:sts::123456789012:assumed-role/dev-admin/boto3",
		"expires_in_minutes": float64(60),
		"source_identity":    "boto3-user",
		"session_token_key":  "ASIA",
		"account":            "123456789012",
		"denied":             "AccessDenied: User: arn:aws:iam::123456789012:user/intruder is not authorized to perform: sts:AssumeRole on resource: " + e.dev.RoleARN,
		"denied_status":      float64(403),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if p, ok := got["packed"].(float64); !ok || p < 1 {
		t.Errorf("PackedPolicySize %v", got["packed"])
	}
	if id, _ := got["request_id"].(string); len(id) != 36 {
		t.Errorf("RequestId %q", id)
	}
}
