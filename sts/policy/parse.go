package policy

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kind says which rules of AWS's grammar a document must follow.
type Kind uint8

// The kinds of policy documents.
const (
	// KindIdentity is an identity-based policy (managed or inline) of a user,
	// group or role. It must not name a principal and must name resources.
	KindIdentity Kind = iota + 1
	// KindResource is a resource-based policy (a bucket policy, a key policy,
	// or a role's trust policy read as one): it must name a principal, and may
	// leave out Resource, meaning the resource it is attached to.
	KindResource
	// KindTrust is a role's trust policy (AssumeRolePolicyDocument): it must name a
	// principal, must not name resources and may only grant sts actions.
	KindTrust
	// KindBoundary is a permissions boundary: the rules of an identity policy.
	KindBoundary
	// KindSession is a session policy passed to AssumeRole* or
	// GetFederationToken: the rules of an identity policy.
	KindSession
	// KindSCP is an AWS Organizations service control policy: the rules of an
	// identity policy.
	KindSCP
)

var kindNames = [...]string{"", "identity", "resource", "trust", "boundary", "session", "scp"}

// String returns the kind's name as the command line spells it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// ParseKind reads a kind's name (identity, resource, trust, boundary, session, scp).
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && strings.EqualFold(n, s) {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown policy kind %q (want identity, resource, trust, boundary, session or scp)", s)
}

// needsPrincipal reports whether statements of this kind must (true) or must
// not (false) name a principal.
func (k Kind) needsPrincipal() bool { return k == KindResource || k == KindTrust }

// Limit is a size quota a document is checked against before it is parsed.
type Limit uint8

// The size quotas of IAM, STS and Organizations.
const (
	// NoLimit checks no size.
	NoLimit Limit = iota
	// LimitManaged is a customer managed policy: 6,144 characters, white space not counted.
	LimitManaged
	// LimitInlineUser is the inline policies of a user: 2,048 characters, white space not counted.
	LimitInlineUser
	// LimitInlineRole is the inline policies of a role: 10,240 characters, white space not counted.
	LimitInlineRole
	// LimitInlineGroup is the inline policies of a group: 5,120 characters, white space not counted.
	LimitInlineGroup
	// LimitTrust is a role's trust policy: 2,048 characters (IAM's default
	// quota), white space not counted.
	LimitTrust
	// LimitSession is a session policy: 2,048 characters of plain text,
	// white space counted (it is an API parameter's length).
	LimitSession
	// LimitSCP is a service control policy: 5,120 characters, white space counted.
	LimitSCP
)

// IAM's, STS's and Organizations' policy size quotas, in characters: the one
// table of them (the store and the IAM API's account summary read it too).
const (
	MaxManagedSize     = 6144  // a customer managed policy (PolicySize)
	MaxUserInlineSize  = 2048  // a user's inline policies together
	MaxRoleInlineSize  = 10240 // a role's inline policies together
	MaxGroupInlineSize = 5120  // a group's inline policies together
	MaxTrustSize       = 2048  // a role's trust policy (ACLSizePerRole)
	MaxSessionSize     = 2048  // a session policy (white space counted)
	MaxSCPSize         = 5120  // a service control policy (white space counted)
)

type limitRule struct {
	max        int
	whitespace bool // white space counts
	code       string
	message    func(entity string) string
}

var limitRules = [...]limitRule{
	LimitManaged: {MaxManagedSize, false, CodeLimitExceeded, func(string) string {
		return fmt.Sprintf("Cannot exceed quota for PolicySize: %d", MaxManagedSize)
	}},
	LimitInlineUser: {MaxUserInlineSize, false, CodeLimitExceeded, func(n string) string {
		return fmt.Sprintf("Maximum policy size of %d bytes exceeded for user %s", MaxUserInlineSize, n)
	}},
	LimitInlineRole: {MaxRoleInlineSize, false, CodeLimitExceeded, func(n string) string {
		return fmt.Sprintf("Maximum policy size of %d bytes exceeded for role %s", MaxRoleInlineSize, n)
	}},
	LimitInlineGroup: {MaxGroupInlineSize, false, CodeLimitExceeded, func(n string) string {
		return fmt.Sprintf("Maximum policy size of %d bytes exceeded for group %s", MaxGroupInlineSize, n)
	}},
	LimitTrust: {MaxTrustSize, false, CodeLimitExceeded, func(string) string {
		return fmt.Sprintf("Cannot exceed quota for ACLSizePerRole: %d", MaxTrustSize)
	}},
	LimitSession: {MaxSessionSize, true, CodeValidationError, func(string) string {
		return fmt.Sprintf("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to %d", MaxSessionSize)
	}},
	LimitSCP: {MaxSCPSize, true, CodeLimitExceeded, func(string) string {
		return fmt.Sprintf("The policy document exceeds the maximum size of %d characters for a service control policy.", MaxSCPSize)
	}},
}

