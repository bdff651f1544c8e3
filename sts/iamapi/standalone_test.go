package iamapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestStandaloneAccountCalls: the calls that need an organization, a partner or an
// AWS AI service answer as AWS does for an account in no organization, after
// authorization.
func TestStandaloneAccountCalls(t *testing.T) {
	f := newFixture(t)
	root, ctx := f.rootClient(), f.ctx
	nobody := f.client(f.user("nobody"))
	const reqID = "dr-1234567890abcdef"
	cases := []struct {
		name        string
		call        func(c *iam.Client, ctx context.Context) error
		code        string
		status      int
		msg, action string
	}{
		{"ListOrganizationsFeatures", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.ListOrganizationsFeatures(ctx, &iam.ListOrganizationsFeaturesInput{}))
		}, "OrganizationNotFoundException", 400, "no organization is associated with your account", "iam:ListOrganizationsFeatures"},
		{"EnableOrganizationsRootSessions", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.EnableOrganizationsRootSessions(ctx, &iam.EnableOrganizationsRootSessionsInput{}))
		}, "OrganizationNotFoundException", 400, "", "iam:EnableOrganizationsRootSessions"},
		{"DisableOrganizationsRootSessions", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.DisableOrganizationsRootSessions(ctx, &iam.DisableOrganizationsRootSessionsInput{}))
		}, "OrganizationNotFoundException", 400, "", "iam:DisableOrganizationsRootSessions"},
		{"EnableOrganizationsRootCredentialsManagement", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.EnableOrganizationsRootCredentialsManagement(ctx, &iam.EnableOrganizationsRootCredentialsManagementInput{}))
		}, "OrganizationNotFoundException", 400, "", "iam:EnableOrganizationsRootCredentialsManagement"},
		{"DisableOrganizationsRootCredentialsManagement", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.DisableOrganizationsRootCredentialsManagement(ctx, &iam.DisableOrganizationsRootCredentialsManagementInput{}))
		}, "OrganizationNotFoundException", 400, "", "iam:DisableOrganizationsRootCredentialsManagement"},
		{"GetDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.GetDelegationRequest(ctx, &iam.GetDelegationRequestInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, reqID, "iam:GetDelegationRequest"},
		{"AcceptDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.AcceptDelegationRequest(ctx, &iam.AcceptDelegationRequestInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, "", "iam:AcceptDelegationRequest"},
		{"AssociateDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.AssociateDelegationRequest(ctx, &iam.AssociateDelegationRequestInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, "", "iam:AssociateDelegationRequest"},
		{"RejectDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.RejectDelegationRequest(ctx, &iam.RejectDelegationRequestInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, "", "iam:RejectDelegationRequest"},
		{"UpdateDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.UpdateDelegationRequest(ctx, &iam.UpdateDelegationRequestInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, "", "iam:UpdateDelegationRequest"},
		{"SendDelegationToken", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.SendDelegationToken(ctx, &iam.SendDelegationTokenInput{DelegationRequestId: aws.String(reqID)}))
		}, "NoSuchEntity", 404, "", "iam:SendDelegationToken"},
		{"CreateDelegationRequest", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.CreateDelegationRequest(ctx, &iam.CreateDelegationRequestInput{Description: aws.String("d"),
				Permissions:         &types.DelegationPermission{PolicyTemplateArn: aws.String("arn:aws:iam::aws:policy-template/x")},
				RequestorWorkflowId: aws.String("wf-12345"), NotificationChannel: aws.String("arn:aws:sns:us-east-1:123456789012:t"),
				SessionDuration: aws.Int32(3600)}))
		}, "InvalidInput", 400, "AWS Partner", "iam:CreateDelegationRequest"},
		{"GetOutboundWebIdentityFederationInfo (disabled)", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.GetOutboundWebIdentityFederationInfo(ctx, &iam.GetOutboundWebIdentityFederationInfoInput{}))
		}, "FeatureDisabled", 404, "not enabled", "iam:GetOutboundWebIdentityFederationInfo"},
		{"DisableOutboundWebIdentityFederation (disabled)", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.DisableOutboundWebIdentityFederation(ctx, &iam.DisableOutboundWebIdentityFederationInput{}))
		}, "FeatureDisabled", 404, "", "iam:DisableOutboundWebIdentityFederation"},
		{"GetHumanReadableSummary of a missing role", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.GetHumanReadableSummary(ctx, &iam.GetHumanReadableSummaryInput{EntityArn: aws.String("arn:aws:iam::123456789012:role/missing")}))
		}, "NoSuchEntity", 404, "", "iam:GetHumanReadableSummary"},
		{"GetOrganizationsAccessReport of an unknown job", func(c *iam.Client, ctx context.Context) error {
			return ignore(c.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")}))
		}, "NoSuchEntity", 404, "", "iam:GetOrganizationsAccessReport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.call(root, ctx), tc.code, tc.status, tc.msg)
			wantErr(t, tc.call(nobody, ctx), "AccessDenied", http.StatusForbidden, tc.action)
		})
	}

	l := must[*iam.ListDelegationRequestsOutput](t)(root.ListDelegationRequests(ctx, &iam.ListDelegationRequestsInput{}))
	if len(l.DelegationRequests) != 0 || l.IsTruncated {
		t.Errorf("ListDelegationRequests = %+v", l)
	}
	job := must[*iam.GenerateOrganizationsAccessReportOutput](t)(root.GenerateOrganizationsAccessReport(ctx, &iam.GenerateOrganizationsAccessReportInput{EntityPath: aws.String("o-a1b2c3d4e5/r-f6g7h8i9j0example")}))
	rep := must[*iam.GetOrganizationsAccessReportOutput](t)(root.GetOrganizationsAccessReport(ctx, &iam.GetOrganizationsAccessReportInput{JobId: job.JobId}))
	if rep.JobStatus != types.JobStatusTypeFailed || rep.ErrorDetails == nil || aws.ToString(rep.ErrorDetails.Code) != "AWSOrganizationsNotInUseException" || len(aws.ToString(job.JobId)) != 36 {
		t.Errorf("GetOrganizationsAccessReport = %+v", rep)
	}
	sum := must[*iam.GetHumanReadableSummaryOutput](t)(root.GetHumanReadableSummary(ctx, &iam.GetHumanReadableSummaryInput{EntityArn: aws.String("arn:aws:iam::123456789012:user/nobody")}))
	if sum.SummaryState != types.SummaryStateTypeNotSupported || aws.ToString(sum.Locale) != "en" {
		t.Errorf("GetHumanReadableSummary = %+v", sum)
	}
}

