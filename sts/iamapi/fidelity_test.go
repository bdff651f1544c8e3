package iamapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// IAM's answers that programs written for AWS depend on (issue 13 §2).

// GetPolicy answers Tags, an empty list when the policy has none: the SDK
// then sees a non-nil empty slice.
func TestGetPolicyAnswersEmptyTags(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
	for _, a := range []string{arn, iamReadOnlyARN} {
		got := must[*iam.GetPolicyOutput](t)(c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(a)})).Policy
		if got.Tags == nil || len(got.Tags) != 0 {
			t.Errorf("%s: Tags = %#v, want an empty list", a, got.Tags)
		}
	}
}

// DeleteOpenIDConnectProvider is idempotent (AWS: "it does not fail or
// return an error if you call the operation for a provider that does not
// exist"), but still needs the permission.
func TestDeleteMissingOIDCProvider(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	missing := aws.String("arn:aws:iam::123456789012:oidc-provider/token.example.com")
	check(t, ignore(c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: missing})))
	nobody := f.client(f.user("nobody"))
	_, err := nobody.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: missing})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:DeleteOpenIDConnectProvider")
}

// An invalid path gets IAM's own message, not the model's pattern.
func TestInvalidPathMessage(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	const msg = "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
	for _, path := range []string{"test", "/test//test/", "/no-end"} {
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u"), Path: aws.String(path)})
		wantErr(t, err, "ValidationError", http.StatusBadRequest, msg)
		_, err = c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("d"), Path: aws.String(path)})
		wantErr(t, err, "ValidationError", http.StatusBadRequest, msg)
	}
}

// The account summary says IAM's default quotas, and the attachment quota
// holds: 10 managed policies per user, group and role.
func TestAttachedPoliciesQuota(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})).SummaryMap
	for _, k := range []string{"AttachedPoliciesPerUserQuota", "AttachedPoliciesPerGroupQuota", "AttachedPoliciesPerRoleQuota"} {
		if sum[k] != 10 {
			t.Errorf("%s = %d, want 10", k, sum[k])
		}
	}
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	for i := range 11 {
		arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprint("p", i)), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
		_, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: &arn})
		if i < 10 {
			check(t, err)
			continue
		}
		wantErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for PoliciesPerUser: 10.")
	}
}
