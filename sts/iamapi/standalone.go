package iamapi

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// The calls whose feature needs an AWS Organizations organization, an AWS Partner or
// an AI service answer as AWS does for a standalone account: the core's account is
// in no organization. Each is authorized first, as IAM does.

// errNoOrganization is IAM's answer to the centralized root access calls of an
// account that belongs to no organization (the model gives the code no HTTP status:
// 400, the Query protocol's default for a client error).
func errNoOrganization() error {
	return &query.Error{Code: "OrganizationNotFoundException", Status: http.StatusBadRequest,
		Message: "The request was rejected because no organization is associated with your account."}
}

// organizationsFeature answers ListOrganizationsFeatures and the Enable/Disable
// Organizations Root… calls.
func organizationsFeature(action string) sts.Handler {
	return func(_ context.Context, c *sts.Call) (any, error) {
		if err := c.Authorize("iam:"+action, "*"); err != nil {
			return nil, err
		}
		return nil, errNoOrganization()
	}
}

type generateJobResult struct {
	JobID string `xml:"JobId"`
}

// orgReportFailure is why an Organizations access report cannot be made here.
type orgReportFailure struct{}

const jobOrgReport = "organizations-access-report"

// generateOrganizationsAccessReport starts a job that fails as AWS's does when the
// caller's account is not an organization's management account: the report is
// FAILED with Organizations' own error.
func (a *API) generateOrganizationsAccessReport(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GenerateOrganizationsAccessReport", "*"); err != nil {
		return nil, err
	}
	a.jobs.put(c.RequestID, jobOrgReport, c.Now, orgReportFailure{})
	return &generateJobResult{JobID: c.RequestID}, nil
}

type errorDetailsXML struct {
	Message string `xml:"Message"`
	Code    string `xml:"Code"`
}

type orgReportResult struct {
	JobStatus         string           `xml:"JobStatus"`
	JobCreationDate   query.Timestamp  `xml:"JobCreationDate"`
	JobCompletionDate query.Timestamp  `xml:"JobCompletionDate"`
	IsTruncated       bool             `xml:"IsTruncated"`
	ErrorDetails      *errorDetailsXML `xml:"ErrorDetails,omitempty"`
}

func (a *API) getOrganizationsAccessReport(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetOrganizationsAccessReport", "*"); err != nil {
		return nil, err
	}
	_, created, err := a.jobs.get(c.Params.String("JobId"), jobOrgReport, c.Now)
	if err != nil {
		return nil, err
	}
	return &orgReportResult{JobStatus: "FAILED", JobCreationDate: ts(created), JobCompletionDate: ts(created),
		ErrorDetails: &errorDetailsXML{Code: "AWSOrganizationsNotInUseException",
			Message: "Your account is not a member of an organization."}}, nil
}

// Delegation requests are made by AWS Partners' workflows for a customer's account:
// the core's account has none, and cannot create one.

func delegationRequestCall(action string) sts.Handler {
	return func(_ context.Context, c *sts.Call) (any, error) {
		if err := c.Authorize("iam:"+action, "*"); err != nil {
			return nil, err
		}
		return nil, account.Errorf(account.NoSuchEntity, "The delegation request with id %s cannot be found.", quoteName(c.Params.String("DelegationRequestId")))
	}
}

func (a *API) createDelegationRequest(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:CreateDelegationRequest", "*"); err != nil {
		return nil, err
	}
	return nil, account.Errorf(account.InvalidInput, "Delegation requests can only be created by an AWS Partner registered for them.")
}

type listDelegationRequestsResult struct {
	DelegationRequests members[struct{}] `xml:"DelegationRequests"`
	IsTruncated        bool              `xml:"isTruncated"`
}

func (a *API) listDelegationRequests(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:ListDelegationRequests", "*"); err != nil {
		return nil, err
	}
	if m := c.Params.String("Marker"); m != "" {
		return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
	}
	return &listDelegationRequestsResult{}, nil
}

// Outbound web identity federation: once enabled, STS vends JWTs for the account
// (GetWebIdentityToken) under an issuer made here, in AWS's form.

type outboundInfoResult struct {
	IssuerIdentifier  string `xml:"IssuerIdentifier"`
	JwtVendingEnabled bool   `xml:"JwtVendingEnabled"`
}

