package sts

import (
	"context"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
)

// stsService is the STS API: its model and actions.
func (c *Core) stsService() *Service {
	return &Service{
		Model: c.stsModel,
		Actions: map[string]Action{
			"GetCallerIdentity":          {Handler: c.getCallerIdentity},
			"GetAccessKeyInfo":           {Handler: c.getAccessKeyInfo},
			"AssumeRole":                 {Handler: c.assumeRole, Throttled: true},
			"GetSessionToken":            {Handler: c.getSessionToken, Throttled: true},
			"GetFederationToken":         {Handler: c.getFederationToken, Throttled: true},
			"AssumeRoleWithWebIdentity":  {Handler: c.assumeRoleWithWebIdentity, Anonymous: true, Throttled: true},
			"AssumeRoleWithSAML":         {Handler: c.assumeRoleWithSAML, Anonymous: true, Throttled: true},
			"GetWebIdentityToken":        {Handler: c.getWebIdentityToken, EncodeDenials: true},
			"DecodeAuthorizationMessage": {Handler: c.decodeAuthorizationMessage},
			"AssumeRoot":                 {Handler: c.assumeRoot},
			"GetDelegatedAccessToken":    {Handler: c.getDelegatedAccessToken},
		},
	}
}

// callerIdentity is GetCallerIdentity's result.
type callerIdentity struct{ userID, account, arn string }

// MarshalQueryXML writes the result's elements.
func (r *callerIdentity) MarshalQueryXML(w *query.XMLWriter) {
	w.String("UserId", r.userID)
	w.String("Account", r.account)
	w.String("Arn", r.arn)
}

// getCallerIdentity answers who signed the request. It needs no permission, as AWS's
// (an explicit deny cannot stop it either).
func (c *Core) getCallerIdentity(_ context.Context, call *Call) (any, error) {
	cl := call.Caller
	call.decision = "allow"
	return &callerIdentity{userID: cl.UserID, account: cl.Account, arn: cl.ARN}, nil
}

type accessKeyInfo struct{ account string }

// MarshalQueryXML writes the result's elements.
func (r *accessKeyInfo) MarshalQueryXML(w *query.XMLWriter) { w.String("Account", r.account) }

// getAccessKeyInfo returns the account an access key id belongs to, decoded from the
// id as AWS encodes it.
func (c *Core) getAccessKeyInfo(_ context.Context, call *Call) (any, error) {
	if err := call.Authorize("sts:GetAccessKeyInfo", "*"); err != nil {
		return nil, err
	}
	id := call.Params.String("AccessKeyId")
	acct, ok := account.AccountFromID(id)
	if !ok {
		var v account.Violations
		v.Add("accessKeyId", id, "Member must be an access key id")
		return nil, v.Err()
	}
	return &accessKeyInfo{account: acct}, nil
}
