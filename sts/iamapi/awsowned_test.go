package iamapi_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// AWS managed policies and service-linked roles cannot be changed by
// customers whatever their policies say: the API refuses in AWS's words and
// the simulator says implicitDeny.
func TestAWSOwnedRefused(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	const slrPath = "/aws-service-role/support.amazonaws.com/"
	f.update(func(tx *store.Tx) error {
		_, err := tx.CreateRole(account.Role{Name: "AWSServiceRoleForSupport", Path: slrPath,
			AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"support.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
		return err
	})
	slr := aws.String("AWSServiceRoleForSupport")
	admin := f.client(f.user("admin", adminARN))
	for name, client := range map[string]*iam.Client{"root": c, "administrator": admin} {
		t.Run(name, func(t *testing.T) {
			_, err := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(adminARN)})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "Cannot delete policies outside your own account.")
			_, err = client.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(adminARN), PolicyDocument: aws.String(logsPolicy)})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "Cannot create versions for policies outside your own account.")
			_, err = client.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(adminARN), VersionId: aws.String("v1")})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "Cannot update policies outside your own account.")
			_, err = client.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(adminARN), VersionId: aws.String("v1")})
			wantErr(t, err, "AccessDenied", http.StatusForbidden, "Cannot delete policy versions for policies outside your own account.")

			const protected = "Cannot perform the operation on the protected role 'AWSServiceRoleForSupport' - this role is only modifiable by AWS"
			_, err = client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: slr})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, protected)
			_, err = client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: slr, PolicyDocument: aws.String(ec2Trust)})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, protected)
			_, err = client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: slr, PolicyName: aws.String("x"), PolicyDocument: aws.String(logsPolicy)})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, protected)
			_, err = client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: slr, PolicyArn: aws.String(adminARN)})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, protected)
			_, err = client.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: slr, PermissionsBoundary: aws.String(adminARN)})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, protected)
			_, err = client.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: slr, MaxSessionDuration: aws.Int32(7200)})
			wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, "AWSServiceRoleForSupport is an AWS service linked role, max session duration cannot be changed.")
			// Its description may be edited, and it can be read.
			check(t, ignore(client.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: slr, Description: aws.String("support")})))
			check(t, ignore(client.GetRole(ctx, &iam.GetRoleInput{RoleName: slr})))
		})
	}
	// Without the permission, the caller is told it is not authorized, as for
	// any other role.
	nobody := f.client(f.user("nobody"))
	_, err := nobody.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: slr})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "is not authorized to perform: iam:DeleteRole")

	// The simulator says implicitDeny where the policies alone would allow.
	out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/admin"),
		ActionNames:     []string{"iam:DeletePolicy", "iam:GetPolicy"},
		ResourceArns:    []string{adminARN},
	}))
	got := map[string]string{}
	for _, r := range out.EvaluationResults {
		got[aws.ToString(r.EvalActionName)] = string(r.EvalDecision)
	}
	if got["iam:DeletePolicy"] != "implicitDeny" || got["iam:GetPolicy"] != "allowed" {
		t.Errorf("simulated decisions %v, want DeletePolicy implicitDeny and GetPolicy allowed", got)
	}
}

// AssumeRole and KMS keys need their resource policies whatever the identity
// policies say; the simulator answers as AWS decides.
func TestSimulateRequiredResourcePolicies(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	f.user("admin", adminARN)
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("trusts-account"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)}))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2-only"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	decide := func(in *iam.SimulatePrincipalPolicyInput) string {
		t.Helper()
		in.PolicySourceArn = aws.String("arn:aws:iam::123456789012:user/admin")
		out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, in))
		return string(out.EvaluationResults[0].EvalDecision)
	}
	role := func(n string) []string { return []string{"arn:aws:iam::123456789012:role/" + n} }
	key := []string{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
	cases := []struct {
		name string
		in   iam.SimulatePrincipalPolicyInput
		want string
	}{
		{"trust policy trusts the account", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"sts:AssumeRole"}, ResourceArns: role("trusts-account")}, "allowed"},
		{"trust policy trusts only EC2", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"sts:AssumeRole"}, ResourceArns: role("ec2-only")}, "implicitDeny"},
		{"no such role", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"sts:AssumeRole"}, ResourceArns: role("ghost")}, "implicitDeny"},
		{"other actions on the role need no trust", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"iam:GetRole"}, ResourceArns: role("ec2-only")}, "allowed"},
		{"KMS key without a key policy", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"kms:Decrypt"}, ResourceArns: key}, "implicitDeny"},
		{"KMS key policy delegating to the account", iam.SimulatePrincipalPolicyInput{ActionNames: []string{"kms:Decrypt"}, ResourceArns: key,
			ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`)}, "allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := decide(&tc.in); got != tc.want {
				t.Errorf("EvalDecision %s, want %s", got, tc.want)
			}
		})
	}
	// SimulateCustomPolicy: the identity policy alone does not decide.
	out := must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*","sts:AssumeRole"],"Resource":"*"}]}`},
		ActionNames:     []string{"kms:Decrypt", "sts:AssumeRole"}, ResourceArns: append(key, role("ec2-only")...),
	}))
	for _, r := range out.EvaluationResults {
		action, res := aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName)
		required := action == "kms:Decrypt" && res == key[0] || action == "sts:AssumeRole" && res != key[0]
		if want := map[bool]string{true: "implicitDeny", false: "allowed"}[required]; string(r.EvalDecision) != want {
			t.Errorf("SimulateCustomPolicy %s on %s: %s, want %s", action, res, r.EvalDecision, want)
		}
	}
}