// Size returns the length of doc as the quota counts it: characters, with or
// without white space.
func (l Limit) Size(doc []byte) int {
	if int(l) >= len(limitRules) || l == NoLimit {
		return utf8.RuneCount(doc)
	}
	if limitRules[l].whitespace {
		return utf8.RuneCount(doc)
	}
	n := 0
	for _, r := range string(doc) {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// Max returns the quota in characters (0 for NoLimit).
func (l Limit) Max() int {
	if int(l) >= len(limitRules) {
		return 0
	}
	return limitRules[l].max
}

// ParseOptions are the optional settings of Parse and Validate.
type ParseOptions struct {
	// Name identifies the policy in decisions: a managed policy's name, an
	// inline policy's name, a file name.
	Name string
	// ARN is the policy's ARN when it is a managed policy.
	ARN string
	// Limit is the size quota to enforce; NoLimit by default.
	Limit Limit
	// Entity is the user, role or group name IAM names in a LimitExceeded message.
	Entity string
	// Legacy accepts what IAM (or an older credbroker) stored under older
	// rules: a permissions policy without Version or with 2008-10-17, date
	// values IAM's legacy parser refuses, resources and actions of formats
	// IAM now refuses. Set it when reading AWS managed policies and documents
	// back from a store, so that a stored Deny is never lost to a stricter
	// grammar; documents submitted to the API are checked without it.
	Legacy bool
}

// Effect is a statement's Effect.
type Effect uint8

// The two effects.
const (
	Allow Effect = iota + 1
	Deny
)

// String returns "Allow" or "Deny".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return fmt.Sprintf("Effect(%d)", e)
}

// Position is a place in a document: 1-based line and column (in bytes).
type Position struct {
	Line, Column int
}

// Principals is a Principal or NotPrincipal element.
type Principals struct {
	// All is the bare string "*".
	All bool
	// AWS, Service, Federated and CanonicalUser are the entries under those keys.
	AWS, Service, Federated, CanonicalUser []string
}

// Condition is one key under one operator of a Condition element. Several
// Conditions of a statement must all be true.
type Condition struct {
	// Operator is the operator as written, with any ForAllValues:/ForAnyValue:
	// prefix and IfExists suffix, such as "ForAnyValue:StringLikeIfExists".
	Operator string
	// Key is the condition key as written (names are case-insensitive).
	Key string
	// Values are the values as text; several values are alternatives.
	Values []string
}

// Statement is one parsed statement, as written. Nil slices mean the element
// is absent.
type Statement struct {
	Sid                   string
	Effect                Effect
	Action, NotAction     []string
	Resource, NotResource []string
	Principal             *Principals
	NotPrincipal          *Principals
	Condition             []Condition
	// Path is the statement's JSON path, such as `$.Statement[2]`.
	Path string
	// Start and End locate the statement's braces in the document.
	Start, End Position
}

// Policy is a parsed and compiled policy document. It is immutable and safe
// for concurrent use; compile once and share it between every Set that
// includes it.
type Policy struct {
	kind       Kind
	name       string
	arn        string
	id         string
	version    string
	statements []Statement
	compiled   []cstatement
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Name returns the name given in ParseOptions.
func (p *Policy) Name() string { return p.name }

// ARN returns the ARN given in ParseOptions.
func (p *Policy) ARN() string { return p.arn }

// ID returns the document's Id element.
func (p *Policy) ID() string { return p.id }

// Version returns the document's Version element ("" when absent, which AWS
// reads as 2008-10-17: policy variables are then plain text).
func (p *Policy) Version() string { return p.version }

// Statements returns the parsed statements in document order. The slice is
// shared: do not modify it.
func (p *Policy) Statements() []Statement { return p.statements }

// Versions of the policy language.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Parse checks doc against AWS's grammar for kind and compiles it for
// evaluation. A refused document yields an *Error with AWS's code and message
// for the first fault (IAM reports one); Validate lists them all.
func Parse(doc []byte, kind Kind, optFns ...func(*ParseOptions)) (*Policy, error) {
	var o ParseOptions
	for _, fn := range optFns {
		fn(&o)
	}
	p, faults := parse(doc, kind, &o)
	if len(faults) > 0 {
		return nil, first(faults)
	}
	p.compiled = make([]cstatement, len(p.statements))
	for i := range p.statements {
		p.compiled[i] = compileStatement(p, i)
	}
	return p, nil
}

// Validate returns every fault of doc against AWS's grammar for kind: first
// the one IAM reports (Parse's error), then the others in document order;
// none means IAM accepts it.
func Validate(doc []byte, kind Kind, optFns ...func(*ParseOptions)) []*Error {
	var o ParseOptions
	for _, fn := range optFns {
		fn(&o)
	}
	_, faults := parse(doc, kind, &o)
	return errs(faults)
}

type parser struct {
	doc    []byte
	kind   Kind
	legacy bool
	faults []fault
	sids   map[string]bool
	// resourceFormat is set once a resource has a format fault: IAM then
	// skips the legacy parsing of resources.
	resourceFormat bool
}

// fault is one fault with the stage of IAM's checks that finds it, so that
// Parse answers with the fault IAM reports first.
type fault struct {
	err   *Error
	stage stage
	// order breaks ties within a stage: lower is reported first.
	order [2]int
}

// stage is one of IAM's passes over a document, in the order IAM runs them;
// IAM answers with a fault of the earliest stage that finds one.
type stage uint8

const (
	// stageSyntax: the document's shape: JSON, element names and types,
	// Effect (in any case), Action with NotAction, Resource with NotResource,
	// known condition operators. "Syntax errors in policy."
	stageSyntax stage = iota + 1
	// stageVersion: a permissions policy must say Version 2012-10-17.
	stageVersion
	// stageLegacy: Effect exactly Allow or Deny, date condition values,
	// resources with empty segments. "The policy failed legacy parsing"
	stageLegacy
	// stageSid: statement ids.
	stageSid
	// stageActions: every statement has actions.
	stageActions
	// stageResources: every statement has resources.
	stageResources
	// stageResourceFormat: resources are "*" or ARNs IAM can read.
	stageResourceFormat
	// stageActionFormat: actions are "*" or vendor:name.
	stageActionFormat
	// stagePrincipal: the principal rules of the kind, trust policy rules.
	stagePrincipal
	// stageSuppressed: faults IAM does not report (a resource's legacy
	// fault after a resource format fault); Validate still lists them.
	stageSuppressed
)

func (ps *parser) fault(n *jnode, off int64, path, msg string, st stage) *fault {
	e := &Error{Code: CodeMalformedPolicyDocument, Message: msg, Path: path}
	if n != nil {
		off = n.off
	}
	if off >= 0 {
		e.Line, e.Column = position(ps.doc, off)
	}
	ps.faults = append(ps.faults, fault{err: e, stage: st, order: [2]int{0, int(off)}})
	return &ps.faults[len(ps.faults)-1]
}

func parse(doc []byte, kind Kind, o *ParseOptions) (*Policy, []fault) {
	if kind < KindIdentity || kind > KindSCP {
		return nil, []fault{{err: &Error{Code: CodeMalformedPolicyDocument, Message: msgSyntax, Path: "$"}, stage: stageSyntax}}
	}
	if o.Limit != NoLimit && int(o.Limit) < len(limitRules) {
		r := limitRules[o.Limit]
		if o.Limit.Size(doc) > r.max {
			return nil, []fault{{err: &Error{Code: r.code, Message: r.message(o.Entity), Path: "$"}}}
		}
	}
	root, jerr := parseJSON(doc)
	if jerr != nil {
		return nil, []fault{{err: jerr, stage: stageSyntax}}
	}
	ps := &parser{doc: doc, kind: kind, legacy: o.Legacy, sids: map[string]bool{}}
	p := &Policy{kind: kind, name: o.Name, arn: o.ARN}
	if root.kind != jObject {
		ps.fault(root, 0, "$", msgSyntax, stageSyntax)
		return nil, ps.faults
	}
	var stmts *jnode
	for _, f := range root.fields {
		path := jsonPath("$", f.key)
		switch f.key {
		case "Version":
			if f.val.kind != jString || (f.val.str != Version2012 && f.val.str != Version2008) {
				ps.fault(f.val, 0, path, msgSyntax, stageSyntax)
				continue
			}
			p.version = f.val.str
		case "Id":
			if f.val.kind != jString {
				ps.fault(f.val, 0, path, msgSyntax, stageSyntax)
				continue
			}
			p.id = f.val.str
		case "Statement":
			stmts = f.val
		default:
			ps.fault(nil, f.off, path, msgSyntax, stageSyntax)
		}
	}
	if p.version != Version2012 && kind.needsVersion() && !o.Legacy {
		// Placed at the Version element, or the opening brace without one.
		if v := root.get("Version"); v != nil {
			ps.fault(v, 0, "$.Version", msgVersion, stageVersion)
		} else {
			ps.fault(root, 0, "$", msgVersion, stageVersion)
		}
	}
	switch {
	case stmts == nil:
		// Placed at the closing brace, after any misspelt member that explains it.
		ps.fault(nil, root.end-1, "$", msgSyntax, stageSyntax)
	case stmts.kind == jObject:
		p.statements = append(p.statements, ps.statement(stmts, "$.Statement", 0))
	case stmts.kind == jArray && len(stmts.items) > 0:
		for i, item := range stmts.items {
			p.statements = append(p.statements, ps.statement(item, indexPath("$.Statement", i), i))
		}
	default:
		ps.fault(stmts, 0, "$.Statement", msgSyntax, stageSyntax)
	}
	if o.Legacy {
		ps.dropLegacy()
	}
	if ps.resourceFormat {
		for i := range ps.faults {
			if ps.faults[i].stage == stageLegacy && ps.faults[i].order[0] == legacyResource {
				ps.faults[i].stage = stageSuppressed
			}
		}
	}
	// Report in document order (members are checked before statements).
	sort.SliceStable(ps.faults, func(i, j int) bool {
		a, b := ps.faults[i].err, ps.faults[j].err
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	return p, ps.faults
}

// dropLegacy forgets the faults of IAM's newer checks that leave a document
// that still compiles: Version, date values, resource and action formats,
// NotPrincipal in a trust policy.
func (ps *parser) dropLegacy() {
	kept := ps.faults[:0]
	for _, f := range ps.faults {
		switch {
		case f.stage == stageVersion || f.stage == stageResourceFormat || f.stage == stageActionFormat:
		case f.stage == stageLegacy && !strings.HasSuffix(f.err.Path, ".Effect"):
		case f.stage == stagePrincipal && strings.HasSuffix(f.err.Path, ".NotPrincipal") && ps.kind == KindTrust:
		default:
			kept = append(kept, f)
		}
	}
	ps.faults = kept
}

// legacyResource marks (in fault.order[0]) a legacy fault found in a resource.
const legacyResource = 1

// first returns the fault IAM reports: the earliest stage's, ties broken by order.
func first(faults []fault) *Error {
	best := 0
	for i := 1; i < len(faults); i++ {
		a, b := faults[i], faults[best]
		if a.stage < b.stage || a.stage == b.stage && (a.order[0] < b.order[0] || a.order[0] == b.order[0] && a.order[1] < b.order[1]) {
			best = i
		}
	}
	return faults[best].err
}

// errs lists the faults: the one IAM reports first, then the others in
// document order.
func errs(faults []fault) []*Error {
	if len(faults) == 0 {
		return nil
	}
	lead := first(faults)
	out := append(make([]*Error, 0, len(faults)), lead)
	for _, f := range faults {
		if f.err != lead {
			out = append(out, f.err)
		}
	}
	return out
}

// needsVersion reports whether documents of this kind must say Version
// 2012-10-17: IAM's permissions policies (managed and inline, used as
// permissions or as boundaries).
func (k Kind) needsVersion() bool { return k == KindIdentity || k == KindBoundary }

var statementElements = map[string]bool{"Sid": true, "Effect": true, "Action": true, "NotAction": true, "Resource": true,
	"NotResource": true, "Principal": true, "NotPrincipal": true, "Condition": true}

// statement checks one statement (the index-th). Faults are recorded; the
// returned Statement is only used when there are none.
func (ps *parser) statement(n *jnode, path string, index int) Statement {
	s := Statement{Path: path}
	s.Start.Line, s.Start.Column = position(ps.doc, n.off)
	s.End.Line, s.End.Column = position(ps.doc, n.end-1)
	if n.kind != jObject {
		ps.fault(n, 0, path, msgSyntax, stageSyntax)
		return s
	}
	for _, f := range n.fields {
		if !statementElements[f.key] {
			ps.fault(nil, f.off, jsonPath(path, f.key), msgSyntax, stageSyntax)
		}
	}
	ps.effect(n, path, &s)
	ps.sid(n, path, &s)
	ps.principalElements(n, path, &s)
	ps.actionElements(n, path, &s)
	ps.resourceElements(n, path, index, &s)

	// Condition
	if c := n.get("Condition"); c != nil {
		s.Condition = ps.conditions(c, path+".Condition")
	}
	return s
}

// actionElements checks a statement's Action and NotAction into s.
func (ps *parser) actionElements(n *jnode, path string, s *Statement) {
	a, na := n.get("Action"), n.get("NotAction")
	switch {
	case a != nil && na != nil:
		ps.fault(na, 0, path+".NotAction", msgSyntax, stageSyntax)
	case a == nil && na == nil:
		ps.fault(n, 0, path, msgNoActions, stageActions)
	case a != nil:
		s.Action = ps.actions(a, path+".Action", 0)
	default:
		s.NotAction = ps.actions(na, path+".NotAction", 1)
	}
}

// resourceElements checks a statement's Resource and NotResource into s
// (index is the statement's place in the document).
func (ps *parser) resourceElements(n *jnode, path string, index int, s *Statement) {
	r, nr := n.get("Resource"), n.get("NotResource")
	switch {
	case ps.kind == KindTrust:
		if r != nil {
			ps.fault(r, 0, path+".Resource", fmt.Sprintf(msgProhibitedField, "Resource"), stagePrincipal)
		}
		if nr != nil {
			ps.fault(nr, 0, path+".NotResource", fmt.Sprintf(msgProhibitedField, "NotResource"), stagePrincipal)
		}
	case r != nil && nr != nil:
		ps.fault(nr, 0, path+".NotResource", msgSyntax, stageSyntax)
	case r != nil:
		s.Resource = ps.resources(r, path+".Resource", index, 0)
	case nr != nil:
		s.NotResource = ps.resources(nr, path+".NotResource", index, 1)
	case ps.kind != KindResource:
		ps.fault(n, 0, path, msgNoResources, stageResources)
	}
}

// effect reads Effect: Allow or Deny in any case passes IAM's syntax check,
// but only the exact words pass its legacy parser.
func (ps *parser) effect(n *jnode, path string, s *Statement) {
	e := n.get("Effect")
	switch {
	case e == nil:
		ps.fault(n, 0, path, msgSyntax, stageSyntax)
	case e.kind != jString:
		ps.fault(e, 0, path+".Effect", msgSyntax, stageSyntax)
	case e.str == "Allow":
		s.Effect = Allow
	case e.str == "Deny":
		s.Effect = Deny
	case strings.EqualFold(e.str, "Allow") || strings.EqualFold(e.str, "Deny"):
		ps.fault(e, 0, path+".Effect", msgLegacy, stageLegacy)
	default:
		ps.fault(e, 0, path+".Effect", msgSyntax, stageSyntax)
	}
}

func (ps *parser) sid(n *jnode, path string, s *Statement) {
	sid := n.get("Sid")
	if sid == nil {
		return
	}
	if sid.kind != jString {
		ps.fault(sid, 0, path+".Sid", msgSyntax, stageSyntax)
		return
	}
	s.Sid = sid.str
	if ps.kind == KindResource {
		return
	}
	if !alnum(sid.str) {
		ps.fault(sid, 0, path+".Sid", msgSidAlnum, stageSid)
	} else if sid.str != "" && ps.sids[sid.str] {
		ps.fault(sid, 0, path+".Sid", msgSidUnique, stageSid)
	}
	ps.sids[sid.str] = true
}

func (ps *parser) principalElements(n *jnode, path string, s *Statement) {
	pr, npr := n.get("Principal"), n.get("NotPrincipal")
	if !ps.kind.needsPrincipal() {
		if pr != nil {
			ps.fault(pr, 0, path+".Principal", msgPrincipalForbidden, stagePrincipal)
		}
		if npr != nil {
			ps.fault(npr, 0, path+".NotPrincipal", msgPrincipalForbidden, stagePrincipal)
		}
		return
	}
	switch {
	case pr == nil && npr == nil:
		ps.fault(n, 0, path, fmt.Sprintf(msgMissingField, "Principal"), stagePrincipal)
	case pr != nil && npr != nil:
		ps.fault(npr, 0, path+".NotPrincipal", msgSyntax, stageSyntax)
	case pr != nil:
		s.Principal = ps.principals(pr, path+".Principal")
	default:
		if ps.kind == KindTrust {
			// AWS: "You cannot use the NotPrincipal element in ... an IAM
			// role trust policy." IAM's words for it are not documented.
			ps.fault(npr, 0, path+".NotPrincipal", msgSyntax, stagePrincipal)
		}
		s.NotPrincipal = ps.principals(npr, path+".NotPrincipal")
	}
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// strings reads a string or a non-empty list of strings; an empty list is
// the fault emptyMsg of stage emptyStage.
func (ps *parser) strings(n *jnode, path string, emptyMsg string, emptyStage stage) ([]string, bool) {
	switch n.kind {
	case jString:
		return []string{n.str}, true
	case jArray:
		out := make([]string, 0, len(n.items))
		for i, it := range n.items {
			if it.kind != jString {
				ps.fault(it, 0, indexPath(path, i), msgSyntax, stageSyntax)
				return nil, false
			}
			out = append(out, it.str)
		}
		if len(out) == 0 {
			ps.fault(n, 0, path, emptyMsg, emptyStage)
			return nil, false
		}
		return out, true
	}
	ps.fault(n, 0, path, msgSyntax, stageSyntax)
	return nil, false
}

// actions reads Action (not = 0) or NotAction (not = 1). IAM checks the
// actions of every statement before the NotActions of any.
func (ps *parser) actions(n *jnode, path string, not int) []string {
	list, ok := ps.strings(n, path, msgNoActions, stageActions)
	if !ok {
		return nil
	}
	for i, a := range list {
		p := itemPath(n, path, i)
		if msg := checkAction(a); msg != "" {
			f := ps.fault(itemNode(n, i), 0, p, msg, stageActionFormat)
			f.order[0] = not
			continue
		}
		if ps.kind == KindTrust && a != "*" && !strings.EqualFold(strings.SplitN(a, ":", 2)[0], "sts") {
			ps.fault(itemNode(n, i), 0, p, msgTrustActions, stagePrincipal)
		}
	}
	return list
}

// itemPath is the path of the i-th item of the string or array n found at path.
func itemPath(n *jnode, path string, i int) string {
	if n.kind == jArray {
		return indexPath(path, i)
	}
	return path
}

func itemNode(n *jnode, i int) *jnode {
	if n.kind == jArray && i < len(n.items) {
		return n.items[i]
	}
	return n
}

// resources reads the Resource (not = 0) or NotResource (not = 1) of the
// index-th statement.
func (ps *parser) resources(n *jnode, path string, index, not int) []string {
	list, ok := ps.strings(n, path, msgNoResources, stageResources)
	if !ok {
		return nil
	}
	// IAM reports the format fault it meets last: NotResource after Resource,
	// later statements after earlier ones, and within an element it reads
	// the resources in reverse lexical order.
	sorted := append([]string(nil), list...)
	sort.Strings(sorted)
	for i, r := range list {
		p := itemPath(n, path, i)
		if msg := checkResource(r); msg != "" {
			f := ps.fault(itemNode(n, i), 0, p, msg, stageResourceFormat)
			f.order = [2]int{-(not<<24 | index), sort.SearchStrings(sorted, r)}
			ps.resourceFormat = true
		} else if legacyResourceFault(r) {
			f := ps.fault(itemNode(n, i), 0, p, msgLegacy, stageLegacy)
			f.order[0] = legacyResource
		}
	}
	return list
}

func (ps *parser) principals(n *jnode, path string) *Principals {
	p := &Principals{}
	if n.kind == jString {
		if n.str == "*" {
			p.All = true
			return p
		}
		ps.fault(n, 0, path, fmt.Sprintf(msgPrincipal, quoteJSON(n.str)), stagePrincipal)
		return nil
	}
	if n.kind != jObject || len(n.fields) == 0 {
		ps.fault(n, 0, path, msgSyntax, stageSyntax)
		return nil
	}
	for _, f := range n.fields {
		fpath := jsonPath(path, f.key)
		list, ok := ps.strings(f.val, fpath, msgSyntax, stageSyntax)
		if !ok {
			continue
		}
		var check func(string) bool
		switch f.key {
		case "AWS":
			p.AWS, check = list, validAWSPrincipal
		case "Service":
			p.Service, check = list, validServicePrincipal
		case "Federated":
			p.Federated, check = list, validFederatedPrincipal
		case "CanonicalUser":
			p.CanonicalUser, check = list, validCanonicalUser
		default:
			ps.fault(nil, f.off, fpath, fmt.Sprintf(msgPrincipal, quoteJSON(f.key)+":"+quoteJSON(list[0])), stagePrincipal)
			continue
		}
		for i, v := range list {
			if !check(v) {
				ps.fault(itemNode(f.val, i), 0, fpath, fmt.Sprintf(msgPrincipal, quoteJSON(f.key)+":"+quoteJSON(v)), stagePrincipal)
			}
		}
	}
	return p
}

// validAWSPrincipal accepts "*", an account id, a root, user, role,
// assumed-role or federated-user ARN, and the unique ids IAM shows for
// deleted entities. Wildcards are not allowed inside a principal.
func validAWSPrincipal(s string) bool {
	if s == "*" {
		return true
	}
	if strings.ContainsAny(s, "*?") || s == "" {
		return false
	}
	if isAccountID(s) {
		return true
	}
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 6)
		if len(parts) != 6 || !isAccountID(parts[4]) || parts[3] != "" {
			return false
		}
		switch parts[2] {
		case "iam":
			res := parts[5]
			return res == "root" || strings.HasPrefix(res, "user/") && len(res) > 5 || strings.HasPrefix(res, "role/") && len(res) > 5
		case "sts":
			res := parts[5]
			if rest, ok := strings.CutPrefix(res, "assumed-role/"); ok {
				role, sess, ok := strings.Cut(rest, "/")
				return ok && role != "" && sess != ""
			}
			if rest, ok := strings.CutPrefix(res, "federated-user/"); ok {
				return rest != ""
			}
		}
		return false
	}
	// Unique ids: AIDA (user), AROA (role), AIPA, ANPA, ... 16 to 128 upper-case letters and digits.
	if len(s) >= 16 && len(s) <= 128 && s[0] == 'A' {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return false
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validServicePrincipal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func validFederatedPrincipal(s string) bool {
	return s != "" && !strings.ContainsAny(s, "*? ")
}

func validCanonicalUser(s string) bool {
	return s != "" && !strings.ContainsAny(s, "*? ")
}

func (ps *parser) conditions(n *jnode, path string) []Condition {
	if n.kind != jObject {
		ps.fault(n, 0, path, msgSyntax, stageSyntax)
		return nil
	}
	var out []Condition
	for _, op := range n.fields {
		opPath := jsonPath(path, op.key)
		if op.val.kind != jObject {
			ps.fault(op.val, 0, opPath, msgSyntax, stageSyntax)
			continue
		}
		parsed, known := parseOperator(op.key)
		if !known {
			// IAM accepts an operator it does not know when its block is empty.
			if len(op.val.fields) > 0 {
				ps.fault(nil, op.off, opPath, msgSyntax, stageSyntax)
			}
			continue
		}
		for _, k := range op.val.fields {
			kPath := jsonPath(opPath, k.key)
			vals, ok := ps.conditionValues(k.val, kPath)
			if !ok {
				continue
			}
			if parsed.isDate() {
				for i, v := range vals {
					if !legacyDateOK(v) {
						ps.fault(itemNode(k.val, i), 0, kPath, msgLegacy, stageLegacy)
					}
				}
			}
			out = append(out, Condition{Operator: op.key, Key: k.key, Values: vals})
		}
	}
	return out
}

// conditionValues reads a scalar or a list of scalars (strings, numbers and
// booleans, kept as their text). IAM accepts an empty list.
func (ps *parser) conditionValues(n *jnode, path string) ([]string, bool) {
	scalar := func(v *jnode) bool { return v.kind == jString || v.kind == jNumber || v.kind == jBool }
	if scalar(n) {
		return []string{n.str}, true
	}
	if n.kind != jArray {
		ps.fault(n, 0, path, msgSyntax, stageSyntax)
		return nil, false
	}
	out := make([]string, 0, len(n.items))
	for i, it := range n.items {
		if !scalar(it) {
			ps.fault(it, 0, indexPath(path, i), msgSyntax, stageSyntax)
			return nil, false
		}
		out = append(out, it.str)
	}
	return out, true
}
