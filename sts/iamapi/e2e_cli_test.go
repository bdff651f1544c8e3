package iamapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
	"github.com/credbroker/credbroker/sts"
)

// cli runs the real AWS CLI (v1) against the core, in an environment of its own: a
// temporary HOME, config and credentials files, the endpoints of the core, and no
// AWS_* variable of the user's.
type cli struct {
	t    *testing.T
	bin  string
	dir  string
	env  []string
	last string // the last command, for messages
}

func newCLI(t *testing.T, endpoint string) *cli {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the AWS CLI: not in -short mode")
	}
	bin := testtool.Path(t, "aws=awscli")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: bin, dir: dir}
	c.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL_IAM=" + endpoint,
		"AWS_ENDPOINT_URL_STS=" + endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
	}
	// The CLI may be a pyenv shim, which finds its Python through PYENV_ROOT (by
	// default under the real HOME).
	for _, v := range []string{"PYENV_ROOT", "PYENV_VERSION"} {
		if val := os.Getenv(v); val != "" {
			c.env = append(c.env, v+"="+val)
		}
	}
	if os.Getenv("PYENV_ROOT") == "" {
		if h, err := os.UserHomeDir(); err == nil {
			c.env = append(c.env, "PYENV_ROOT="+filepath.Join(h, ".pyenv"))
		}
	}
	return c
}

