package policy

import (
	"fmt"
	"strings"
)

// Layer is the kind of policy a deciding statement comes from.
type Layer uint8

// The layers of AWS's evaluation.
const (
	LayerIdentity Layer = iota + 1
	LayerBoundary
	LayerSession
	LayerResource
	LayerSCP
)

var layerNames = [...]string{"", "identity", "boundary", "session", "resource", "scp"}

// String names the layer: identity, boundary, session, resource or scp.
func (l Layer) String() string {
	if int(l) < len(layerNames) && l != 0 {
		return layerNames[l]
	}
	return fmt.Sprintf("Layer(%d)", l)
}

// Result is the outcome of a decision. The zero value is ImplicitlyDenied.
type Result uint8

// The three outcomes.
const (
	ImplicitlyDenied Result = iota
	Allowed
	ExplicitlyDenied
)

// String returns "Allowed", "ExplicitlyDenied" or "ImplicitlyDenied".
func (r Result) String() string {
	switch r {
	case Allowed:
		return "Allowed"
	case ExplicitlyDenied:
		return "ExplicitlyDenied"
	case ImplicitlyDenied:
		return "ImplicitlyDenied"
	}
	return fmt.Sprintf("Result(%d)", r)
}

// EvalDecision returns IAM's simulator words: "allowed", "explicitDeny" or
// "implicitDeny".
func (r Result) EvalDecision() string {
	switch r {
	case Allowed:
		return "allowed"
	case ExplicitlyDenied:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// Reason says which rule of AWS's evaluation logic made the decision.
type Reason uint8

// The reasons.
const (
	// ReasonNone is the zero value.
	ReasonNone Reason = iota
	// ReasonExplicitDeny: a Deny statement of some policy applies.
	ReasonExplicitDeny
	// ReasonAllowed: the identity side allows (identity policies, or a
	// same-account resource policy naming the role, within the boundary and
	// session policies) and, across accounts, the resource policy too.
	ReasonAllowed
	// ReasonResourcePolicy: a same-account resource-based policy names the
	// user or session directly (or the caller is not an IAM identity, such
	// as a service), which allows on its own.
	ReasonResourcePolicy
	// ReasonRoot: the account's root user acts in its own account.
	ReasonRoot
	// ReasonNoSCPAllow: some level of service control policies allows nothing here.
	ReasonNoSCPAllow
	// ReasonNoResourceAllow: the resource-based policy does not allow a
	// cross-account caller, a caller that is not an IAM identity, or (a
	// trust policy) anyone it does not name.
	ReasonNoResourceAllow
	// ReasonNoIdentityAllow: no identity-based policy allows it.
	ReasonNoIdentityAllow
	// ReasonNoBoundaryAllow: the permissions boundary does not allow it.
	ReasonNoBoundaryAllow
	// ReasonNoSessionAllow: the session policies do not allow it.
	ReasonNoSessionAllow
	// ReasonFederatedNoSessionPolicy: a federated user session without a
	// session policy has no permissions of its own.
	ReasonFederatedNoSessionPolicy
	// ReasonAWSOwned: the request changes an AWS managed policy or a
	// service-linked role, which AWS refuses to every customer (see AWSOwned).
	ReasonAWSOwned
)

var reasonText = [...]string{
	ReasonNone:                     "",
	ReasonExplicitDeny:             "explicitly denied by a policy statement",
	ReasonAllowed:                  "allowed by the principal's policies",
	ReasonResourcePolicy:           "allowed by a resource-based policy that names the principal",
	ReasonRoot:                     "allowed: the account's root user in its own account",
	ReasonNoSCPAllow:               "no service control policy allows it",
	ReasonNoResourceAllow:          "no resource-based policy allows it",
	ReasonNoIdentityAllow:          "no identity-based policy allows it",
	ReasonNoBoundaryAllow:          "the permissions boundary does not allow it",
	ReasonNoSessionAllow:           "the session policy does not allow it",
	ReasonFederatedNoSessionPolicy: "a federated user session without a session policy has no permissions",
	ReasonAWSOwned:                 "AWS managed policies and service-linked roles cannot be changed by customers",
}

// String explains the reason in a few words.
func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r]
	}
	return fmt.Sprintf("Reason(%d)", r)
}

// Match is one statement that took part in a decision.
type Match struct {
	Policy *Policy
	// Statement is the statement's index in Policy.Statements().
	Statement int
	Layer     Layer
	pm        principalMatch
}

// Sid returns the statement's Sid ("" when it has none).
func (m Match) Sid() string { return m.Policy.statements[m.Statement].Sid }

// Effect returns the statement's effect.
func (m Match) Effect() Effect { return m.Policy.compiled[m.Statement].effect }

