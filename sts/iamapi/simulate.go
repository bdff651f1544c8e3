package iamapi

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// sourcePolicy is where a simulated policy comes from, as EvaluationResult's
// MatchedStatements name it.
type sourcePolicy struct {
	id  string // SourcePolicyId: the policy's name, or PolicyInputList.N
	typ string // SourcePolicyType: user, group, role, aws-managed, user-managed, resource, none
}

// simulation is the policy set and request context of one SimulatePrincipalPolicy or
// SimulateCustomPolicy call.
type simulation struct {
	set       policy.Set
	sources   map[*policy.Policy]sourcePolicy
	principal policy.Principal
	context   []policy.ContextKey
	owner     string // ResourceOwner's account; "" the principal's
	// trusts are the trust policies of the roles among ResourceArns, by ARN,
	// when no ResourcePolicy is given: AWS requires them for sts:AssumeRole*.
	trusts map[string]*policy.Policy
}

// roleTrusts loads the trust policies of the roles of this account that
// ResourceArns names, unless the caller gives a ResourcePolicy: assuming a
// role needs its trust policy to allow, whatever the identity policies say.
func (s *simulation) roleTrusts(ctx context.Context, c *sts.Call) error {
	if _, given := c.Params.Lookup("ResourcePolicy"); given {
		return nil
	}
	var arns []string
	for _, r := range c.Params.Strings("ResourceArns") {
		if a, err := account.ParseARN(r); err == nil && a.Service == "iam" && a.Account == c.AccountID() && strings.HasPrefix(a.Resource, "role/") {
			arns = append(arns, r)
		}
	}
	if len(arns) == 0 {
		return nil
	}
	s.trusts = map[string]*policy.Policy{}
	return view(ctx, c, func(tx *store.Tx) error {
		for _, arn := range arns {
			r, err := tx.RoleByARN(arn)
			if errors.Is(err, account.ErrNoSuchEntity) {
				continue // no role: no trust policy allows
			}
			if err != nil {
				return err
			}
			p, err := policy.Parse([]byte(r.AssumeRolePolicy), policy.KindTrust, func(o *policy.ParseOptions) {
				o.Name, o.ARN, o.Legacy = "trust policy of "+r.Name, r.ARN, true
			})
			if err != nil {
				continue // a trust policy that does not parse allows nothing
			}
			s.trusts[arn] = p
			s.add(p, sourcePolicy{id: "RoleTrustPolicy", typ: "resource"})
		}
		return nil
	})
}

func (s *simulation) add(p *policy.Policy, src sourcePolicy) {
	if s.sources == nil {
		s.sources = map[*policy.Policy]sourcePolicy{}
	}
	s.sources[p] = src
}

// inputList parses the documents of a PolicyInputList-like parameter as kind.
func (s *simulation) inputList(c *sts.Call, param string, kind policy.Kind) ([]*policy.Policy, error) {
	var out []*policy.Policy
	for i, doc := range c.Params.Strings(param) {
		id := param + "." + strconv.Itoa(i+1)
		p, err := policy.Parse([]byte(doc), kind, func(o *policy.ParseOptions) { o.Name = id })
		if err != nil {
			return nil, err
		}
		s.add(p, sourcePolicy{id: id, typ: "none"})
		out = append(out, p)
	}
	return out, nil
}

// common reads what both simulations share: boundary input, resource policy and
// owner, caller and context entries.
func (s *simulation) common(c *sts.Call) error {
	bs, err := s.inputList(c, "PermissionsBoundaryPolicyInputList", policy.KindBoundary)
	if err != nil {
		return err
	}
	if len(bs) > 1 {
		return account.Errorf(account.InvalidInput, "Only one permissions boundary policy may be simulated.")
	}
	if len(bs) == 1 {
		s.set.Boundary = bs[0]
	}
	if doc, given := c.Params.Lookup("ResourcePolicy"); given {
		p, err := policy.Parse([]byte(doc), policy.KindResource, func(o *policy.ParseOptions) { o.Name = "ResourcePolicy" })
		if err != nil {
			return err
		}
		s.set.Resource = append(s.set.Resource, p)
		s.add(p, sourcePolicy{id: "ResourcePolicy", typ: "resource"})
	}
	if owner := c.Params.String("ResourceOwner"); owner != "" {
		if a, err := account.ParseARN(owner); err == nil {
			s.owner = a.Account
		} else {
			s.owner = owner
		}
	}
	if caller := c.Params.String("CallerArn"); caller != "" {
		a, err := account.ParseARN(caller)
		if err != nil {
			return err
		}
		typ, _, name := a.SplitResource()
		if a.Service != "iam" || typ != account.ResourceUser || name == "" {
			return account.Errorf(account.InvalidInput, "CallerArn %s must be the ARN of an IAM user.", caller)
		}
		s.principal = policy.Principal{Type: policy.PrincipalUser, ARN: caller, Account: a.Account, Username: name}
	}
	keys, err := contextEntries(c.Params.List("ContextEntries"))
	if err != nil {
		return err
	}
	s.context = keys
	return nil
}

