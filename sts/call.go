package sts

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Call is one request to an action, as its Handler sees it.
type Call struct {
	// Action is the action's name ("AssumeRole"); Service the API's signing name
	// ("sts", "iam"), also the prefix of its IAM actions ("sts:AssumeRole").
	Action, Service string
	// Params are the request's parameters, validated against the action's model.
	Params query.Params
	// Caller is the authenticated principal; nil for an anonymous action called
	// without a signature.
	Caller *Caller
	// RequestID is the id the response and the audit line carry.
	RequestID string
	// SourceIP is the peer's address (aws:SourceIp); invalid when unknown.
	SourceIP netip.Addr
	// SecureTransport says the request came over TLS (aws:SecureTransport).
	SecureTransport bool
	// Region is the region of the signature's scope (aws:RequestedRegion).
	Region string
	// Now is when the request arrived (aws:CurrentTime).
	Now time.Time
	// Host is the request's Host header (the core's address as the client knows it).
	Host string

	core     *Core
	svc      *Service
	decision string
	lastReq  *policy.Request // the last request Decide decided, for encoded denials
}

// Store returns the account's store.
func (c *Call) Store() Store { return c.core.st }

// AccountID returns the account the core serves.
func (c *Call) AccountID() string { return c.core.st.AccountID() }

// Logger returns the core's logger.
func (c *Call) Logger() hclog.Logger { return c.core.log }

// Rand returns the core's source of randomness.
func (c *Call) Rand() io.Reader { return c.core.rand }

// Catalog returns the AWS managed policies the core knows.
func (c *Call) Catalog() *policy.Catalog { return c.core.catalog }

// AuthzOption adjusts the request or the policy set of one authorization, before
// Decide: resource tags and account, request tags, extra condition keys, a
// resource-based policy.
type AuthzOption func(r *policy.Request, s *policy.Set)

// WithResourceTags sets aws:ResourceTag/* (the tags of the user, role, … acted on).
func WithResourceTags(tags []policy.Tag) AuthzOption {
	return func(r *policy.Request, _ *policy.Set) { r.Resource.Tags = tags }
}

// WithResourceAccount sets the account owning the resource (aws:ResourceAccount);
// another account than the caller's makes the request cross-account.
func WithResourceAccount(acct string) AuthzOption {
	return func(r *policy.Request, _ *policy.Set) { r.Resource.Account = acct }
}

// WithRequestTags sets aws:RequestTag/* and aws:TagKeys (tags a request adds).
func WithRequestTags(tags []policy.Tag) AuthzOption {
	return func(r *policy.Request, _ *policy.Set) { r.Context.RequestTags = tags }
}

// WithContextKeys adds condition keys (service-specific ones such as
// iam:PermissionsBoundary, or overrides of the global ones).
func WithContextKeys(keys ...policy.ContextKey) AuthzOption {
	return func(r *policy.Request, _ *policy.Set) { r.Context.Keys = append(r.Context.Keys, keys...) }
}

// WithResourcePolicies adds resource-based policies of the resource.
func WithResourcePolicies(ps ...*policy.Policy) AuthzOption {
	return func(_ *policy.Request, s *policy.Set) { s.Resource = append(s.Resource, ps...) }
}

// Authorize decides, with the policy engine, whether the caller may perform action
// ("iam:CreateUser") on resource (an ARN; "*" for actions without one). It returns
// nil when allowed, else an AccessDenied *query.Error in AWS's words ("User: ARN is
// not authorized to perform: ACTION on resource: ARN", with IAM's reason when the
// service asks for it). The request carries the caller's principal and tags and the
// global condition keys; opts add the rest.
//
// As AWS, a GetFederationToken session may not call IAM, and a GetSessionToken
// session may call IAM only when it was made with MFA; a console sign-in may.
func (c *Call) Authorize(action, resource string, opts ...AuthzOption) error {
	d, err := c.Decide(action, resource, opts...)
	if err != nil {
		return err
	}
	if d.Result == policy.Allowed {
		return nil
	}
	if d.Reason == policy.ReasonAWSOwned {
		// What AWS owns is refused to everyone, in AWS's words.
		if r, ok := policy.AWSOwned(action, resource); ok {
			return query.NewError(r.Code, r.Message)
		}
	}
	return c.denied(action, resource, d)
}

// Decide is Authorize returning the policy engine's decision, for handlers that need
// the deciding statements. err is set only when the decision could not be made.
func (c *Call) Decide(action, resource string, opts ...AuthzOption) (policy.Decision, error) {
	req, set := c.request(action, resource)
	for _, o := range opts {
		o(&req, &set)
	}
	if c.svc != nil && c.svc.Actions[c.Action].EncodeDenials {
		kept := req
		c.lastReq = &kept
	}
	var d policy.Decision
	if c.Caller == nil {
		d = policy.Decision{Result: policy.ImplicitlyDenied, Reason: policy.ReasonNoIdentityAllow}
	} else if c.Service == "iam" && !c.mayCallIAM() {
		d = policy.Decision{Result: policy.ImplicitlyDenied, Reason: policy.ReasonNoIdentityAllow}
	} else {
		var buf [8]policy.Match
		d = set.Decide(&req, buf[:0])
	}
	c.record(action, d.Result)
	if d.Result == policy.Allowed {
		c.recordAccess(action)
	}
	return d, nil
}

// accessRecorder is the store's record of last-accessed data (*store.Store has it).
type accessRecorder interface {
	RecordServiceAccess(principalID, action, region string, at time.Time)
}

