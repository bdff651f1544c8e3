package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/sts/policy"
)

// runCombined runs the command line and returns stdout and stderr together, as a
// user at a terminal would see them.
func runCombined(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	out, errOut, err := runCLI(t, stdin, args...)
	return out + errOut, err
}

const td = "testdata/policy/"

func TestPolicyValidate(t *testing.T) {
	bad, err := os.ReadFile(td + "bad.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		exitCode int // 0: success
		want     []string
	}{
		{"valid identity policy", []string{td + "developers.json"}, "", 0,
			[]string{td + "developers.json: valid identity policy"}},
		{"every fault with its place", []string{td + "developers.json", td + "bad.json"}, "", 1, []string{
			td + "developers.json: valid identity policy",
			td + "bad.json:2:11: $.Statement[0].Sid: MalformedPolicyDocument: Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
			td + "bad.json:2:50: $.Statement[0].Principal: MalformedPolicyDocument: Policy document should not specify a principal.",
			td + "bad.json:2:65: $.Statement[0].Action: MalformedPolicyDocument: Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
			td + `bad.json:2:90: $.Statement[0].Resource: MalformedPolicyDocument: Resource reports must be in ARN format or "*".`,
		}},
		{"trust policy as a trust policy", []string{"--kind", "trust", td + "trust-ci.json"}, "", 0,
			[]string{td + "trust-ci.json: valid trust policy"}},
		{"trust policy as an identity policy", []string{td + "trust-ci.json"}, "", 1, []string{
			td + "trust-ci.json:3:17: $.Statement[0]: MalformedPolicyDocument: Policy statement must contain resources.\n" +
				td + "trust-ci.json:6:18: $.Statement[0].Principal: MalformedPolicyDocument: Policy document should not specify a principal.",
		}},
		{"identity policy as a trust policy", []string{"--kind=trust", td + "developers.json"}, "", 1, []string{
			td + "developers.json:4:5: $.Statement[0]: MalformedPolicyDocument: Missing required field Principal",
		}},
		{"resource policy", []string{"--kind", "resource", td + "bucket.json"}, "", 0, []string{td + "bucket.json: valid resource policy"}},
		{"standard input", []string{"-"}, string(bad), 1, []string{"-:2:11: $.Statement[0].Sid: "}},
		{"inline user policy over its quota", []string{"--limit", "user", "--entity", "alice", td + "big-inline.json"}, "", 1,
			[]string{td + "big-inline.json: $: LimitExceeded: Maximum policy size of 2048 bytes exceeded for user alice"}},
		{"the same as an inline role policy", []string{"--limit", "role", td + "big-inline.json"}, "", 0, nil},
		{"not JSON", []string{"-"}, `{"Version": "2012-10-17",`, 1, []string{"-:1:26: $: MalformedPolicyDocument: Syntax errors in policy."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCombined(t, tc.stdin, append([]string{"policy", "validate"}, tc.args...)...)
			var ee exitError
			switch {
			case tc.exitCode == 0 && err != nil:
				t.Fatalf("error %v\n%s", err, out)
			case tc.exitCode != 0 && (!errors.As(err, &ee) || ee.code != tc.exitCode):
				t.Fatalf("error %v, want exit code %d\n%s", err, tc.exitCode, out)
			}
			for _, line := range tc.want {
				if !strings.Contains(out, line) {
					t.Errorf("output lacks %q:\n%s", line, out)
				}
			}
		})
	}
	for _, args := range [][]string{
		{"policy", "validate"},
		{"policy", "validate", "--kind", "inline", td + "developers.json"},
		{"policy", "validate", "--limit", "huge", td + "developers.json"},
		{"policy", "validate", td + "no-such-file.json"},
	} {
		if _, err := runCombined(t, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// simulateJSON runs simulate --output json and decodes the results.
func simulateJSON(t *testing.T, args ...string) []evaluationResult {
	t.Helper()
	out, err := runCombined(t, "", append([]string{"policy", "simulate", "--output", "json"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var doc struct{ EvaluationResults []evaluationResult }
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return doc.EvaluationResults
}

func decisions(results []evaluationResult) []string {
	var out []string
	for _, r := range results {
		out = append(out, r.EvalActionName+" "+r.EvalResourceName+" "+r.EvalDecision)
	}
	return out
}

func TestPolicySimulateDecisions(t *testing.T) {
	alice := "arn:aws:iam::123456789012:user/alice"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"identity policy: each action on each resource",
			[]string{"--policy", td + "developers.json", "--principal", alice, "--action", "s3:GetObject,s3:DeleteObject", "--action", "ec2:RunInstances",
				"--resource", "arn:aws:s3:::reports/q1.csv", "--resource", "arn:aws:s3:::other/x"},
			[]string{"s3:GetObject arn:aws:s3:::reports/q1.csv allowed", "s3:GetObject arn:aws:s3:::other/x implicitDeny",
				"s3:DeleteObject arn:aws:s3:::reports/q1.csv explicitDeny", "s3:DeleteObject arn:aws:s3:::other/x explicitDeny",
				"ec2:RunInstances arn:aws:s3:::reports/q1.csv implicitDeny", "ec2:RunInstances arn:aws:s3:::other/x implicitDeny"}},
		{"username from the principal, IP from the context",
			[]string{"--policy", td + "developers.json", "--principal", alice, "--action", "s3:PutObject",
				"--resource", "arn:aws:s3:::reports/home/alice/a,arn:aws:s3:::reports/home/bob/a", "--context", "aws:SourceIp=ip:192.0.2.7"},
			[]string{"s3:PutObject arn:aws:s3:::reports/home/alice/a allowed", "s3:PutObject arn:aws:s3:::reports/home/bob/a implicitDeny"}},
		{"outside the office network",
			[]string{"--policy", td + "developers.json", "--principal", alice, "--action", "s3:PutObject",
				"--resource", "arn:aws:s3:::reports/home/alice/a", "--context", "aws:SourceIp=ip:198.51.100.7"},
			[]string{"s3:PutObject arn:aws:s3:::reports/home/alice/a implicitDeny"}},
		{"a context key overrides the one the principal gives",
			[]string{"--policy", td + "developers.json", "--principal", alice, "--action", "s3:PutObject",
				"--resource", "arn:aws:s3:::reports/home/bob/a", "--context", "aws:SourceIp=ip:192.0.2.7", "--context", "aws:username=string:bob"},
			[]string{"s3:PutObject arn:aws:s3:::reports/home/bob/a allowed"}},
		{"AWS managed policy by ARN inside a boundary",
			[]string{"--policy", "arn:aws:iam::aws:policy/AdministratorAccess", "--boundary", td + "boundary.json",
				"--principal", "arn:aws:iam::123456789012:role/dev", "--action", "s3:CreateBucket,iam:CreateUser"},
			[]string{"s3:CreateBucket * allowed", "iam:CreateUser * implicitDeny"}},
		{"AWS managed policy by name",
			[]string{"--policy", "IAMReadOnlyAccess", "--principal", alice, "--action", "iam:ListUsers,iam:DeleteUser"},
			[]string{"iam:ListUsers * allowed", "iam:DeleteUser * implicitDeny"}},
		{"session policy narrows a role session",
			[]string{"--policy", "AmazonS3FullAccess", "--session-policy", td + "developers.json",
				"--principal", "arn:aws:sts::123456789012:assumed-role/dev/alice", "--action", "s3:GetObject,s3:PutObject", "--resource", "arn:aws:s3:::reports/k"},
			[]string{"s3:GetObject arn:aws:s3:::reports/k allowed", "s3:PutObject arn:aws:s3:::reports/k implicitDeny"}},
		{"federated user without a session policy",
			[]string{"--policy", "AmazonS3FullAccess", "--principal", "arn:aws:sts::123456789012:federated-user/fed", "--action", "s3:GetObject"},
			[]string{"s3:GetObject * implicitDeny"}},
		{"bucket policy: same-account user named directly, cross-account partner",
			[]string{"--resource-policy", td + "bucket.json", "--policy", "AmazonS3ReadOnlyAccess", "--principal", "arn:aws:iam::123456789012:user/bob",
				"--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/k"},
			[]string{"s3:GetObject arn:aws:s3:::reports/k allowed"}},
		{"bucket policy: partner account needs its own identity policy too",
			[]string{"--resource-policy", td + "bucket.json", "--principal", "arn:aws:iam::444455556666:user/carol",
				"--resource-owner", "123456789012", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/k"},
			[]string{"s3:GetObject arn:aws:s3:::reports/k implicitDeny"}},
		{"bucket policy: partner with an identity policy",
			[]string{"--resource-policy", td + "bucket.json", "--policy", "AmazonS3ReadOnlyAccess", "--principal", "arn:aws:iam::444455556666:user/carol",
				"--resource-owner", "123456789012", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::reports/k"},
			[]string{"s3:GetObject arn:aws:s3:::reports/k allowed"}},
		{"trust policy for a web identity",
			[]string{"--trust-policy", td + "trust-ci.json", "--principal", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
				"--action", "sts:AssumeRoleWithWebIdentity", "--resource", "arn:aws:iam::123456789012:role/ci",
				"--context", "token.actions.githubusercontent.com:sub=string:repo:acme/app:ref:refs/heads/main",
				"--context", "token.actions.githubusercontent.com:aud=string:sts.amazonaws.com"},
			[]string{"sts:AssumeRoleWithWebIdentity arn:aws:iam::123456789012:role/ci allowed"}},
		{"trust policy, another branch",
			[]string{"--trust-policy", td + "trust-ci.json", "--principal", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
				"--action", "sts:AssumeRoleWithWebIdentity", "--resource", "arn:aws:iam::123456789012:role/ci",
				"--context", "token.actions.githubusercontent.com:sub=string:repo:acme/app:ref:refs/heads/dev",
				"--context", "token.actions.githubusercontent.com:aud=string:sts.amazonaws.com"},
			[]string{"sts:AssumeRoleWithWebIdentity arn:aws:iam::123456789012:role/ci implicitDeny"}},
		{"SCP region guard",
			[]string{"--scp", td + "scp-regions.json", "--policy", "AdministratorAccess", "--principal", alice,
				"--action", "ec2:RunInstances", "--context", "aws:RequestedRegion=string:us-east-1"},
			[]string{"ec2:RunInstances * explicitDeny"}},
		{"SCP region guard, allowed region, list-typed context",
			[]string{"--scp", td + "scp-regions.json", "--policy", "AdministratorAccess", "--principal", alice,
				"--action", "ec2:RunInstances", "--context", "aws:RequestedRegion=stringList:eu-west-1"},
			[]string{"ec2:RunInstances * allowed"}},
		{"root user",
			[]string{"--principal", "123456789012", "--action", "iam:CreateUser"},
			[]string{"iam:CreateUser * allowed"}},
		{"assuming a role needs its trust policy, whatever the identity policy says",
			[]string{"--policy", "AdministratorAccess", "--principal", alice, "--action", "sts:AssumeRole", "--resource", "arn:aws:iam::123456789012:role/ci"},
			[]string{"sts:AssumeRole arn:aws:iam::123456789012:role/ci implicitDeny"}},
		{"a KMS key needs its key policy",
			[]string{"--policy", "AdministratorAccess", "--principal", alice, "--action", "kms:Decrypt", "--resource", "arn:aws:kms:us-east-1:123456789012:key/k1"},
			[]string{"kms:Decrypt arn:aws:kms:us-east-1:123456789012:key/k1 implicitDeny"}},
		{"AWS managed policies cannot be changed, even by root",
			[]string{"--principal", "123456789012", "--action", "iam:DeletePolicy,iam:GetPolicy", "--resource", "arn:aws:iam::aws:policy/AdministratorAccess"},
			[]string{"iam:DeletePolicy arn:aws:iam::aws:policy/AdministratorAccess implicitDeny", "iam:GetPolicy arn:aws:iam::aws:policy/AdministratorAccess allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, decisions(simulateJSON(t, tc.args...))); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicySimulateReportsStatements(t *testing.T) {
	results := simulateJSON(t, "--policy", td+"developers.json", "--boundary", td+"boundary.json",
		"--principal", "arn:aws:iam::123456789012:user/alice", "--action", "s3:GetObject,s3:DeleteObject,ec2:StopInstances",
		"--resource", "arn:aws:s3:::reports/q1.csv")
	want := []evaluationResult{
		{EvalActionName: "s3:GetObject", EvalResourceName: "arn:aws:s3:::reports/q1.csv", EvalDecision: "allowed",
			MatchedStatements: []statementRef{
				{SourcePolicyID: td + "developers.json", SourcePolicyType: "IAM Policy", Sid: "Read", Effect: "Allow", StartPosition: position{4, 5}, EndPosition: position{4, 147}},
				{SourcePolicyID: td + "boundary.json", SourcePolicyType: "Permissions Boundary", Sid: "OnlyS3", Effect: "Allow", StartPosition: position{3, 17}, EndPosition: position{3, 87}},
			},
			PermissionsBoundaryDecisionDetail: &boundaryDetail{AllowedByPermissionsBoundary: true},
			Reason:                            policy.ReasonAllowed.String()},
		{EvalActionName: "s3:DeleteObject", EvalResourceName: "arn:aws:s3:::reports/q1.csv", EvalDecision: "explicitDeny",
			MatchedStatements: []statementRef{
				{SourcePolicyID: td + "developers.json", SourcePolicyType: "IAM Policy", Sid: "NoDelete", Effect: "Deny", StartPosition: position{5, 5}, EndPosition: position{5, 82}},
			},
			PermissionsBoundaryDecisionDetail: &boundaryDetail{AllowedByPermissionsBoundary: true},
			Reason:                            policy.ReasonExplicitDeny.String()},
		{EvalActionName: "ec2:StopInstances", EvalResourceName: "arn:aws:s3:::reports/q1.csv", EvalDecision: "implicitDeny",
			MatchedStatements:                 []statementRef{},
			PermissionsBoundaryDecisionDetail: &boundaryDetail{AllowedByPermissionsBoundary: false},
			Reason:                            policy.ReasonNoIdentityAllow.String()},
	}
	if diff := cmp.Diff(want, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestPolicySimulateTable(t *testing.T) {
	out, err := runCombined(t, "", "policy", "simulate", "--policy", td+"developers.json", "--policy", "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
		"--principal", "arn:aws:iam::123456789012:user/alice", "--action", "s3:GetObject,s3:DeleteBucket,iam:GetUser,kms:Decrypt",
		"--resource", "arn:aws:s3:::reports/q1.csv")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := [][]string{
		{"ACTION", "RESOURCE", "DECISION", "MATCHED", "STATEMENTS", "WHY"},
		{"s3:GetObject", "arn:aws:s3:::reports/q1.csv", "allowed", "developers.json:Read"},
		{"s3:DeleteBucket", "arn:aws:s3:::reports/q1.csv", "explicitDeny", "developers.json:NoDelete", "[Deny]"},
		{"iam:GetUser", "arn:aws:s3:::reports/q1.csv", "allowed", "IAMReadOnlyAccess:4:9"},
		{"kms:Decrypt", "arn:aws:s3:::reports/q1.csv", "implicitDeny", "-", "no", "identity-based"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, fields := range want {
		got := strings.Fields(lines[i])
		if len(got) < len(fields) || !cmp.Equal(got[:len(fields)], fields) {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], fields)
		}
	}
}

func TestPolicySimulateErrors(t *testing.T) {
	base := []string{"policy", "simulate", "--policy", td + "developers.json", "--action", "s3:GetObject"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no principal", base, `"principal" not set`},
		{"bad principal", append(base, "--principal", "alice"), `--principal "alice": want a user, role`},
		{"bad context syntax", append(base, "--principal", "123456789012", "--context", "aws:SourceIp"), "want KEY=TYPE:VALUE"},
		{"bad context type", append(base, "--principal", "123456789012", "--context", "aws:SourceIp=address:1.2.3.4"), `unknown type "address"`},
		{"bad ip", append(base, "--principal", "123456789012", "--context", "aws:SourceIp=ip:1.2.3"), `"1.2.3" is not a valid ip value`},
		{"bad numeric in a list", append(base, "--principal", "123456789012", "--context", "s3:max-keys=numericList:1,x"), `"x" is not a valid numeric value`},
		{"bad date", append(base, "--principal", "123456789012", "--context", "aws:CurrentTime=date:tomorrow"), `"tomorrow" is not a valid date value`},
		{"bad boolean", append(base, "--principal", "123456789012", "--context", "aws:SecureTransport=boolean:yes"), "want true or false"},
		{"bad output", append(base, "--principal", "123456789012", "--output", "yaml"), `unknown --output "yaml"`},
		{"bad principal tag", append(base, "--principal", "123456789012", "--principal-tag", "team"), "want KEY=VALUE"},
		{"missing file", []string{"policy", "simulate", "--policy", td + "nope.json", "--principal", "123456789012", "--action", "s3:GetObject"}, "no such file"},
		{"unknown managed policy", []string{"policy", "simulate", "--policy", "arn:aws:iam::aws:policy/NoSuchReadOnlyAccess", "--principal", "123456789012", "--action", "s3:GetObject"},
			"not one of the built-in AWS managed policies"},
		{"invalid policy file", []string{"policy", "simulate", "--policy", td + "bad.json", "--principal", "123456789012", "--action", "s3:GetObject"},
			"bad.json:2:11: $.Statement[0].Sid: MalformedPolicyDocument"},
		{"trust policy where a resource policy would do", []string{"policy", "simulate", "--trust-policy", td + "bucket.json", "--principal", "123456789012", "--action", "s3:GetObject"},
			"AssumeRole policy may only specify STS AssumeRole actions. (check it with `credbroker policy validate --kind trust"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCombined(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q\n%s", err, tc.want, out)
			}
		})
	}
}

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		in   string
		want policy.Principal
	}{
		{"arn:aws:iam::123456789012:user/team/alice", policy.Principal{Type: policy.PrincipalUser, ARN: "arn:aws:iam::123456789012:user/team/alice", Account: "123456789012", Username: "alice"}},
		{"arn:aws:iam::123456789012:role/svc/app", policy.Principal{Type: policy.PrincipalAssumedRole, ARN: "arn:aws:sts::123456789012:assumed-role/app/credbroker-simulate",
			RoleARN: "arn:aws:iam::123456789012:role/svc/app", Account: "123456789012"}},
		{"arn:aws:sts::123456789012:assumed-role/app/s1", policy.Principal{Type: policy.PrincipalAssumedRole, ARN: "arn:aws:sts::123456789012:assumed-role/app/s1",
			RoleARN: "arn:aws:iam::123456789012:role/app", Account: "123456789012"}},
		{"arn:aws:sts::123456789012:federated-user/fed", policy.Principal{Type: policy.PrincipalFederatedUser, ARN: "arn:aws:sts::123456789012:federated-user/fed",
			Account: "123456789012", UserID: "123456789012:fed"}},
		{"arn:aws:iam::123456789012:root", policy.Principal{Type: policy.PrincipalRoot, ARN: "arn:aws:iam::123456789012:root", Account: "123456789012", UserID: "123456789012"}},
		{"123456789012", policy.Principal{Type: policy.PrincipalRoot, ARN: "arn:aws:iam::123456789012:root", Account: "123456789012", UserID: "123456789012"}},
		{"ec2.amazonaws.com", policy.Principal{Type: policy.PrincipalService, ARN: "ec2.amazonaws.com"}},
		{"arn:aws:iam::123456789012:saml-provider/corp", policy.Principal{Type: policy.PrincipalFederated, ARN: "arn:aws:iam::123456789012:saml-provider/corp"}},
		{"anonymous", policy.Principal{Type: policy.PrincipalAnonymous}},
	}
	for _, tc := range tests {
		got, err := parsePrincipal(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, in := range []string{"", "alice", "arn:aws:iam::123456789012:group/devs", "arn:aws:sts::123456789012:assumed-role/", "arn:aws:iam:::user/x", "arn:aws:iam::123456789012:user/"} {
		if _, err := parsePrincipal(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseContextEntry(t *testing.T) {
	tests := map[string]policy.ContextKey{
		"aws:SourceIp=ip:192.0.2.1":                    {Name: "aws:SourceIp", Values: []string{"192.0.2.1"}},
		"aws:TagKeys=stringList:env,team":              {Name: "aws:TagKeys", Values: []string{"env", "team"}},
		"s3:prefix=string:a,b":                         {Name: "s3:prefix", Values: []string{"a,b"}},
		"sub=string:repo:acme/app:ref:refs/heads/main": {Name: "sub", Values: []string{"repo:acme/app:ref:refs/heads/main"}},
		"aws:CurrentTime=date:2025-01-31T12:00:00Z":    {Name: "aws:CurrentTime", Values: []string{"2025-01-31T12:00:00Z"}},
		"aws:EpochTime=numeric:1738324800":             {Name: "aws:EpochTime", Values: []string{"1738324800"}},
		"aws:MultiFactorAuthPresent=boolean:true":      {Name: "aws:MultiFactorAuthPresent", Values: []string{"true"}},
		"custom:blob=binary:QmluYXJ5":                  {Name: "custom:blob", Values: []string{"QmluYXJ5"}},
		"custom:days=dateList:2025-01-01,1735689600":   {Name: "custom:days", Values: []string{"2025-01-01", "1735689600"}},
		"custom:nets=ipList:10.0.0.0/8,2001:db8::1":    {Name: "custom:nets", Values: []string{"10.0.0.0/8", "2001:db8::1"}},
		"custom:flags=booleanList:true,false":          {Name: "custom:flags", Values: []string{"true", "false"}},
		"custom:n=numericList:1,2.5":                   {Name: "custom:n", Values: []string{"1", "2.5"}},
		"custom:b=binaryList:QmluYXJ5,YWJj":            {Name: "custom:b", Values: []string{"QmluYXJ5", "YWJj"}},
	}
	for in, want := range tests {
		got, err := parseContextEntry(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", in, diff)
		}
	}
}

func TestPolicyHelpTeaches(t *testing.T) {
	for _, sub := range []string{"validate", "simulate"} {
		out, err := runCombined(t, "", "policy", sub, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "credbroker policy "+sub) {
			t.Errorf("%s --help has no examples:\n%s", sub, out)
		}
	}
}
