package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/oidc"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// provider returns the account's OIDC provider for issuer, nil when there is none.
func (c *Core) provider(ctx context.Context, g *genCache, issuer string) (*account.OIDCProvider, error) {
	arn := account.OIDCProviderARN(c.st.AccountID(), strings.TrimRight(issuer, "/"))
	if p, ok := g.providers.get(arn); ok {
		return p, nil
	}
	var p *account.OIDCProvider
	gen, err := c.viewAt(ctx, func(tx *store.Tx) error {
		op, err := tx.OIDCProvider(arn)
		if err != nil {
			return err
		}
		p = &op
		return nil
	})
	if errors.Is(err, account.ErrNoSuchEntity) || errors.Is(err, account.ErrInvalidInput) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading OIDC provider %s: %w", arn, err)
	}
	if gen == g.gen {
		g.providers.put(arn, p)
	}
	return p, nil
}

// oidcCodes are AWS's codes for the token verification failures that have their own.
var oidcCodes = map[oidc.Kind]string{oidc.Expired: "ExpiredTokenException", oidc.Communication: "IDPCommunicationError"}

// webIdentityError maps a token verification failure to AWS's error.
func webIdentityError(err error) error {
	return federationError(err, oidcCodes, func(oe *oidc.Error) (oidc.Kind, string) { return oe.Kind, oe.Message })
}

// federationError is STS's answer when a federation verifier (SAML, OIDC) refuses a
// credential with its error type E: the code codes gives the error's kind, else
// InvalidIdentityToken (AWS's code for a credential that does not verify), with the
// verifier's client-facing message and the error itself as the cause only the log
// sees. Any other error is an internal failure and passes through unchanged.
func federationError[E error, K comparable](err error, codes map[K]string, read func(E) (K, string)) error {
	var e E
	if !errors.As(err, &e) {
		return err
	}
	kind, msg := read(e)
	code, ok := codes[kind]
	if !ok {
		code = "InvalidIdentityToken"
	}
	return &query.Error{Code: code, Message: msg, Cause: err}
}

// assumeRoleWithWebIdentity is STS AssumeRoleWithWebIdentity: the caller proves an
// identity with an OIDC ID token of a provider the account trusts, and the role's
// trust policy must allow sts:AssumeRoleWithWebIdentity for Principal Federated =
// the provider's ARN, with conditions on the token's claims ("<issuer>:sub",
// ":aud", ":amr", …).
func (c *Core) assumeRoleWithWebIdentity(ctx context.Context, call *Call) (any, error) {
	p := call.Params
	roleARN, name, raw := p.String("RoleArn"), p.String("RoleSessionName"), p.String("WebIdentityToken")
	iss, err := oidc.Issuer(raw)
	if err != nil {
		return nil, webIdentityError(err)
	}
	g := c.genCache()
	prov, err := c.provider(ctx, g, iss)
	if err != nil {
		return nil, err
	}
	if prov == nil {
		return nil, query.NewError("InvalidIdentityToken", "No OpenIDConnect provider found in your account for "+shorten(iss))
	}
	tok, err := c.oidc.Verify(ctx, raw, oidc.Provider{URL: prov.URL, ClientIDs: prov.ClientIDs})
	if err != nil {
		return nil, webIdentityError(err)
	}
	audience := matchedAudience(tok, prov.ClientIDs)

	target, err := c.targetRole(ctx, g, roleARN)
	if err != nil {
		return nil, err
	}
	federated := policy.Principal{Type: policy.PrincipalFederated, ARN: prov.ARN, Account: c.st.AccountID()}
	if target == nil || target.trust == nil {
		return nil, call.federationDenied("sts:AssumeRoleWithWebIdentity")
	}
	role := &target.role
	keys := webIdentityKeys(prov, tok)
	keys = append(keys, policy.ContextKey{Name: "sts:RoleSessionName", Values: []string{name}})
	set := policy.Set{Resource: []*policy.Policy{target.trust}}
	req := policy.Request{Principal: federated, Action: "sts:AssumeRoleWithWebIdentity", Resource: policy.Resource{ARN: role.ARN},
		Context: policy.Context{CurrentTime: call.Now, SourceIP: call.SourceIP, SecureTransport: policy.BoolOf(call.SecureTransport), Keys: keys}}
	var buf [4]policy.Match
	if d := set.Decide(&req, buf[:0]); d.Result != policy.Allowed {
		return nil, call.federationDenied("sts:AssumeRoleWithWebIdentity")
	}
	call.record("sts:AssumeRoleWithWebIdentity", policy.Allowed)

	dur := readDuration(p, time.Hour)
	if dur > roleMaxSession(role) {
		return nil, query.NewError(query.CodeValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	var in sessionInput
	if err := c.readSessionPolicies(ctx, p, &in); err != nil {
		return nil, err
	}
	res, err := c.issueRoleSession(call, roleSession{role: role, name: name, issued: call.Now.UTC().Truncate(time.Second), dur: dur, in: &in,
		callerARN: prov.ARN})
	if err != nil {
		return nil, err
	}
	res.web = &webIdentityResult{subject: tok.Subject, provider: tok.Issuer, audience: audience}
	return res, nil
}

// matchedAudience returns the client id the token was accepted for.
func matchedAudience(t *oidc.Token, clientIDs []string) string {
	for _, id := range clientIDs {
		for _, a := range t.Audience {
			if a == id {
				return id
			}
		}
		if t.AuthorizedParty == id {
			return id
		}
	}
	return ""
}

// webIdentityKeys are the condition keys AWS fills from an OIDC token, named after the
// provider (its URL without https://): PROVIDER:sub, PROVIDER:aud (the azp claim when
// there is one, the aud claim otherwise), PROVIDER:oaud (the aud claim when azp is
// set), PROVIDER:amr; and aws:FederatedProvider.
func webIdentityKeys(prov *account.OIDCProvider, t *oidc.Token) []policy.ContextKey {
	name := strings.TrimRight(strings.TrimPrefix(prov.URL, "https://"), "/")
	keys := []policy.ContextKey{
		{Name: name + ":sub", Values: []string{t.Subject}},
		{Name: "aws:FederatedProvider", Values: []string{prov.ARN}},
	}
	if t.AuthorizedParty != "" {
		keys = append(keys, policy.ContextKey{Name: name + ":aud", Values: []string{t.AuthorizedParty}})
		if len(t.Audience) > 0 {
			keys = append(keys, policy.ContextKey{Name: name + ":oaud", Values: t.Audience})
		}
	} else if len(t.Audience) > 0 {
		keys = append(keys, policy.ContextKey{Name: name + ":aud", Values: t.Audience})
	}
	if amr := stringsClaim(t.Claims["amr"]); len(amr) > 0 {
		keys = append(keys, policy.ContextKey{Name: name + ":amr", Values: amr})
	}
	return keys
}

func stringsClaim(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