// recordAccess notes that the calling user or role was allowed action, for IAM's
// last-accessed reports (GetServiceLastAccessedDetails). Root and federated users
// are not entities those reports cover.
func (c *Call) recordAccess(action string) {
	rec, ok := c.core.st.(accessRecorder)
	if !ok || c.Caller == nil {
		return
	}
	id, _, _ := strings.Cut(c.Caller.UserID, ":")
	if strings.HasPrefix(id, account.PrefixUser) || strings.HasPrefix(id, account.PrefixRole) {
		rec.RecordServiceAccess(id, action, c.Region, c.Now)
	}
}

// mayCallIAM applies AWS's rule for temporary credentials that are not a role's.
func (c *Call) mayCallIAM() bool {
	switch c.Caller.SessionKind() {
	case session.KindFederatedUser:
		return false
	case session.KindSessionToken:
		return c.Caller.Session.MFA()
	}
	return true
}

func (c *Call) record(action string, r policy.Result) {
	switch {
	case r == policy.Allowed && c.decision == "":
		c.decision = "allow"
	case r == policy.ExplicitlyDenied:
		c.decision = "explicit-deny " + action
	case r != policy.Allowed:
		c.decision = "implicit-deny " + action
	}
}

// request builds the policy request and set of the caller.
func (c *Call) request(action, resource string) (policy.Request, policy.Set) {
	req := policy.Request{Action: action, Resource: policy.Resource{ARN: resource}}
	req.Context = policy.Context{
		CurrentTime:     c.Now,
		SourceIP:        c.SourceIP,
		SecureTransport: policy.BoolOf(c.SecureTransport),
		RequestedRegion: c.Region,
	}
	cl := c.Caller
	if cl == nil {
		return req, policy.Set{}
	}
	req.Principal = cl.Principal
	var set policy.Set
	if e := cl.entry; e != nil {
		set.Identity, set.Boundary = e.identity, e.boundary
	}
	set.Session = cl.sessPols
	if s := cl.Session; s != nil {
		req.Context.TokenIssueTime = s.IssuedAt
		req.Context.SourceIdentity = s.SourceIdentity
		req.Context.MultiFactorAuthPresent = policy.BoolOf(s.MFA())
		req.Context.MultiFactorAuthTime = s.MFAAuthTime
	}
	return req, set
}

// denied renders a denial as AWS does.
func (c *Call) denied(action, resource string, d policy.Decision) *query.Error {
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s", c.callerARN(), action)
	if resource != "" && resource != "*" {
		msg += " on resource: " + resource
	}
	if c.svc != nil && c.svc.DenyReasons {
		msg += denyReason(action, d)
	}
	msg += c.encodedSuffix(action, resource, d)
	return query.NewError(query.CodeAccessDenied, msg)
}

// federationDenied records action (sts:AssumeRoleWithSAML, sts:AssumeRoleWithWebIdentity)
// as denied and returns AWS's answer to it, which names no caller: the federated
// identity is not a principal of the account until a role accepts it.
func (c *Call) federationDenied(action string) error {
	c.record(action, policy.ImplicitlyDenied)
	return query.NewError(query.CodeAccessDenied, "Not authorized to perform "+action)
}

func (c *Call) callerARN() string {
	if c.Caller == nil {
		return "anonymous"
	}
	return c.Caller.ARN
}

// denyReason is the end IAM gives its AccessDenied messages.
func denyReason(action string, d policy.Decision) string {
	layer := func(l policy.Layer) string {
		switch l {
		case policy.LayerBoundary:
			return "permissions boundary"
		case policy.LayerSession:
			return "session policy"
		case policy.LayerResource:
			return "resource-based policy"
		case policy.LayerSCP:
			return "service control policy"
		}
		return "identity-based policy"
	}
	switch d.Reason {
	case policy.ReasonExplicitDeny:
		l := policy.LayerIdentity
		if len(d.Statements) > 0 {
			l = d.Statements[0].Layer
		}
		article := "a"
		if l == policy.LayerIdentity {
			article = "an"
		}
		return fmt.Sprintf(" with an explicit deny in %s %s", article, layer(l))
	case policy.ReasonNoBoundaryAllow:
		return fmt.Sprintf(" because no %s allows the %s action", layer(policy.LayerBoundary), action)
	case policy.ReasonNoSessionAllow, policy.ReasonFederatedNoSessionPolicy:
		return fmt.Sprintf(" because no %s allows the %s action", layer(policy.LayerSession), action)
	case policy.ReasonNoResourceAllow:
		return fmt.Sprintf(" because no %s allows the %s action", layer(policy.LayerResource), action)
	case policy.ReasonNoSCPAllow:
		return fmt.Sprintf(" because no %s allows the %s action", layer(policy.LayerSCP), action)
	}
	return fmt.Sprintf(" because no %s allows the %s action", layer(policy.LayerIdentity), action)
}

// PoliciesFor returns the compiled identity policies and permissions boundary of a
// user or role of the account, as the core evaluates them (for IAM's policy
// simulator). A user's set includes its groups' policies.
func (c *Call) PoliciesFor(ctx context.Context, ref account.Ref) (policy.Set, error) {
	return c.core.PoliciesFor(ctx, ref)
}

// PoliciesFor returns the compiled identity policies and permissions boundary of a
// user, group or role, compiled as the core's authorizer compiles them.
func (c *Core) PoliciesFor(ctx context.Context, ref account.Ref) (policy.Set, error) {
	g := c.genCache()
	var ps store.PolicySet
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		ps, err = tx.PoliciesFor(ref)
		return err
	})
	if err != nil {
		return policy.Set{}, err
	}
	identity, boundary := c.compileSet(g, ps)
	return policy.Set{Identity: identity, Boundary: boundary}, nil
}
