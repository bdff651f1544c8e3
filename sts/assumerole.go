package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// chainedMax is the longest session a role session may get by assuming a role.
const chainedMax = time.Hour

// assumeRoleResult is the result of AssumeRole, AssumeRoleWithWebIdentity and
// AssumeRoleWithSAML.
type assumeRoleResult struct {
	creds          credentials
	user           sessionUser // AssumedRoleUser
	sourceIdentity string
	web            *webIdentityResult
	saml           *samlIdentityResult
}

type webIdentityResult struct{ subject, provider, audience string }

// samlIdentityResult is what AssumeRoleWithSAML adds to the result.
type samlIdentityResult struct{ subject, subjectType, issuer, audience, nameQualifier string }

// MarshalQueryXML writes the result's elements.
func (r *assumeRoleResult) MarshalQueryXML(w *query.XMLWriter) {
	r.creds.marshal(w)
	if r.web != nil {
		w.String("SubjectFromWebIdentityToken", r.web.subject)
	}
	r.user.marshal(w, "AssumedRoleUser", "AssumedRoleId")
	if r.web != nil {
		w.String("Provider", r.web.provider)
		w.String("Audience", r.web.audience)
	}
	if s := r.saml; s != nil {
		w.String("Subject", s.subject)
		w.String("SubjectType", s.subjectType)
		w.String("Issuer", s.issuer)
		w.String("Audience", s.audience)
		w.String("NameQualifier", s.nameQualifier)
	}
	w.OptString("SourceIdentity", r.sourceIdentity)
}

// targetRole returns the role roleARN names in the core's account, nil when there is
// none (which AssumeRole answers with AccessDenied, as AWS: it does not tell which
// roles exist).
func (c *Core) targetRole(ctx context.Context, g *genCache, roleARN string) (*roleEntry, error) {
	if e, ok := g.roles.get(roleARN); ok {
		return e, nil
	}
	a, err := account.ParseARN(roleARN)
	if err != nil || a.Service != "iam" || a.Account != c.st.AccountID() || !strings.HasPrefix(a.Resource, "role/") {
		return nil, nil
	}
	var e *roleEntry
	gen, err := c.viewAt(ctx, func(tx *store.Tx) error {
		r, err := tx.RoleByARN(roleARN)
		if err != nil {
			return err
		}
		e = &roleEntry{role: r}
		return nil
	})
	if errors.Is(err, account.ErrNoSuchEntity) || errors.Is(err, account.ErrInvalidInput) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading role %s: %w", roleARN, err)
	}
	trust, perr := policy.Parse([]byte(e.role.AssumeRolePolicy), policy.KindTrust, func(o *policy.ParseOptions) {
		o.Name, o.ARN, o.Legacy = "trust policy of "+e.role.Name, e.role.ARN, true
	})
	if perr != nil {
		c.log.Warn("trust policy does not parse; nobody may assume the role", "role_arn", e.role.ARN, "error", perr)
	}
	e.trust = trust
	if gen == g.gen {
		g.roles.put(roleARN, e)
	}
	return e, nil
}

// roleMaxSession is the role's MaxSessionDuration (its default when unset).
func roleMaxSession(r *account.Role) time.Duration {
	if r.MaxSessionDuration <= 0 {
		return account.DefaultSessionDuration
	}
	return r.MaxSessionDuration
}