// String names the statement: policy name, then Sid or index.
func (m Match) String() string {
	name := m.Policy.name
	if name == "" {
		name = m.Layer.String()
	}
	if sid := m.Sid(); sid != "" {
		return name + ":" + sid
	}
	return fmt.Sprintf("%s:#%d", name, m.Statement)
}

// Decision is the outcome of one request with the statements that made it:
// the Deny statements that apply for ExplicitlyDenied; the Allow statements of
// every layer that had to allow for Allowed; none for ImplicitlyDenied (Reason
// says which layer lacked an allow).
type Decision struct {
	Result     Result
	Reason     Reason
	Statements []Match
}

// Set is the policies that apply to one principal's requests. It holds
// compiled policies and costs nothing to build; many sets share the same
// *Policy values. Nil entries are skipped.
type Set struct {
	// Identity are the identity-based policies: the user's and its groups'
	// managed and inline policies, or the role's.
	Identity []*Policy
	// Boundary is the permissions boundary, if any.
	Boundary *Policy
	// Session are the session policies (inline and managed) of a session,
	// if any. A federated user session (GetFederationToken) with none has no
	// permissions of its own.
	Session []*Policy
	// Resource are the resource-based policies of the resource (a bucket
	// policy, a role's trust policy, …). A role's trust policy (parsed as
	// KindTrust) must allow even within the account, as AWS requires of trust
	// policies: identity-based policies alone never let anyone assume a role.
	// Statements without a Principal element (a policy of another kind) are
	// ignored here.
	Resource []*Policy
	// SCP are the service control policies, one entry per level of the
	// organization (root, each OU, the account): every level must allow.
	SCP [][]*Policy
}

// evalCtx is the per-decision state. It lives on the caller's stack; the
// scratch arrays serve policy variables and typed values formatted as text.
type evalCtx struct {
	r        *Request
	boundary bool   // the caller has a permissions boundary
	action   string // lower-cased
	svc      string
	name     string
	hasColon bool
	resource string
	vbuf     [64]byte
	tbuf     [128]byte
	toks     [160]uint16
	tmp      cvalue
}

// Evaluate decides r; it allocates the list of deciding statements. Use
// Decide on hot paths.
func (s *Set) Evaluate(r *Request) Decision {
	return s.Decide(r, nil)
}

// Decide decides r with AWS's evaluation logic: an explicit deny in any policy
// wins; then every level of SCPs must allow; then a same-account
// resource-based policy naming the user or session allows on its own;
// otherwise the identity-based policies (or a same-account resource policy
// naming the role) must allow, and so must the permissions boundary and the
// session policies when present, and, across accounts, the resource-based
// policy. A federated user session without a session policy is denied.
//
// The deciding statements are appended to buf (which may be nil); with a
// buffer of enough capacity, Decide allocates nothing.
func (s *Set) Decide(r *Request, buf []Match) Decision {
	var ec evalCtx
	var abuf [96]byte // the lower-cased action, when it has capitals
	ec.r, ec.boundary = r, s.Boundary != nil
	a := r.Action
	lower := true
	for i := 0; i < len(a); i++ {
		if c := a[i]; c >= 'A' && c <= 'Z' {
			lower = false
			break
		}
	}
	switch {
	case lower:
		ec.action = a
	case len(a) <= len(abuf):
		for i := 0; i < len(a); i++ {
			abuf[i] = lowerASCII(a[i])
		}
		ec.action = bytesView(abuf[:len(a)])
	default:
		ec.action = toLowerASCII(a)
	}
	for i := 0; i < len(ec.action); i++ {
		if ec.action[i] == ':' {
			ec.svc, ec.name, ec.hasColon = ec.action[:i], ec.action[i+1:], true
			break
		}
	}
	ec.resource = r.Resource.ARN
	if ec.resource == "" {
		ec.resource = "*"
	}

	base := len(buf)
	out := buf
	var deny bool

	scpOK := true
	for _, level := range s.SCP {
		var levelAllow bool
		out, levelAllow = ec.anyAllows(level, LayerSCP, out, &deny)
		scpOK = scpOK && levelAllow
	}
	var identityAllow, sessionAllow bool
	out, identityAllow = ec.anyAllows(s.Identity, LayerIdentity, out, &deny)
	boundaryAllow := true
	if s.Boundary != nil {
		out, boundaryAllow = ec.policy(s.Boundary, LayerBoundary, out, &deny)
	}
	out, sessionAllow = ec.anyAllows(s.Session, LayerSession, out, &deny)
	resource := pmNone
	for _, p := range s.Resource {
		if p != nil {
			out = ec.resourcePolicy(p, out, &deny, &resource)
		}
	}

	d := Decision{}
	keep := keepNone
	p := &r.Principal
	cross := r.Resource.Account != "" && r.Resource.Account != p.Account
	trust := false
	for _, rp := range s.Resource {
		trust = trust || rp != nil && rp.kind == KindTrust
	}
	required := requiredResourcePolicy(ec.svc, ec.name, ec.resource)
	trust = trust || required == requiredTrust
	needResource := cross || trust || required != requiredNone
	switch {
	case deny:
		d.Result, d.Reason, keep = ExplicitlyDenied, ReasonExplicitDeny, keepDeny
	case !scpOK:
		d.Reason = ReasonNoSCPAllow
	case !p.Type.iam():
		if resource != pmNone {
			d.Result, d.Reason, keep = Allowed, ReasonResourcePolicy, keepResourceAny
		} else {
			d.Reason = ReasonNoResourceAllow
		}
	case trust && !cross && resource == pmDirect && !boundaryAllow:
		// A trust policy naming the caller stands in for its identity
		// policies, not for its permissions boundary: "If a permissions
		// boundary is set for the user, then it must allow the
		// sts:AssumeRole action" (IAM, Update a role trust policy).
		d.Reason = ReasonNoBoundaryAllow
	case !cross && resource == pmDirect:
		d.Result, d.Reason, keep = Allowed, ReasonResourcePolicy, keepResourceDirect
	case needResource && resource == pmNone:
		d.Reason = ReasonNoResourceAllow
	case !(identityAllow || p.Type == PrincipalRoot || !cross && resource == pmRole):
		d.Reason = ReasonNoIdentityAllow
	case !boundaryAllow:
		d.Reason = ReasonNoBoundaryAllow
	case p.Type == PrincipalFederatedUser && len(s.Session) == 0:
		d.Reason = ReasonFederatedNoSessionPolicy
	case len(s.Session) > 0 && !sessionAllow:
		d.Reason = ReasonNoSessionAllow
	default:
		d.Result, d.Reason, keep = Allowed, ReasonAllowed, keepAllowSameAccount
		if cross {
			keep = keepAllowCrossAccount
		}
		if p.Type == PrincipalRoot && !identityAllow && resource != pmRole {
			d.Reason = ReasonRoot
		}
	}
	if d.Result == Allowed && ec.svc == "iam" {
		if awsOwned(ec.name, ec.resource) != ownedNone {
			d.Result, d.Reason, keep = ImplicitlyDenied, ReasonAWSOwned, keepNone
		}
	}
	d.Statements = compact(out, base, keep)
	return d
}

