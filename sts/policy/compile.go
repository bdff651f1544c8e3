package policy

import (
	"strings"
)

// cstatement is a statement compiled into matchers.
type cstatement struct {
	effect       Effect
	notAction    bool
	actions      actionSet
	hasResource  bool // false: no Resource element (a resource-based policy's own resource)
	notResource  bool
	resources    []cresource
	principal    *cprincipals // nil: the statement names no principal
	notPrincipal bool
	conds        []ccondition
	vars         []varRef // every variable of the statement; all must resolve
}

type cresource struct {
	pat  pattern
	tmpl *template
}

// actionSet matches a lower-cased action against a statement's patterns,
// grouped by service so that a statement listing hundreds of actions costs
// one lookup.
type actionSet struct {
	all    bool
	groups []serviceActions
	index  map[string]int32 // service → groups index, when there are many
	globs  []pattern        // patterns with a wildcard in the service part
}

type serviceActions struct {
	service  string
	all      bool
	exact    []string
	exactSet map[string]struct{}
	prefixes []string
	globs    []pattern // on the part after the colon
}

const (
	groupIndexMin = 8  // services before a statement gets a map
	exactSetMin   = 12 // exact names before a service gets a map
)

func compileActions(list []string) actionSet {
	var as actionSet
	for _, a := range list {
		lower := toLowerASCII(a) // actions are ASCII; the request's is lowered alike
		svc, name, found := strings.Cut(lower, ":")
		if lower == "*" {
			as.all = true
			continue
		}
		if !found || hasWildcard(svc) {
			as.globs = append(as.globs, compilePattern(lower, modeAction))
			continue
		}
		g := as.group(svc)
		p := compilePattern(name, modeAction)
		switch p.kind {
		case pAll:
			g.all = true
		case pExact:
			g.exact = append(g.exact, name)
		case pPrefix:
			g.prefixes = append(g.prefixes, p.lit)
		default:
			g.globs = append(g.globs, p)
		}
	}
	for i := range as.groups {
		g := &as.groups[i]
		if len(g.exact) >= exactSetMin {
			g.exactSet = make(map[string]struct{}, len(g.exact))
			for _, e := range g.exact {
				g.exactSet[e] = struct{}{}
			}
			g.exact = nil
		}
	}
	if len(as.groups) >= groupIndexMin {
		as.index = make(map[string]int32, len(as.groups))
		for i, g := range as.groups {
			as.index[g.service] = int32(i)
		}
	}
	return as
}

func (as *actionSet) group(svc string) *serviceActions {
	for i := range as.groups {
		if as.groups[i].service == svc {
			return &as.groups[i]
		}
	}
	as.groups = append(as.groups, serviceActions{service: svc})
	return &as.groups[len(as.groups)-1]
}

// match reports whether the lower-cased action (split at its first colon into
// svc and name; hasColon false when it has none) matches any pattern.
func (as *actionSet) match(action, svc, name string, hasColon bool) bool {
	if as.all {
		return true
	}
	if hasColon {
		var g *serviceActions
		if as.index != nil {
			if i, ok := as.index[svc]; ok {
				g = &as.groups[i]
			}
		} else {
			for i := range as.groups {
				if as.groups[i].service == svc {
					g = &as.groups[i]
					break
				}
			}
		}
		if g != nil && g.match(name) {
			return true
		}
	}
	for i := range as.globs {
		if matchPattern(&as.globs[i], action) {
			return true
		}
	}
	return false
}