func (a *API) enableOutboundWebIdentityFederation(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:EnableOutboundWebIdentityFederation", "*"); err != nil {
		return nil, err
	}
	var b [16]byte
	if _, err := io.ReadFull(c.Rand(), b[:]); err != nil {
		return nil, err
	}
	issuer := "https://" + hex.EncodeToString(b[:]) + ".tokens.sts.global.api.aws"
	if err := update(ctx, c, func(tx *store.Tx) error { return tx.SetOutboundWebIdentityIssuer(issuer) }); err != nil {
		return nil, err
	}
	return one("IssuerIdentifier", issuer), nil
}

func (a *API) disableOutboundWebIdentityFederation(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:DisableOutboundWebIdentityFederation", "*"); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetOutboundWebIdentityIssuer("") }))
}

func (a *API) getOutboundWebIdentityFederationInfo(ctx context.Context, c *sts.Call) (any, error) {
	acct, err := viewAuthorized(ctx, c, "iam:GetOutboundWebIdentityFederationInfo", (*store.Tx).Account)
	if err != nil {
		return nil, err
	}
	if acct.OutboundWebIdentityIssuer == "" {
		return nil, account.Errorf(account.FeatureDisabled, "Outbound web identity federation is not enabled for this account.")
	}
	return &outboundInfoResult{IssuerIdentifier: acct.OutboundWebIdentityIssuer, JwtVendingEnabled: true}, nil
}

// setSecurityTokenServicePreferences records the token version of the global STS
// endpoint; GetAccountSummary reports it as GlobalEndpointTokenVersion.
func (a *API) setSecurityTokenServicePreferences(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:SetSecurityTokenServicePreferences", "*"); err != nil {
		return nil, err
	}
	v := 1
	if c.Params.String("GlobalEndpointTokenVersion") == "v2Token" {
		v = 2
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetSTSGlobalEndpointTokenVersion(v) }))
}

type humanReadableSummaryResult struct {
	SummaryContent string `xml:"SummaryContent,omitempty"`
	Locale         string `xml:"Locale"`
	SummaryState   string `xml:"SummaryState"`
}

// getHumanReadableSummary: IAM's natural-language summaries are made by an AWS AI
// service the core does not have. For an entity that exists it answers NOT_SUPPORTED
// (no summary content), for a missing one NoSuchEntity, as IAM does.
func (a *API) getHumanReadableSummary(ctx context.Context, c *sts.Call) (any, error) {
	arn := c.Params.String("EntityArn")
	if err := c.Authorize("iam:GetHumanReadableSummary", arn); err != nil {
		return nil, err
	}
	parsed, err := account.ParseARN(arn)
	if err != nil || parsed.Service != "iam" {
		return nil, account.Errorf(account.InvalidInput, "EntityArn %s is not an IAM entity's ARN.", quoteName(arn))
	}
	if err := view(ctx, c, func(tx *store.Tx) error { return entityExists(tx, c, arn) }); err != nil {
		return nil, err
	}
	locale := c.Params.String("Locale")
	if locale == "" {
		locale = "en"
	}
	return &humanReadableSummaryResult{Locale: locale, SummaryState: "NOT_SUPPORTED"}, nil
}

// entityExists answers NoSuchEntity unless arn names a user, group, role or policy of
// the account (or an AWS managed policy the core has).
func entityExists(tx *store.Tx, c *sts.Call, arn string) error {
	if account.IsAWSManagedPolicyARN(arn) {
		if _, ok := c.Catalog().Lookup(arn); ok {
			return nil
		}
		return account.Errorf(account.NoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
	}
	_, err := entityOfARN(tx, arn)
	return err
}

// entityOfARN resolves the ARN of a user, group, role or customer managed policy.
func entityOfARN(tx *store.Tx, arn string) (account.Ref, error) {
	parsed, err := account.ParseARN(arn)
	if err != nil {
		return account.Ref{}, err
	}
	typ, _, name := parsed.SplitResource()
	if parsed.Account != tx.AccountID() {
		return account.Ref{}, account.Errorf(account.NoSuchEntity, "The entity %s cannot be found.", quoteName(arn))
	}
	switch strings.ToLower(typ) {
	case "user":
		u, err := tx.User(name)
		if err == nil && u.ARN != arn {
			err = account.Errorf(account.NoSuchEntity, "The user with name %s cannot be found.", name)
		}
		return account.UserRef(name), err
	case "group":
		_, err := tx.Group(name)
		return account.GroupRef(name), err
	case "role":
		_, err := tx.Role(name)
		return account.RoleRef(name), err
	case "policy":
		_, err := tx.Policy(arn)
		return account.PolicyRef(arn), err
	}
	return account.Ref{}, account.Errorf(account.InvalidInput, "ARN %s is not the ARN of a user, group, role or policy.", quoteName(arn))
}
