package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
)

// Route is an API of another protocol than the Query APIs (Roles Anywhere's
// REST-JSON) that the core serves on its endpoint. Match picks its requests, before
// any Query parsing; Handler serves them and renders its own errors.
type Route struct {
	// Service is the API's SigV4 signing name ("rolesanywhere"): Authenticate accepts
	// signatures scoped to it.
	Service string
	// Match reports whether r belongs to the API. It must be cheap: it runs for every
	// request the core gets.
	Match func(r *http.Request) bool
	// Handler serves the requests Match picked.
	Handler http.Handler
}

type route struct {
	Route
	verifier *signer.Verifier
}

// AddRoute serves rt on the core's endpoint, in front of the Query APIs. A route of
// the same Service replaces the earlier one.
func (c *Core) AddRoute(rt Route) error {
	if rt.Service == "" || rt.Match == nil || rt.Handler == nil {
		return errors.New("add route: a route needs a service, a matcher and a handler")
	}
	v := signer.New(signer.KeyLookupFunc(c.lookupKey), func(so *signer.Options) {
		so.Now = c.o.Now
		so.Services = []string{rt.Service}
		so.Regions = c.o.Regions
	})
	c.regMu.Lock()
	defer c.regMu.Unlock()
	next := []*route{}
	if cur := c.routes.Load(); cur != nil {
		next = slices.DeleteFunc(slices.Clone(*cur), func(r *route) bool { return r.Service == rt.Service })
	}
	next = append(next, &route{Route: rt, verifier: v})
	c.routes.Store(&next)
	return nil
}

// routeFor returns the route that takes r, nil when r is for a Query API.
func (c *Core) routeFor(r *http.Request) *route {
	rs := c.routes.Load()
	if rs == nil {
		return nil
	}
	for _, rt := range *rs {
		if rt.Match(r) {
			return rt
		}
	}
	return nil
}

// Authenticate verifies the SigV4 signature of a request of a route's API (body is
// the request body, already read) and returns the Call its handler authorizes with:
// action names the IAM action's name without prefix ("CreateTrustAnchor"). Errors are
// *signer.Error (bad signatures) or *query.Error (unknown or revoked keys).
func (c *Core) Authenticate(r *http.Request, body []byte, service, action string) (*Call, error) {
	var v *signer.Verifier
	if rs := c.routes.Load(); rs != nil {
		for _, rt := range *rs {
			if rt.Service == service {
				v = rt.verifier
			}
		}
	}
	if v == nil {
		return nil, fmt.Errorf("authenticate: no route for service %q", service)
	}
	now := c.now()
	var stash authStash
	ctx := context.WithValue(r.Context(), stashKey{}, &stash)
	res, err := v.Verify(ctx, r, body)
	if err != nil {
		return nil, err
	}
	caller, err := c.authenticate(r.Context(), &stash, res, now)
	if err != nil {
		return nil, err
	}
	call := &Call{Action: action, Service: service, Caller: caller, RequestID: c.requestID(),
		SourceIP: peerIP(r), SecureTransport: r.TLS != nil, Region: caller.Region, Now: now, core: c,
		svc: &Service{}}
	if caller.revoked {
		return nil, call.denied(service+":"+action, "*", policy.Decision{Result: policy.ExplicitlyDenied, Reason: policy.ReasonExplicitDeny})
	}
	return call, nil
}

func peerIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// ServiceSession asks for a role session on behalf of an AWS service principal that
// has authenticated an outside identity itself (Roles Anywhere's CreateSession): the
// role's trust policy decides with that service as the principal.
type ServiceSession struct {
	// Service is the service principal ("rolesanywhere.amazonaws.com").
	Service string
	// RoleARN is the role to assume; SessionName the role session's name.
	RoleARN, SessionName string
	// SourceIdentity is set on the session (sts:SourceIdentity in the decision).
	SourceIdentity string
	// Tags are the session's tags, also the aws:PrincipalTag/* and aws:RequestTag/*
	// keys of the trust decision.
	Tags []session.Tag
	// Keys are more condition keys of the trust decision (aws:SourceArn, …).
	Keys []policy.ContextKey
	// Duration is the session's length.
	Duration time.Duration
	// Policy is an inline session policy (compact JSON), PolicyARNs managed ones.
	Policy     string
	PolicyARNs []string
	// SourceIP and SecureTransport describe the request, for the trust decision.
	SourceIP        netip.Addr
	SecureTransport bool
}