func (g *serviceActions) match(name string) bool {
	if g.all {
		return true
	}
	if g.exactSet != nil {
		if _, ok := g.exactSet[name]; ok {
			return true
		}
	}
	for _, e := range g.exact {
		if e == name {
			return true
		}
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for i := range g.globs {
		if matchPattern(&g.globs[i], name) {
			return true
		}
	}
	return false
}

// cprincipals is a compiled Principal or NotPrincipal element.
type cprincipals struct {
	anyone    bool
	accounts  []string // account ids (from "123456789012" or …:root)
	arns      []string // user, role, assumed-role and federated-user ARNs
	ids       []string // unique ids (AIDA…, AROA…)
	services  []string
	federated []string
	canonical []string
}

func compilePrincipals(p *Principals) *cprincipals {
	cp := &cprincipals{anyone: p.All}
	for _, a := range p.AWS {
		switch {
		case a == "*":
			cp.anyone = true
		case isAccountID(a):
			cp.accounts = append(cp.accounts, a)
		case strings.HasPrefix(a, "arn:"):
			parts := strings.SplitN(a, ":", 6)
			if len(parts) == 6 && parts[2] == "iam" && parts[5] == "root" {
				cp.accounts = append(cp.accounts, parts[4])
			} else {
				cp.arns = append(cp.arns, a)
			}
		default:
			cp.ids = append(cp.ids, a)
		}
	}
	cp.services = p.Service
	cp.federated = p.Federated
	cp.canonical = p.CanonicalUser
	return cp
}

// principalMatch is how directly a Principal element names the caller. A
// same-account resource-based policy that names the caller directly allows on
// its own; one that names the role of a session stands in for the identity
// policy (boundary and session policies still apply); one that names the
// account delegates to the account's own policies.
type principalMatch uint8

const (
	pmNone principalMatch = iota
	pmAccount
	pmRole
	pmDirect
)

func contains(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// roleID is the unique id of a role session's role: AROA… before the colon.
func roleID(userID string) string {
	id, _, _ := strings.Cut(userID, ":")
	return id
}

// byARN returns the element's list for the principal types named by their ARN (or
// name) alone: services, federated providers, canonical users.
func (cp *cprincipals) byARN(t PrincipalType) []string {
	switch t {
	case PrincipalService:
		return cp.services
	case PrincipalFederated:
		return cp.federated
	case PrincipalCanonicalUser:
		return cp.canonical
	}
	return nil
}

// match returns how the Principal element names p.
func (cp *cprincipals) match(p *Principal) principalMatch {
	if cp.anyone {
		return pmDirect
	}
	switch p.Type {
	case PrincipalService, PrincipalFederated, PrincipalCanonicalUser:
		if contains(cp.byARN(p.Type), p.ARN) {
			return pmDirect
		}
	case PrincipalRoot:
		if contains(cp.accounts, p.Account) || contains(cp.arns, p.ARN) {
			return pmDirect
		}
	case PrincipalUser, PrincipalFederatedUser:
		if contains(cp.arns, p.ARN) || p.Type == PrincipalUser && contains(cp.ids, p.UserID) {
			return pmDirect
		}
		if contains(cp.accounts, p.Account) {
			return pmAccount
		}
	case PrincipalAssumedRole:
		if contains(cp.arns, p.ARN) {
			return pmDirect
		}
		if contains(cp.arns, p.RoleARN) || contains(cp.ids, roleID(p.UserID)) {
			return pmRole
		}
		if contains(cp.accounts, p.Account) {
			return pmAccount
		}
	}
	return pmNone
}

// notMatch reports whether a NotPrincipal element applies to p: it does
// unless every identity of the caller is listed (for a role session its
// session ARN, its role and its account; for a user the user and the account),
// as AWS documents for NotPrincipal.
func (cp *cprincipals) notMatch(p *Principal) bool {
	if cp.anyone {
		return false
	}
	switch p.Type {
	case PrincipalService, PrincipalFederated, PrincipalCanonicalUser:
		return !contains(cp.byARN(p.Type), p.ARN)
	case PrincipalRoot:
		return !contains(cp.accounts, p.Account)
	case PrincipalUser:
		return !(contains(cp.arns, p.ARN) || contains(cp.ids, p.UserID)) || !contains(cp.accounts, p.Account)
	case PrincipalFederatedUser:
		return !contains(cp.arns, p.ARN) || !contains(cp.accounts, p.Account)
	case PrincipalAssumedRole:
		return !contains(cp.arns, p.ARN) ||
			!(contains(cp.arns, p.RoleARN) || contains(cp.ids, roleID(p.UserID))) ||
			!contains(cp.accounts, p.Account)
	}
	return true // anonymous: only "*" names it
}

func compileStatement(p *Policy, i int) cstatement {
	s := &p.statements[i]
	vars := p.version == Version2012
	cs := cstatement{effect: s.Effect}
	if s.NotAction != nil {
		cs.notAction = true
		cs.actions = compileActions(s.NotAction)
	} else {
		cs.actions = compileActions(s.Action)
	}
	res := s.Resource
	if s.NotResource != nil {
		cs.notResource, res = true, s.NotResource
	}
	cs.hasResource = res != nil
	for _, r := range res {
		var cr cresource
		if vars {
			cr.tmpl = parseTemplate(r, modeARN)
		}
		if cr.tmpl == nil {
			cr.pat = compilePattern(r, modeARN)
		} else {
			cs.addVars(cr.tmpl)
		}
		cs.resources = append(cs.resources, cr)
	}
	if s.Principal != nil {
		cs.principal = compilePrincipals(s.Principal)
	} else if s.NotPrincipal != nil {
		cs.principal, cs.notPrincipal = compilePrincipals(s.NotPrincipal), true
	}
	for k := range s.Condition {
		cc := compileCondition(&s.Condition[k], vars)
		for _, v := range cc.vals {
			if v.tmpl != nil {
				cs.addVars(v.tmpl)
			}
		}
		cs.conds = append(cs.conds, cc)
	}
	return cs
}

func (cs *cstatement) addVars(t *template) {
outer:
	for _, v := range t.vars {
		for _, have := range cs.vars {
			if have.key.name == v.key.name && have.hasDef == v.hasDef {
				continue outer
			}
		}
		cs.vars = append(cs.vars, v)
	}
}