func TestOutboundWebIdentityAndSTSPreferences(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	en := must[*iam.EnableOutboundWebIdentityFederationOutput](t)(c.EnableOutboundWebIdentityFederation(ctx, &iam.EnableOutboundWebIdentityFederationInput{}))
	issuer := aws.ToString(en.IssuerIdentifier)
	if !strings.HasPrefix(issuer, "https://") || !strings.HasSuffix(issuer, ".tokens.sts.global.api.aws") {
		t.Errorf("issuer %q", issuer)
	}
	_, err := c.EnableOutboundWebIdentityFederation(ctx, &iam.EnableOutboundWebIdentityFederationInput{})
	wantErr(t, err, "FeatureEnabled", http.StatusConflict, "already enabled")
	info := must[*iam.GetOutboundWebIdentityFederationInfoOutput](t)(c.GetOutboundWebIdentityFederationInfo(ctx, &iam.GetOutboundWebIdentityFederationInfoInput{}))
	if aws.ToString(info.IssuerIdentifier) != issuer || !info.JwtVendingEnabled {
		t.Errorf("info = %+v", info)
	}
	check(t, ignore(c.DisableOutboundWebIdentityFederation(ctx, &iam.DisableOutboundWebIdentityFederationInput{})))
	_, err = c.GetOutboundWebIdentityFederationInfo(ctx, &iam.GetOutboundWebIdentityFederationInfoInput{})
	wantErr(t, err, "FeatureDisabled", http.StatusNotFound, "")

	version := func() int32 {
		s := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
		return s.SummaryMap["GlobalEndpointTokenVersion"]
	}
	if v := version(); v != 1 {
		t.Errorf("default GlobalEndpointTokenVersion %d", v)
	}
	check(t, ignore(c.SetSecurityTokenServicePreferences(ctx, &iam.SetSecurityTokenServicePreferencesInput{GlobalEndpointTokenVersion: types.GlobalEndpointTokenVersionV2Token})))
	if v := version(); v != 2 {
		t.Errorf("after v2Token: %d", v)
	}
	check(t, ignore(c.SetSecurityTokenServicePreferences(ctx, &iam.SetSecurityTokenServicePreferencesInput{GlobalEndpointTokenVersion: types.GlobalEndpointTokenVersionV1Token})))
	if v := version(); v != 1 {
		t.Errorf("after v1Token: %d", v)
	}
}