// The resource-based policies AWS requires whatever the identity policies say.
const (
	requiredNone = iota
	// requiredTrust: assuming a role (and tagging the session, setting its
	// source identity) needs the role's trust policy to allow, as a trust
	// policy does (KindTrust).
	requiredTrust
	// requiredKeyPolicy: using a KMS key needs its key policy to allow, or
	// to name the account and so delegate to the account's IAM policies
	// (AWS KMS, Key policies: "Unless the key policy explicitly allows it,
	// you cannot use IAM policies to allow access to a KMS key").
	requiredKeyPolicy
)

// RequiredPolicy names the resource-based policy AWS requires for a request
// whatever the identity policies say.
type RequiredPolicy uint8

// The required resource-based policies.
const (
	// RequiresNone: identity policies may allow on their own.
	RequiresNone RequiredPolicy = requiredNone
	// RequiresTrust: the role's trust policy must allow (sts:AssumeRole*,
	// sts:TagSession, sts:SetSourceIdentity on a role).
	RequiresTrust RequiredPolicy = requiredTrust
	// RequiresKeyPolicy: the KMS key's key policy must allow, or delegate
	// to the account.
	RequiresKeyPolicy RequiredPolicy = requiredKeyPolicy
)

// Required says which resource-based policy AWS requires for action (any
// case) on resource.
func Required(action, resource string) RequiredPolicy {
	svc, name, _ := strings.Cut(strings.ToLower(action), ":")
	return RequiredPolicy(requiredResourcePolicy(svc, name, resource))
}

// requiredResourcePolicy says which resource-based policy the lower-case
// action svc:name on resource needs.
func requiredResourcePolicy(svc, name, resource string) int {
	switch svc {
	case "sts":
		switch name {
		case "assumerole", "assumerolewithsaml", "assumerolewithwebidentity", "tagsession", "setsourceidentity":
			if strings.Contains(resource, ":role/") {
				return requiredTrust
			}
		}
	case "kms":
		if strings.Contains(resource, ":key/") {
			return requiredKeyPolicy
		}
	}
	return requiredNone
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lowerASCII(b[i])
	}
	return string(b)
}

type keepRule uint8

const (
	keepNone keepRule = iota
	keepDeny
	keepResourceAny
	keepResourceDirect
	keepAllowSameAccount
	keepAllowCrossAccount
)