// RoleSession is a minted role session.
type RoleSession struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
	// AssumedRoleID is ROLEID:SESSIONNAME; ARN the assumed-role ARN.
	AssumedRoleID, ARN string
}

// ErrServiceDenied is returned by AssumeRoleForService when the role does not exist or
// its trust policy does not allow the service all it needs; ErrSessionTooLong when the
// duration passes the role's MaxSessionDuration.
var (
	ErrServiceDenied  = errors.New("the role's trust policy does not allow the service")
	ErrSessionTooLong = errors.New("the session duration exceeds the role's MaxSessionDuration")
)

// AssumeRoleForService mints a session of in.RoleARN when its trust policy allows the
// service principal sts:AssumeRole, and sts:TagSession and sts:SetSourceIdentity when
// tags or a source identity are set (as AWS asks of Roles Anywhere's roles).
func (c *Core) AssumeRoleForService(ctx context.Context, in ServiceSession) (RoleSession, error) {
	g := c.genCache()
	target, err := c.targetRole(ctx, g, in.RoleARN)
	if err != nil {
		return RoleSession{}, err
	}
	if target == nil || target.trust == nil {
		return RoleSession{}, ErrServiceDenied
	}
	role := &target.role
	now := c.now()
	keys := slices.Clone(in.Keys)
	keys = append(keys, policy.ContextKey{Name: "sts:RoleSessionName", Values: []string{in.SessionName}})
	if in.SourceIdentity != "" {
		keys = append(keys, policy.ContextKey{Name: "sts:SourceIdentity", Values: []string{in.SourceIdentity}})
	}
	tags := sessionTags(in.Tags)
	principal := policy.Principal{Type: policy.PrincipalService, ARN: in.Service, Tags: tags}
	actions := []string{"sts:AssumeRole"}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if in.SourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	set := policy.Set{Resource: []*policy.Policy{target.trust}}
	for _, action := range actions {
		req := policy.Request{Principal: principal, Action: action, Resource: policy.Resource{ARN: role.ARN},
			Context: policy.Context{CurrentTime: now, SourceIP: in.SourceIP, SecureTransport: policy.BoolOf(in.SecureTransport),
				RequestTags: tags, SourceIdentity: in.SourceIdentity, Keys: keys}}
		var buf [4]policy.Match
		if d := set.Decide(&req, buf[:0]); d.Result != policy.Allowed {
			return RoleSession{}, fmt.Errorf("%w: %s on %s", ErrServiceDenied, action, role.ARN)
		}
	}
	if in.Duration > roleMaxSession(role) {
		return RoleSession{}, ErrSessionTooLong
	}
	at := now.UTC().Truncate(time.Second)
	claims := &session.Claims{
		Kind: session.KindAssumedRole, AccountID: c.st.AccountID(),
		PrincipalARN: account.AssumedRoleARN(c.st.AccountID(), role.Name, in.SessionName), IdentityARN: role.ARN,
		UniqueID: role.ID + ":" + in.SessionName, IssuedAt: at, Expiry: at.Add(in.Duration),
		SessionPolicy: in.Policy, PolicyARNs: in.PolicyARNs, Tags: in.Tags,
		SourceIdentity: in.SourceIdentity, CallerARN: in.Service,
	}
	creds, err := c.mint(claims)
	if err != nil {
		return RoleSession{}, err
	}
	c.st.RecordRoleUse(role.ID, "", at)
	return RoleSession{AccessKeyID: creds.akid, SecretAccessKey: creds.secret, SessionToken: creds.token,
		Expiration: creds.expiry, AssumedRoleID: claims.UniqueID, ARN: claims.PrincipalARN}, nil
}

// Now returns the core's clock's time.
func (c *Core) Now() time.Time { return c.now() }

// Store returns the account's store.
func (c *Core) Store() Store { return c.st }
