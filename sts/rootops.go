package sts

import (
	"context"
	"strings"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
)

// rootTaskPolicyPrefix is the path of the AWS managed policies that scope an
// AssumeRoot session (arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials,
// …).
const rootTaskPolicyPrefix = "arn:aws:iam::aws:policy/root-task/"

// assumeRoot is STS AssumeRoot as AWS answers it for an account that is not in an
// organization. AssumeRoot gives the organization's management account (or its
// delegated administrator) a root session in a member account; the core's account has
// no organization, so no account is its member: every call is refused, after the
// checks AWS makes first — the root user may not call it, the task policy must be a
// root-task policy, and the caller needs sts:AssumeRoot on the target's root
// (arn:aws:iam::TARGET:root), decided with sts:TaskPolicyArn.
func (c *Core) assumeRoot(_ context.Context, call *Call) (any, error) {
	p, cl := call.Params, call.Caller
	target := p.String("TargetPrincipal")
	task := p.Struct("TaskPolicyArn").String("arn")
	if cl.IsRoot() {
		call.record("sts:AssumeRoot", policy.ImplicitlyDenied)
		return nil, query.NewError(query.CodeAccessDenied, "You cannot use root user credentials to call AssumeRoot.")
	}
	if account.ValidateAccountID(target) != nil {
		var v account.Violations
		v.Add("targetPrincipal", target, "Member must be a 12-digit account id")
		return nil, v.Err()
	}
	if !strings.HasPrefix(task, rootTaskPolicyPrefix) {
		return nil, query.NewError(query.CodeInvalidParameterValue,
			"The TaskPolicyArn "+shorten(task)+" is not a root task policy: it must be an AWS managed policy under "+rootTaskPolicyPrefix+".")
	}
	resource := account.RootARN(target)
	if err := call.Authorize("sts:AssumeRoot", resource,
		WithResourceAccount(target),
		WithContextKeys(policy.ContextKey{Name: "sts:TaskPolicyArn", Values: []string{task}})); err != nil {
		return nil, err
	}
	// Allowed by the caller's policies, but no account is a member of an organization
	// of this account's: AWS's answer for a target outside the caller's organization.
	call.record("sts:AssumeRoot", policy.ImplicitlyDenied)
	return nil, call.denied("sts:AssumeRoot", resource, policy.Decision{Result: policy.ImplicitlyDenied, Reason: policy.ReasonNoResourceAllow})
}

// getDelegatedAccessToken is STS GetDelegatedAccessToken: it trades a token that
// IAM's delegation requests hand out, once the request is accepted, for credentials.
// The core's account has no accepted delegation request, so it has issued no trade-in
// token: every token is refused, as AWS refuses one it did not issue.
func (c *Core) getDelegatedAccessToken(_ context.Context, call *Call) (any, error) {
	call.record("sts:GetDelegatedAccessToken", policy.ImplicitlyDenied)
	return nil, query.NewError(query.CodeInvalidParameterValue,
		"The trade-in token is not valid: it was not issued for an accepted delegation request of this account.")
}
