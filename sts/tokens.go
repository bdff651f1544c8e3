package sts

import (
	"context"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
)

// Durations of GetSessionToken and GetFederationToken.
const (
	userSessionDefault = 12 * time.Hour
	rootSessionMax     = time.Hour
)

type sessionTokenResult struct{ creds credentials }

// MarshalQueryXML writes the result's elements.
func (r *sessionTokenResult) MarshalQueryXML(w *query.XMLWriter) { r.creds.marshal(w) }

// getSessionToken is STS GetSessionToken: temporary credentials for an IAM user (or
// root) signing with its long-term key, with MFA when a code is passed. It needs no
// permission, as AWS's.
func (c *Core) getSessionToken(ctx context.Context, call *Call) (any, error) {
	cl := call.Caller
	if cl.Session != nil {
		return nil, query.NewError(query.CodeAccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	dur := readDuration(call.Params, userSessionDefault)
	if cl.IsRoot() && dur > rootSessionMax {
		dur = rootSessionMax // AWS shortens the root user's sessions to an hour
	}
	var mfaTime time.Time
	if serial, code := call.Params.String("SerialNumber"), call.Params.String("TokenCode"); serial != "" || code != "" {
		var err error
		if mfaTime, err = c.checkMFA(ctx, call, serial, code); err != nil {
			return nil, err
		}
	}
	creds, err := c.mintUserSession(session.KindSessionToken, cl.ARN, cl.UserID, call.Now, dur, mfaTime)
	if err != nil {
		return nil, err
	}
	call.decision = "allow"
	return &sessionTokenResult{creds: creds}, nil
}

type federationTokenResult struct {
	creds credentials
	user  sessionUser // FederatedUser
}

// MarshalQueryXML writes the result's elements.
func (r *federationTokenResult) MarshalQueryXML(w *query.XMLWriter) {
	r.creds.marshal(w)
	r.user.marshal(w, "FederatedUser", "FederatedUserId")
}

// getFederationToken is STS GetFederationToken: a federated user session for an IAM
// user signing with its long-term key. The session's permissions are the user's
// intersected with the session policies passed; without any it has none, as AWS's.
func (c *Core) getFederationToken(ctx context.Context, call *Call) (any, error) {
	cl, p := call.Caller, call.Params
	if cl.Session != nil {
		return nil, query.NewError(query.CodeAccessDenied, "Cannot call GetFederationToken with session credentials")
	}
	name := p.String("Name")
	acct := c.st.AccountID()
	fedARN := account.FederatedUserARN(acct, name)
	var in sessionInput
	if err := readSessionTags(p, nil, &in, false); err != nil {
		return nil, err
	}
	if err := call.Authorize("sts:GetFederationToken", fedARN); err != nil {
		return nil, err
	}
	if len(in.tags) > 0 {
		if err := call.Authorize("sts:TagSession", fedARN, WithRequestTags(policyTags(in.tags))); err != nil {
			return nil, err
		}
	}
	if err := c.readSessionPolicies(ctx, p, &in); err != nil {
		return nil, err
	}
	dur := readDuration(p, userSessionDefault)
	if cl.IsRoot() && dur > rootSessionMax {
		dur = rootSessionMax
	}
	now := call.Now.UTC().Truncate(time.Second)
	claims := &session.Claims{
		Kind: session.KindFederatedUser, AccountID: acct, PrincipalARN: fedARN, IdentityARN: cl.ARN,
		UniqueID: acct + ":" + name, IssuedAt: now, Expiry: now.Add(dur),
		SessionPolicy: in.policy, PolicyARNs: in.policyARNs, Tags: in.tags, CallerARN: cl.ARN,
	}
	creds, err := c.mint(claims)
	if err != nil {
		return nil, err
	}
	res := &federationTokenResult{creds: creds, user: sessionUser{id: claims.UniqueID, arn: fedARN}}
	res.user.packed, res.user.hasPacked = in.packed()
	return res, nil
}