// assumeRole is STS AssumeRole: the role's trust policy must allow sts:AssumeRole
// (and sts:TagSession when tags pass, sts:SetSourceIdentity when a source identity
// is set), and so must the caller's own policies unless the trust policy names the
// caller itself in the role's account.
func (c *Core) assumeRole(ctx context.Context, call *Call) (any, error) {
	p, cl := call.Params, call.Caller
	roleARN, name := p.String("RoleArn"), p.String("RoleSessionName")
	switch {
	case cl.IsRoot():
		call.record("sts:AssumeRole", policy.ImplicitlyDenied)
		return nil, query.NewError(query.CodeAccessDenied, "Roles may not be assumed by root accounts.")
	case cl.SessionKind() == session.KindFederatedUser:
		call.record("sts:AssumeRole", policy.ImplicitlyDenied)
		return nil, call.denied("sts:AssumeRole", roleARN, policy.Decision{Reason: policy.ReasonNoIdentityAllow})
	}
	g := c.genCache()
	target, err := c.targetRole(ctx, g, roleARN)
	if err != nil {
		return nil, err
	}
	if target == nil || target.trust == nil {
		call.record("sts:AssumeRole", policy.ImplicitlyDenied)
		return nil, call.denied("sts:AssumeRole", roleARN, policy.Decision{Reason: policy.ReasonNoResourceAllow})
	}
	role := &target.role

	// MFA: a code passed now, or the MFA of the calling session.
	var mfaTime time.Time
	if serial, code := p.String("SerialNumber"), p.String("TokenCode"); serial != "" || code != "" {
		if mfaTime, err = c.checkMFA(ctx, call, serial, code); err != nil {
			return nil, err
		}
	} else if cl.Session != nil {
		mfaTime = cl.Session.MFAAuthTime
	}

	var in sessionInput
	if err := readSessionTags(p, cl.Session, &in, true); err != nil {
		return nil, err
	}
	sourceIdentity, err := readSourceIdentity(p, cl.Session)
	if err != nil {
		return nil, err
	}

	extra := []policy.ContextKey{{Name: "sts:RoleSessionName", Values: []string{name}}}
	if v, ok := p.Lookup("ExternalId"); ok {
		extra = append(extra, policy.ContextKey{Name: "sts:ExternalId", Values: []string{v}})
	}
	if len(in.transitive) > 0 {
		extra = append(extra, policy.ContextKey{Name: "sts:TransitiveTagKeys", Values: in.transitive})
	}
	if sourceIdentity != "" {
		extra = append(extra, policy.ContextKey{Name: "sts:SourceIdentity", Values: []string{sourceIdentity}})
	}
	opts := []AuthzOption{
		WithContextKeys(extra...),
		withMFA(mfaTime, cl.Session != nil),
	}
	if len(in.tags) > 0 {
		opts = append(opts, WithRequestTags(policyTags(in.tags)))
	}
	actions := []string{"sts:AssumeRole"}
	if len(in.tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	for _, action := range actions {
		// One decision with the trust policy as the role's resource policy: in
		// the role's account a trust policy that names the caller allows on
		// its own (its boundary still applies), one that trusts the account
		// needs the caller's identity policy; across accounts both must
		// allow (AWS, AssumeRole: "To allow a user to assume a role in the
		// same account, you can do either of the following").
		d, _ := call.Decide(action, role.ARN, append(opts, WithResourcePolicies(target.trust))...)
		if d.Result != policy.Allowed {
			return nil, call.denied(action, roleARN, d)
		}
	}

	chained := cl.SessionKind() == session.KindAssumedRole
	dur := readDuration(p, time.Hour)
	switch {
	case chained && dur > chainedMax:
		return nil, query.NewError(query.CodeValidationError, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case dur > roleMaxSession(role):
		return nil, query.NewError(query.CodeValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if err := c.readSessionPolicies(ctx, p, &in); err != nil {
		return nil, err
	}

	return c.issueRoleSession(call, roleSession{role: role, name: name, issued: call.Now.UTC().Truncate(time.Second), dur: dur, in: &in,
		sourceIdentity: sourceIdentity, callerARN: cl.ARN, mfaTime: mfaTime, chained: chained})
}

// withMFA sets aws:MultiFactorAuthPresent (and the MFA time) for a trust decision:
// present with the time of a code checked now or of the calling session's MFA, false
// for temporary credentials without MFA, absent for long-term keys without a code.
func withMFA(at time.Time, temporary bool) AuthzOption {
	return func(r *policy.Request, _ *policy.Set) {
		switch {
		case !at.IsZero():
			r.Context.MultiFactorAuthPresent = policy.BoolTrue
			r.Context.MultiFactorAuthTime = at
		case temporary:
			r.Context.MultiFactorAuthPresent = policy.BoolFalse
		default:
			r.Context.MultiFactorAuthPresent = policy.BoolUnset
		}
	}
}

// readSourceIdentity returns the session's source identity: the one passed, or the
// calling session's, which cannot be changed once set.
func readSourceIdentity(p query.Params, caller *session.Claims) (string, error) {
	si, ok := p.Lookup("SourceIdentity")
	inherited := ""
	if caller != nil {
		inherited = caller.SourceIdentity
	}
	if !ok {
		return inherited, nil
	}
	if len(si) >= 4 && strings.EqualFold(si[:4], "aws:") {
		return "", query.NewError(query.CodeValidationError, "The source identity can't start with aws:, which is reserved for AWS use.")
	}
	if inherited != "" && si != inherited {
		return "", query.NewError(query.CodeValidationError, "The source identity of a session cannot be changed once set: it must be "+inherited+".")
	}
	return si, nil
}