// profile writes a credentials profile.
func (c *cli) profile(name, keyID, secret string) {
	c.t.Helper()
	f, err := os.OpenFile(filepath.Join(c.dir, "credentials"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", name, keyID, secret)
}

func (c *cli) exec(profile string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	full := append([]string{"--profile", profile, "--output", "json"}, args...)
	cmd := exec.Command(c.bin, full...)
	cmd.Env, cmd.Dir = c.env, c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	c.last = "aws " + strings.Join(full, " ")
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// python runs the Python interpreter py with args in c's environment (and env) and
// directory, and decodes the JSON object it prints.
func (c *cli) python(py string, env []string, args ...string) map[string]any {
	c.t.Helper()
	cmd := exec.Command(py, args...)
	cmd.Env, cmd.Dir = append(slices.Clip(c.env), env...), c.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", py, args[0], err, stderr.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		c.t.Fatalf("%s %s: %v: %s", py, args[0], err, out)
	}
	return got
}

// run runs a command that must succeed and decodes its JSON output into v (if not nil).
func (c *cli) run(v any, profile string, args ...string) {
	c.t.Helper()
	out, errOut, err := c.exec(profile, args...)
	if err != nil {
		c.t.Fatalf("%s: %v\n%s", c.last, err, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			c.t.Fatalf("%s: output is not JSON: %v\n%s", c.last, err, out)
		}
	}
}

// fails runs a command that must fail with the AWS error code (and message part).
func (c *cli) fails(code, msg, profile string, args ...string) {
	c.t.Helper()
	_, errOut, err := c.exec(profile, args...)
	if err == nil {
		c.t.Fatalf("%s succeeded, want %s", c.last, code)
	}
	if !strings.Contains(errOut, "("+code+")") || !strings.Contains(errOut, msg) {
		c.t.Fatalf("%s: stderr %q, want (%s) and %q", c.last, errOut, code, msg)
	}
}

// TestCLIWalkthrough replays the IAM guides with the AWS CLI: root sets up an
// administrator and stops; the administrator sets up a team, a role for an EC2
// application, MFA and a password policy; the simulator and the credential report
// show the result; everything is removed in the order IAM requires.
func TestCLIWalkthrough(t *testing.T) {
	f := newFixtureClock(t, true)
	c := newCLI(t, f.srv.URL)
	c.profile("root", f.root.AccessKeyID, f.root.SecretAccessKey)
	wd, err := os.Getwd()
	check(t, err)
	file := func(name string) string { return "file://" + filepath.Join(wd, "testdata", "walkthrough", name) }

	// 1. Root creates an Admins group with AdministratorAccess and an admin user in it,
	// with console and programmatic access — and is not used again.
	c.run(nil, "root", "iam", "create-group", "--group-name", "Admins")
	c.run(nil, "root", "iam", "attach-group-policy", "--group-name", "Admins", "--policy-arn", adminARN)
	c.run(nil, "root", "iam", "create-user", "--user-name", "admin")
	c.run(nil, "root", "iam", "add-user-to-group", "--group-name", "Admins", "--user-name", "admin")
	c.run(nil, "root", "iam", "create-login-profile", "--user-name", "admin", "--password", "Adm1n-Console-Pass!")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey, UserName string }
	}
	c.run(&key, "root", "iam", "create-access-key", "--user-name", "admin")
	if key.AccessKey.UserName != "admin" || len(key.AccessKey.SecretAccessKey) != 40 {
		t.Fatalf("create-access-key = %+v", key.AccessKey.UserName)
	}
	c.profile("admin", key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey)
	var who struct{ Arn string }
	c.run(&who, "admin", "sts", "get-caller-identity")
	if who.Arn != "arn:aws:iam::123456789012:user/admin" {
		t.Fatalf("get-caller-identity = %s", who.Arn)
	}

	// 2. The administrator: a sign-in alias, a Developers group with a custom policy,
	// two developers.
	c.run(nil, "admin", "iam", "create-account-alias", "--account-alias", "example-corp")
	c.run(nil, "admin", "iam", "create-group", "--group-name", "Developers")
	var pol struct {
		Policy struct{ Arn, DefaultVersionId string }
	}
	c.run(&pol, "admin", "iam", "create-policy", "--policy-name", "DevelopersAccess", "--policy-document", file("developers-policy.json"),
		"--description", "Write logs; objects of the app bucket")
	devPolicy := pol.Policy.Arn
	if devPolicy != "arn:aws:iam::123456789012:policy/DevelopersAccess" || pol.Policy.DefaultVersionId != "v1" {
		t.Fatalf("create-policy = %+v", pol.Policy)
	}
	c.run(nil, "admin", "iam", "attach-group-policy", "--group-name", "Developers", "--policy-arn", devPolicy)
	for _, u := range []string{"dev-alice", "dev-bob"} {
		c.run(nil, "admin", "iam", "create-user", "--user-name", u, "--tags", "Key=team,Value=developers")
		c.run(nil, "admin", "iam", "add-user-to-group", "--group-name", "Developers", "--user-name", u)
	}
	var group struct{ Users []struct{ UserName string } }
	c.run(&group, "admin", "iam", "get-group", "--group-name", "Developers")
	if len(group.Users) != 2 {
		t.Errorf("get-group members = %+v", group.Users)
	}

	// 3. A role for an EC2 application, in an instance profile.
	c.run(nil, "admin", "iam", "create-role", "--role-name", "app-ec2", "--assume-role-policy-document", file("ec2-trust.json"),
		"--description", "The app's EC2 instances")
	c.run(nil, "admin", "iam", "attach-role-policy", "--role-name", "app-ec2", "--policy-arn", devPolicy)
	c.run(nil, "admin", "iam", "create-instance-profile", "--instance-profile-name", "app-ec2")
	c.run(nil, "admin", "iam", "add-role-to-instance-profile", "--instance-profile-name", "app-ec2", "--role-name", "app-ec2")
	var role struct {
		Role struct {
			Arn                      string
			AssumeRolePolicyDocument struct {
				Statement []struct{ Principal struct{ Service string } }
			}
		}
	}
	c.run(&role, "admin", "iam", "get-role", "--role-name", "app-ec2")
	if len(role.Role.AssumeRolePolicyDocument.Statement) != 1 || role.Role.AssumeRolePolicyDocument.Statement[0].Principal.Service != "ec2.amazonaws.com" {
		t.Errorf("get-role's trust policy, as the CLI decodes it: %+v", role.Role.AssumeRolePolicyDocument)
	}
	var profiles struct{ InstanceProfiles []struct{ Arn string } }
	c.run(&profiles, "admin", "iam", "list-instance-profiles-for-role", "--role-name", "app-ec2")
	if len(profiles.InstanceProfiles) != 1 {
		t.Errorf("instance profiles of app-ec2 = %+v", profiles.InstanceProfiles)
	}

	// 4. MFA for dev-alice, with codes computed from the seed the CLI saved; dev-bob's
	// device is left unassigned, its QR code saved as a PNG.
	var mfa struct{ VirtualMFADevice struct{ SerialNumber string } }
	seedFile := filepath.Join(c.dir, "alice-seed.txt")
	c.run(&mfa, "admin", "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "dev-alice",
		"--outfile", seedFile, "--bootstrap-method", "Base32StringSeed")
	serial := mfa.VirtualMFADevice.SerialNumber
	seedText, err := os.ReadFile(seedFile)
	check(t, err)
	seed, err := base32NoPad(string(seedText))
	check(t, err)
	step := sts.TOTPStep(time.Now())
	code1, err := sts.TOTPCode(seed, step-1)
	check(t, err)
	code2, err := sts.TOTPCode(seed, step)
	check(t, err)
	c.fails("InvalidAuthenticationCode", "Authentication code for device is not valid.", "admin", "iam", "enable-mfa-device",
		"--user-name", "dev-alice", "--serial-number", serial, "--authentication-code1", code2, "--authentication-code2", code1)
	c.run(nil, "admin", "iam", "enable-mfa-device", "--user-name", "dev-alice", "--serial-number", serial,
		"--authentication-code1", code1, "--authentication-code2", code2)
	var devices struct {
		MFADevices []struct{ SerialNumber, UserName string }
	}
	c.run(&devices, "admin", "iam", "list-mfa-devices", "--user-name", "dev-alice")
	if len(devices.MFADevices) != 1 || devices.MFADevices[0].SerialNumber != serial {
		t.Errorf("list-mfa-devices = %+v", devices.MFADevices)
	}
	qrFile := filepath.Join(c.dir, "bob-qr.png")
	c.run(nil, "admin", "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "dev-bob", "--outfile", qrFile, "--bootstrap-method", "QRCodePNG")
	qr, err := os.Open(qrFile)
	check(t, err)
	img, err := png.Decode(qr)
	qr.Close()
	if err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("QR code PNG: %v (%v)", err, img)
	}

	// 5. A password policy; a weak password is refused, a strong one accepted.
	c.run(nil, "admin", "iam", "update-account-password-policy", "--minimum-password-length", "14", "--require-symbols",
		"--require-numbers", "--require-uppercase-characters", "--require-lowercase-characters",
		"--allow-users-to-change-password", "--max-password-age", "90", "--password-reuse-prevention", "5")
	c.fails("PasswordPolicyViolation", "Password should have a minimum length of 14", "admin", "iam", "create-login-profile",
		"--user-name", "dev-alice", "--password", "password")
	c.run(nil, "admin", "iam", "create-login-profile", "--user-name", "dev-alice", "--password", "C0rrect-Horse-Battery!", "--password-reset-required")

	// 6. The simulator shows what the policies allow, exactly.
	var sim struct {
		EvaluationResults []struct {
			EvalActionName, EvalResourceName, EvalDecision string
			MatchedStatements                              []struct{ SourcePolicyId string }
		}
	}
	c.run(&sim, "admin", "iam", "simulate-principal-policy", "--policy-source-arn", "arn:aws:iam::123456789012:user/dev-alice",
		"--action-names", "logs:PutLogEvents", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "iam:CreateUser",
		"--resource-arns", "arn:aws:s3:::example-app-bucket/report.csv", "arn:aws:s3:::another-bucket/report.csv",
		"--page-size", "3")
	got := map[string]string{}
	for _, r := range sim.EvaluationResults {
		got[r.EvalActionName+" "+r.EvalResourceName] = r.EvalDecision
		if r.EvalDecision == "allowed" && (len(r.MatchedStatements) == 0 || r.MatchedStatements[0].SourcePolicyId != "DevelopersAccess") {
			t.Errorf("%s on %s allowed by %+v", r.EvalActionName, r.EvalResourceName, r.MatchedStatements)
		}
	}
	const app, other = "arn:aws:s3:::example-app-bucket/report.csv", "arn:aws:s3:::another-bucket/report.csv"
	want := map[string]string{
		"logs:PutLogEvents " + app: "implicitDeny", "logs:PutLogEvents " + other: "implicitDeny", // logs ARNs only
		"s3:GetObject " + app: "allowed", "s3:GetObject " + other: "implicitDeny",
		"s3:PutObject " + app: "allowed", "s3:PutObject " + other: "implicitDeny",
		"s3:DeleteObject " + app: "implicitDeny", "s3:DeleteObject " + other: "implicitDeny",
		"iam:CreateUser " + app: "implicitDeny", "iam:CreateUser " + other: "implicitDeny",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("simulate-principal-policy:\n got %v\nwant %v", got, want)
	}
	c.run(&sim, "admin", "iam", "simulate-principal-policy", "--policy-source-arn", "arn:aws:iam::123456789012:role/app-ec2",
		"--action-names", "logs:CreateLogGroup", "--resource-arns", "arn:aws:logs:us-east-1:123456789012:log-group:app")
	if len(sim.EvaluationResults) != 1 || sim.EvaluationResults[0].EvalDecision != "allowed" {
		t.Errorf("app-ec2 may create its log group: %+v", sim.EvaluationResults)
	}

	// 7. The credential report lists them; pages of one user walk the list.
	var gen struct{ State string }
	c.run(&gen, "admin", "iam", "generate-credential-report")
	var report struct{ Content, ReportFormat string }
	c.run(&report, "admin", "iam", "get-credential-report")
	raw, err := base64.StdEncoding.DecodeString(report.Content)
	check(t, err)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	check(t, err)
	users := map[string][]string{}
	for _, r := range rows[1:] {
		users[r[0]] = r
	}
	for name, wantRow := range map[string][2]string{"admin": {"true", "false"}, "dev-alice": {"true", "true"}, "dev-bob": {"false", "false"}} {
		r, ok := users[name]
		if !ok || r[3] != wantRow[0] || r[7] != wantRow[1] {
			t.Errorf("credential report row %s = %v, want password_enabled %s mfa_active %s", name, r, wantRow[0], wantRow[1])
		}
	}
	if _, ok := users["<root_account>"]; !ok || report.ReportFormat != "text/csv" {
		t.Errorf("report has no root row, or format %s", report.ReportFormat)
	}
	var list struct{ Users []struct{ UserName string } }
	c.run(&list, "admin", "iam", "list-users", "--page-size", "1")
	if len(list.Users) != 3 {
		t.Errorf("list-users over pages of 1 = %+v", list.Users)
	}

	// 8. Cleanup. First in the wrong order: IAM refuses.
	c.fails("DeleteConflict", "must delete MFA device first", "admin", "iam", "delete-user", "--user-name", "dev-alice")
	c.fails("DeleteConflict", "must remove users from group first", "admin", "iam", "delete-group", "--group-name", "Developers")
	c.fails("DeleteConflict", "must remove roles from instance profile first", "admin", "iam", "delete-role", "--role-name", "app-ec2")
	c.fails("DeleteConflict", "Cannot delete a policy attached to entities.", "admin", "iam", "delete-policy", "--policy-arn", devPolicy)
	c.fails("DeleteConflict", "MFA Device is still in use.", "admin", "iam", "delete-virtual-mfa-device", "--serial-number", serial)
	// Then in the order AWS requires.
	c.run(nil, "admin", "iam", "deactivate-mfa-device", "--user-name", "dev-alice", "--serial-number", serial)
	c.run(nil, "admin", "iam", "delete-virtual-mfa-device", "--serial-number", serial)
	c.fails("DeleteConflict", "must remove user from all groups first", "admin", "iam", "delete-user", "--user-name", "dev-alice")
	c.run(nil, "admin", "iam", "remove-user-from-group", "--group-name", "Developers", "--user-name", "dev-alice")
	c.fails("DeleteConflict", "must delete login profile first", "admin", "iam", "delete-user", "--user-name", "dev-alice")
	c.run(nil, "admin", "iam", "delete-login-profile", "--user-name", "dev-alice")
	c.run(nil, "admin", "iam", "delete-user", "--user-name", "dev-alice")
	c.run(nil, "admin", "iam", "delete-virtual-mfa-device", "--serial-number", "arn:aws:iam::123456789012:mfa/dev-bob")
	c.run(nil, "admin", "iam", "remove-user-from-group", "--group-name", "Developers", "--user-name", "dev-bob")
	c.run(nil, "admin", "iam", "delete-user", "--user-name", "dev-bob")
	c.run(nil, "admin", "iam", "remove-role-from-instance-profile", "--instance-profile-name", "app-ec2", "--role-name", "app-ec2")
	c.run(nil, "admin", "iam", "delete-instance-profile", "--instance-profile-name", "app-ec2")
	c.fails("DeleteConflict", "must detach all policies first", "admin", "iam", "delete-role", "--role-name", "app-ec2")
	c.run(nil, "admin", "iam", "detach-role-policy", "--role-name", "app-ec2", "--policy-arn", devPolicy)
	c.run(nil, "admin", "iam", "delete-role", "--role-name", "app-ec2")
	c.fails("DeleteConflict", "must detach all policies first", "admin", "iam", "delete-group", "--group-name", "Developers")
	c.run(nil, "admin", "iam", "detach-group-policy", "--group-name", "Developers", "--policy-arn", devPolicy)
	c.run(nil, "admin", "iam", "delete-group", "--group-name", "Developers")
	c.run(nil, "admin", "iam", "delete-policy", "--policy-arn", devPolicy)
	c.run(nil, "admin", "iam", "delete-account-password-policy")
	c.run(nil, "admin", "iam", "delete-account-alias", "--account-alias", "example-corp")
	c.run(&list, "admin", "iam", "list-users")
	if len(list.Users) != 1 || list.Users[0].UserName != "admin" {
		t.Errorf("after cleanup, users = %+v", list.Users)
	}
	var summary struct{ SummaryMap map[string]int }
	c.run(&summary, "admin", "iam", "get-account-summary")
	if summary.SummaryMap["Users"] != 1 || summary.SummaryMap["Groups"] != 1 || summary.SummaryMap["Roles"] != 0 || summary.SummaryMap["Policies"] != 0 {
		t.Errorf("summary after cleanup = %v", summary.SummaryMap)
	}
}

// TestBoto3 runs a few IAM calls through boto3 (testdata/boto3_smoke.py): modeled
// exceptions, paginators, documents decoded into dicts, datetimes.
func TestBoto3(t *testing.T) {
	got := runBoto3(t, newFixtureClock(t, true), "boto3_smoke.py")
	want := map[string]any{
		"arn": "arn:aws:iam::123456789012:user/boto-user", "tags": map[string]any{"via": "boto3"}, "created_is_datetime": true,
		"policy_roundtrip": true, "secret_len": 40.0, "users": []any{"boto-user"},
		"decisions":    map[string]any{"s3:ListAllMyBuckets": "allowed", "s3:DeleteBucket": "implicitDeny"},
		"delete_error": []any{"DeleteConflict", 409.0}, "missing_error": []any{"NoSuchEntity", "The user with name nobody cannot be found."},
		"deleted": true,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("boto3:\n got %v\nwant %v", got, want)
	}
}