// maxContextEntries bounds the condition keys of one simulation.
const maxContextEntries = 100

// contextEntries reads ContextEntries (ContextKeyName, ContextKeyValues,
// ContextKeyType) into the request's condition keys, checking each value against its
// type.
func contextEntries(entries []query.Params) ([]policy.ContextKey, error) {
	if len(entries) > maxContextEntries {
		return nil, account.Errorf(account.InvalidInput, "At most %d context entries may be given.", maxContextEntries)
	}
	out := make([]policy.ContextKey, 0, len(entries))
	for i, e := range entries {
		name, typ := e.String("ContextKeyName"), e.String("ContextKeyType")
		values := e.Strings("ContextKeyValues")
		if name == "" {
			return nil, account.Errorf(account.InvalidInput, "Context entry %d has no ContextKeyName.", i+1)
		}
		ctype, known := policy.ParseContextKeyType(typ)
		if !known {
			return nil, account.Errorf(account.InvalidInput, "Context key %s has an unknown ContextKeyType %q.", name, typ)
		}
		if !ctype.List && len(values) > 1 {
			return nil, account.Errorf(account.InvalidInput, "Context key %s of type %s takes one value, not %d.", name, typ, len(values))
		}
		for _, v := range values {
			if err := ctype.Check(v); err != nil {
				return nil, account.Errorf(account.InvalidInput, "Context key %s: %q is not a valid %s value.", name, shorten(v), ctype.Base)
			}
		}
		out = append(out, policy.ContextKey{Name: name, Values: values})
	}
	return out, nil
}