// compact keeps, of the statements appended after base, those that decided.
func compact(out []Match, base int, keep keepRule) []Match {
	n := base
	for i := base; i < len(out); i++ {
		m := &out[i]
		deny := m.Policy.compiled[m.Statement].effect == Deny
		var k bool
		switch keep {
		case keepDeny:
			k = deny
		case keepResourceAny:
			k = !deny && m.Layer == LayerResource
		case keepResourceDirect:
			k = !deny && m.Layer == LayerResource && m.pm == pmDirect
		case keepAllowSameAccount:
			k = !deny && (m.Layer != LayerResource || m.pm == pmRole)
		case keepAllowCrossAccount:
			k = !deny
		}
		if k {
			out[n] = *m
			n++
		}
	}
	return out[:n]
}

// policy evaluates one policy's statements, appending those that apply, and
// reports whether an Allow applies. After a deny, Allow statements are skipped.
// anyAllows evaluates the policies ps (nil ones skipped) of one layer, and reports
// whether any of them allows.
func (ec *evalCtx) anyAllows(ps []*Policy, layer Layer, out []Match, deny *bool) ([]Match, bool) {
	allowed := false
	for _, p := range ps {
		if p == nil {
			continue
		}
		var allow bool
		out, allow = ec.policy(p, layer, out, deny)
		allowed = allowed || allow
	}
	return out, allowed
}

func (ec *evalCtx) policy(p *Policy, layer Layer, out []Match, deny *bool) ([]Match, bool) {
	allow := false
	for i := range p.compiled {
		cs := &p.compiled[i]
		if *deny && cs.effect == Allow {
			continue
		}
		ok, pm := ec.applies(cs)
		if !ok {
			continue
		}
		if cs.effect == Deny {
			*deny = true
		} else {
			allow = true
		}
		out = append(out, Match{Policy: p, Statement: i, Layer: layer, pm: pm})
	}
	return out, allow
}

// resourcePolicy is policy for a resource-based policy: it tracks how
// directly the allowing statements name the caller.
func (ec *evalCtx) resourcePolicy(p *Policy, out []Match, deny *bool, best *principalMatch) []Match {
	for i := range p.compiled {
		cs := &p.compiled[i]
		if *deny && cs.effect == Allow || cs.principal == nil {
			// A statement that names no principal (a policy of another kind
			// put here by mistake) grants and denies nothing: fail closed.
			continue
		}
		ok, pm := ec.applies(cs)
		if !ok {
			continue
		}
		if cs.effect == Deny {
			*deny = true
		} else if pm > *best {
			*best = pm
		}
		out = append(out, Match{Policy: p, Statement: i, Layer: LayerResource, pm: pm})
	}
	return out
}

// applies reports whether a statement applies to the request, and how it names
// the principal (pmDirect when it names none).
func (ec *evalCtx) applies(cs *cstatement) (bool, principalMatch) {
	if cs.actions.match(ec.action, ec.svc, ec.name, ec.hasColon) == cs.notAction {
		return false, pmNone
	}
	for i := range cs.vars {
		if !ec.r.resolvable(&cs.vars[i]) {
			return false, pmNone
		}
	}
	if cs.hasResource {
		matched := false
		for i := range cs.resources {
			if ec.matchResource(&cs.resources[i]) {
				matched = true
				break
			}
		}
		if matched == cs.notResource {
			return false, pmNone
		}
	}
	pm := pmDirect
	if cs.principal != nil {
		if cs.notPrincipal {
			// AWS documents NotPrincipal for Deny only; "using it with
			// Allow is not supported": such a statement grants nothing. A
			// Deny with NotPrincipal "will always deny any IAM principal
			// that has a permissions boundary policy attached".
			if cs.effect == Allow {
				return false, pmNone
			}
			if !(ec.boundary && ec.r.Principal.Type.iam()) && !cs.principal.notMatch(&ec.r.Principal) {
				return false, pmNone
			}
		} else if pm = cs.principal.match(&ec.r.Principal); pm == pmNone {
			return false, pmNone
		}
	}
	for i := range cs.conds {
		if !ec.condition(&cs.conds[i]) {
			return false, pmNone
		}
	}
	return true, pm
}

func (ec *evalCtx) matchResource(cr *cresource) bool {
	if cr.tmpl == nil {
		return matchPattern(&cr.pat, ec.resource)
	}
	if cr.tmpl.plain != pNone {
		return ec.r.matchText(cr.tmpl, ec.resource, ec.tbuf[:0])
	}
	toks, _, ok := ec.r.expandTokens(cr.tmpl, modeARN, ec.toks[:0], ec.tbuf[:0])
	return ok && matchTokens(toks, ec.resource, cr.tmpl.seg)
}
