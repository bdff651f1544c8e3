package iamapi_test

import (
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
	req := in{"DelegationRequestId": reqID}
	// Each case calls its action (the name's first word) with params.
	cases := []struct {
		name   string
		params in
		code   string
		status int
		msg    string
	}{
		{"ListOrganizationsFeatures", nil, "OrganizationNotFoundException", 400, "no organization is associated with your account"},
		{"EnableOrganizationsRootSessions", nil, "OrganizationNotFoundException", 400, ""},
		{"DisableOrganizationsRootSessions", nil, "OrganizationNotFoundException", 400, ""},
		{"EnableOrganizationsRootCredentialsManagement", nil, "OrganizationNotFoundException", 400, ""},
		{"DisableOrganizationsRootCredentialsManagement", nil, "OrganizationNotFoundException", 400, ""},
		{"GetDelegationRequest", req, "NoSuchEntity", 404, reqID},
		{"AcceptDelegationRequest", req, "NoSuchEntity", 404, ""},
		{"AssociateDelegationRequest", req, "NoSuchEntity", 404, ""},
		{"RejectDelegationRequest", req, "NoSuchEntity", 404, ""},
		{"UpdateDelegationRequest", req, "NoSuchEntity", 404, ""},
		{"SendDelegationToken", req, "NoSuchEntity", 404, ""},
		{"CreateDelegationRequest", in{"Description": "d",
			"Permissions":         &types.DelegationPermission{PolicyTemplateArn: aws.String("arn:aws:iam::aws:policy-template/x")},
			"RequestorWorkflowId": "wf-12345", "NotificationChannel": "arn:aws:sns:us-east-1:123456789012:t", "SessionDuration": int32(3600)},
			"InvalidInput", 400, "AWS Partner"},
		{"GetOutboundWebIdentityFederationInfo (disabled)", nil, "FeatureDisabled", 404, "not enabled"},
		{"DisableOutboundWebIdentityFederation (disabled)", nil, "FeatureDisabled", 404, ""},
		{"GetHumanReadableSummary of a missing role", in{"EntityArn": "arn:aws:iam::123456789012:role/missing"}, "NoSuchEntity", 404, ""},
		{"GetOrganizationsAccessReport of an unknown job", in{"JobId": "00000000-0000-4000-8000-000000000000"}, "NoSuchEntity", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			action, _, _ := strings.Cut(tc.name, " ")
			wantErr(t, ignore(call(t, ctx, root, action, tc.params)), tc.code, tc.status, tc.msg)
			wantErr(t, ignore(call(t, ctx, nobody, action, tc.params)), "AccessDenied", http.StatusForbidden, "iam:"+action)
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