func shorten(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// principalSet compiles the identity policies and boundary of the user, group or
// role arn (a user's with its groups'), each named as the simulator names them.
func (s *simulation) principalSet(ctx context.Context, c *sts.Call, arn string) error {
	a, err := account.ParseARN(arn)
	if err != nil {
		return err
	}
	typ, _, name := a.SplitResource()
	var ref account.Ref
	switch {
	case a.Service != "iam" || a.Account != c.AccountID() || name == "":
		return account.Errorf(account.InvalidInput, "Invalid Entity Arn: %s does not clearly define entity type and name.", arn)
	case typ == account.ResourceUser:
		ref = account.UserRef(name)
	case typ == account.ResourceGroup:
		ref = account.GroupRef(name)
	case typ == account.ResourceRole:
		ref = account.RoleRef(name)
	default:
		return account.Errorf(account.InvalidInput, "Invalid Entity Arn: %s does not clearly define entity type and name.", arn)
	}
	var ps store.PolicySet
	var owners map[string]account.Kind
	err = view(ctx, c, func(tx *store.Tx) error {
		owners = map[string]account.Kind{}
		switch ref.Kind {
		case account.KindUser:
			u, err := tx.User(name)
			if err != nil {
				return err
			}
			s.principal = policy.Principal{Type: policy.PrincipalUser, ARN: u.ARN, Account: c.AccountID(), UserID: u.ID, Username: u.Name, Tags: sts.EntityTags(u.Tags)}
			owners[u.ARN] = account.KindUser
			groups, err := tx.GroupsForUser(u.Name)
			if err != nil {
				return err
			}
			for _, g := range groups {
				owners[g.ARN] = account.KindGroup
			}
		case account.KindGroup:
			g, err := tx.Group(name)
			if err != nil {
				return err
			}
			s.principal = policy.Principal{Type: policy.PrincipalUser, ARN: g.ARN, Account: c.AccountID()}
			owners[g.ARN] = account.KindGroup
		default:
			r, err := tx.Role(name)
			if err != nil {
				return err
			}
			s.principal = policy.Principal{Type: policy.PrincipalAssumedRole, ARN: account.AssumedRoleARN(c.AccountID(), r.Name, "simulation"),
				RoleARN: r.ARN, Account: c.AccountID(), UserID: r.ID + ":simulation", Tags: sts.EntityTags(r.Tags)}
			owners[r.ARN] = account.KindRole
		}
		var err error
		ps, err = tx.PoliciesFor(ref)
		return err
	})
	if err != nil {
		return err
	}
	for _, ap := range ps.Identity {
		p, src, err := compileApplied(c, ap, policy.KindIdentity, owners)
		if err != nil {
			return err
		}
		if p != nil {
			s.set.Identity = append(s.set.Identity, p)
			s.add(p, src)
		}
	}
	if ps.Boundary != nil {
		p, src, err := compileApplied(c, *ps.Boundary, policy.KindBoundary, owners)
		if err != nil {
			return err
		}
		if p != nil {
			s.set.Boundary = p
			s.add(p, src)
		}
	}
	return nil
}

// compileApplied compiles one stored policy for the simulator. A policy the engine
// refuses (only an import can store one) allows nothing, as in the authorizer.
func compileApplied(c *sts.Call, ap store.AppliedPolicy, kind policy.Kind, owners map[string]account.Kind) (*policy.Policy, sourcePolicy, error) {
	switch ap.Kind {
	case store.AWSManaged:
		m, found := c.Catalog().Lookup(ap.ARN)
		if !found {
			return nil, sourcePolicy{}, nil
		}
		if kind == policy.KindIdentity {
			return m.Policy, sourcePolicy{id: m.Name, typ: "aws-managed"}, nil
		}
		p, err := policy.Parse(m.Document, kind, func(o *policy.ParseOptions) { o.Name, o.ARN, o.Legacy = m.Name, m.ARN, true })
		return p, sourcePolicy{id: m.Name, typ: "aws-managed"}, err
	case store.Managed:
		p, err := policy.Parse([]byte(ap.Document), kind, func(o *policy.ParseOptions) { o.Name, o.ARN, o.Legacy = ap.Name, ap.ARN, true })
		if err != nil {
			return nil, sourcePolicy{}, nil
		}
		return p, sourcePolicy{id: ap.Name, typ: "user-managed"}, nil
	}
	p, err := policy.Parse([]byte(ap.Document), kind, func(o *policy.ParseOptions) { o.Name, o.Legacy = ap.Name, true })
	if err != nil {
		return nil, sourcePolicy{}, nil
	}
	typ := "user"
	switch owners[ap.ARN] {
	case account.KindGroup:
		typ = "group"
	case account.KindRole:
		typ = "role"
	}
	return p, sourcePolicy{id: ap.Name, typ: typ}, nil
}

type positionXML struct {
	Line   int `xml:"Line"`
	Column int `xml:"Column"`
}

type statementXML struct {
	SourcePolicyID   string      `xml:"SourcePolicyId"`
	SourcePolicyType string      `xml:"SourcePolicyType"`
	StartPosition    positionXML `xml:"StartPosition"`
	EndPosition      positionXML `xml:"EndPosition"`
}

type boundaryDetailXML struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type evaluationXML struct {
	EvalActionName                    string                `xml:"EvalActionName"`
	EvalResourceName                  string                `xml:"EvalResourceName"`
	EvalDecision                      string                `xml:"EvalDecision"`
	MatchedStatements                 members[statementXML] `xml:"MatchedStatements"`
	MissingContextValues              members[string]       `xml:"MissingContextValues"`
	PermissionsBoundaryDecisionDetail *boundaryDetailXML    `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type simulateResult struct {
	EvaluationResults members[evaluationXML] `xml:"EvaluationResults"`
	page
}

// Simulation limits: AWS's API bounds the lists' lengths less tightly than a request
// body does; these keep one call's work bounded.
const (
	maxSimActions   = 1000
	maxSimResources = 1000
	maxSimResults   = 100000
)

// run decides every action on every resource and returns one page of results.
func (s *simulation) run(c *sts.Call) (any, error) {
	actions := c.Params.Strings("ActionNames")
	resources := c.Params.Strings("ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	if len(actions) > maxSimActions || len(resources) > maxSimResources || len(actions)*len(resources) > maxSimResults {
		return nil, account.Errorf(account.InvalidInput, "A simulation may decide at most %d actions on %d resources.", maxSimActions, maxSimResources)
	}
	for _, a := range actions {
		if !strings.Contains(a, ":") {
			return nil, account.Errorf(account.InvalidInput, "Action %s must be prefaced by a service, e.g., iam:CreateUser.", shorten(a))
		}
	}
	// Pages index the action × resource grid; only the requested page is decided.
	type cell struct{ a, r int }
	cells := make([]cell, 0, len(actions)*len(resources))
	for ai := range actions {
		for ri := range resources {
			cells = append(cells, cell{ai, ri})
		}
	}
	items, next, err := paginate(cells, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	given := map[string]bool{}
	for _, k := range s.context {
		given[strings.ToLower(k.Name)] = true
	}
	out := make([]evaluationXML, 0, len(items))
	var buf [16]policy.Match
	for _, cl := range items {
		req := policy.Request{Principal: s.principal, Action: actions[cl.a],
			Resource: policy.Resource{ARN: resources[cl.r], Account: s.owner}, Context: policy.Context{Keys: s.context}}
		set := &s.set
		if t := s.trusts[req.Resource.ARN]; t != nil && policy.Required(req.Action, req.Resource.ARN) == policy.RequiresTrust {
			withTrust := s.set
			withTrust.Resource = append(slices.Clip(s.set.Resource), t)
			set = &withTrust
		}
		out = append(out, s.render(policy.Simulate(set, &req, buf[:0]), given))
	}
	return &simulateResult{EvaluationResults: list(out), page: pageResult(next)}, nil
}

// render is one decision in IAM's words.
func (s *simulation) render(sim policy.Simulated, given map[string]bool) evaluationXML {
	r := evaluationXML{EvalActionName: sim.Action, EvalResourceName: sim.Resource, EvalDecision: sim.Decision.Result.EvalDecision(),
		MatchedStatements: list(make([]statementXML, 0, len(sim.Matched))), MissingContextValues: list(s.missing(sim.Action, given))}
	for _, m := range sim.Matched {
		src := s.sources[m.Policy]
		r.MatchedStatements.Member = append(r.MatchedStatements.Member, statementXML{SourcePolicyID: src.id, SourcePolicyType: src.typ,
			StartPosition: positionXML(m.Start), EndPosition: positionXML(m.End)})
	}
	if sim.AllowedByBoundary != nil {
		r.PermissionsBoundaryDecisionDetail = &boundaryDetailXML{AllowedByPermissionsBoundary: *sim.AllowedByBoundary}
	}
	return r
}

// missing lists the condition keys (and policy variables) of the statements that
// name action, in the simulated policies, that the context entries do not give and
// the simulated principal does not supply.
func (s *simulation) missing(action string, given map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range s.policies() {
		for _, st := range p.Statements() {
			if !statementNamesAction(st, action) {
				continue
			}
			for _, k := range statementKeys(st) {
				lk := strings.ToLower(k)
				if given[lk] || seen[lk] || s.supplies(lk) {
					continue
				}
				seen[lk] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// supplies reports whether the simulated principal gives the key lk (lower case).
func (s *simulation) supplies(lk string) bool {
	p := s.principal
	switch lk {
	case "aws:principalarn", "aws:principalaccount", "aws:principaltype":
		return p.ARN != ""
	case "aws:username":
		return p.Username != ""
	case "aws:userid":
		return p.UserID != ""
	}
	if tag, ok := strings.CutPrefix(lk, "aws:principaltag/"); ok {
		return slices.ContainsFunc(p.Tags, func(t policy.Tag) bool { return strings.EqualFold(t.Key, tag) })
	}
	return false
}

func (s *simulation) policies() []*policy.Policy {
	out := slices.Clone(s.set.Identity)
	if s.set.Boundary != nil {
		out = append(out, s.set.Boundary)
	}
	return append(out, s.set.Resource...)
}

// statementNamesAction reports whether the statement's Action (or NotAction) covers
// action, matching '*' and '?' without regard to case.
func statementNamesAction(st policy.Statement, action string) bool {
	if st.Action != nil {
		return slices.ContainsFunc(st.Action, func(p string) bool { return globMatch(strings.ToLower(p), strings.ToLower(action)) })
	}
	return !slices.ContainsFunc(st.NotAction, func(p string) bool { return globMatch(strings.ToLower(p), strings.ToLower(action)) })
}

// globMatch matches s against pattern with '*' (any run) and '?' (one character).
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case starP >= 0:
			px, starS = starP+1, starS+1
			sx = starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

// statementKeys returns the condition keys of a statement and the keys of the policy
// variables in its resources and condition values, in order of appearance.
func statementKeys(st policy.Statement) []string {
	var out []string
	for _, r := range slices.Concat(st.Resource, st.NotResource) {
		out = append(out, variables(r)...)
	}
	for _, cond := range st.Condition {
		out = append(out, cond.Key)
		for _, v := range cond.Values {
			out = append(out, variables(v)...)
		}
	}
	return out
}

// variables returns the keys of the ${key} and ${key, 'default'} variables in s.
func variables(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return out
		}
		s = s[i+2:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return out
		}
		key, _, _ := strings.Cut(s[:j], ",")
		key = strings.TrimSpace(key)
		if key != "" && key != "*" && key != "?" && key != "$" {
			out = append(out, key)
		}
		s = s[j+1:]
	}
}

// principalSimulation authorizes action on PolicySourceArn and reads the
// policies of that user, group or role with the PolicyInputList's.
func principalSimulation(ctx context.Context, c *sts.Call, action string) (*simulation, error) {
	src := c.Params.String("PolicySourceArn")
	if err := c.Authorize(action, src); err != nil {
		return nil, err
	}
	var s simulation
	if err := s.principalSet(ctx, c, src); err != nil {
		return nil, err
	}
	extra, err := s.inputList(c, "PolicyInputList", policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	s.set.Identity = append(s.set.Identity, extra...)
	return &s, nil
}

func (a *API) simulatePrincipalPolicy(ctx context.Context, c *sts.Call) (any, error) {
	s, err := principalSimulation(ctx, c, "iam:SimulatePrincipalPolicy")
	if err != nil {
		return nil, err
	}
	boundary := s.set.Boundary
	if err := s.common(c); err != nil {
		return nil, err
	}
	if s.set.Boundary == nil {
		s.set.Boundary = boundary
	}
	if err := s.roleTrusts(ctx, c); err != nil {
		return nil, err
	}
	return s.run(c)
}

func (a *API) simulateCustomPolicy(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:SimulateCustomPolicy", "*"); err != nil {
		return nil, err
	}
	s := simulation{principal: policy.Principal{Type: policy.PrincipalUser, Account: c.AccountID()}}
	var err error
	if s.set.Identity, err = s.inputList(c, "PolicyInputList", policy.KindIdentity); err != nil {
		return nil, err
	}
	if err := s.common(c); err != nil {
		return nil, err
	}
	if err := s.roleTrusts(ctx, c); err != nil {
		return nil, err
	}
	return s.run(c)
}

type contextKeysResult struct {
	ContextKeyNames members[string] `xml:"ContextKeyNames"`
}

// contextKeys lists every condition key and policy variable of the policies, once
// each (compared without regard to case), sorted.
func contextKeys(ps []*policy.Policy) *contextKeysResult {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		for _, st := range p.Statements() {
			for _, k := range statementKeys(st) {
				if lk := strings.ToLower(k); !seen[lk] {
					seen[lk] = true
					out = append(out, k)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return &contextKeysResult{ContextKeyNames: list(out)}
}

func (a *API) getContextKeysForPrincipalPolicy(ctx context.Context, c *sts.Call) (any, error) {
	s, err := principalSimulation(ctx, c, "iam:GetContextKeysForPrincipalPolicy")
	if err != nil {
		return nil, err
	}
	return contextKeys(s.policies()), nil
}

func (a *API) getContextKeysForCustomPolicy(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetContextKeysForCustomPolicy", "*"); err != nil {
		return nil, err
	}
	var s simulation
	ps, err := s.inputList(c, "PolicyInputList", policy.KindIdentity)
	if err != nil {
		return nil, err
	}
	return contextKeys(ps), nil
}
