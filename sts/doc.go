// Package sts is credbroker's embedded IAM/STS core: one http.Handler that serves the
// STS Query API (and the IAM API, registered by its own package) to the AWS CLI, boto3
// and the SDKs unchanged, over the account held by package sts/store.
//
// # Requests
//
// Every request goes the same way: its body is read within Options.MaxBodyBytes; its
// form parsed (package query); its SigV4 signature verified (package signer) — the
// credential scope's service ("sts" or "iam") picks the Service, an unsigned request
// goes to STS, where only AssumeRoleWithWebIdentity may be anonymous; the caller
// authenticated; its parameters validated against the action's model; the action's
// Handler run; the result or error rendered as AWS's XML; and one audit line logged
// (request id, service, action, caller ARN, access key id, decision, status, error
// code, source ip, duration — never a secret). Refusals that name no known caller
// (bad or missing signatures, unknown keys) are one line per source address and
// error code a minute, plus a line counting the rest ("requests refused again"):
// a local flood cannot spend the journal's rate limit and hide the lines after it.
//
// # Authentication
//
// A long-term key (AKIA…) is looked up in the store, through a cache that lives as long
// as the store's Generation: an inactive or deleted key fails at once with
// InvalidClientTokenId. A temporary key (ASIA…) is authenticated by opening its sealed
// session token (signer/session): no store read; an expired token is ExpiredToken, a
// tampered one InvalidClientTokenId. A role session issued before the role's
// RevokeSessionsBefore is refused on every request (AccessDenied, as AWS's
// AWSRevokeOlderSessions policy).
//
// The session-token signing keys are kept in the store's encrypted secrets
// (sts/session-key/<kid>), made on first start, so that sessions outlive a restart.
//
// # Authorization
//
// The caller becomes a policy.Principal with its tags (a session's over its role's),
// and every request carries the global condition keys: aws:PrincipalArn,
// PrincipalAccount, PrincipalType, userid, username, PrincipalTag/*, SourceIp,
// CurrentTime, EpochTime, SecureTransport, MultiFactorAuthPresent and Age,
// TokenIssueTime, RequestedRegion, SourceIdentity (and RequestTag/*, TagKeys where a
// request passes tags). Call.Authorize decides with the policy engine and answers
// AccessDenied in AWS's words. Compiled policies are cached by principal and dropped
// when the store's Generation moves; inline session policies are cached by their text,
// in bounded caches: memory does not grow with the number of sessions issued.
//
// # Registering an API
//
// An API is a Service: its query.Model (generated from botocore's) and a Handler per
// action. The IAM API registers itself with Core.Register from its own package:
//
//	core.Register(&sts.Service{Model: iamModel, DenyReasons: true, Actions: map[string]sts.Action{
//		"GetUser": {Handler: func(ctx context.Context, c *sts.Call) (any, error) {
//			name := c.Params.String("UserName")
//			…
//			if err := c.Authorize("iam:GetUser", account.UserARN(c.AccountID(), path, name)); err != nil {
//				return nil, err
//			}
//			…
//			return &getUserResult{…}, nil
//		}},
//	}})
package sts
