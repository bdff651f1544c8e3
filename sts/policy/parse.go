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

// principalRule reports whether statements of this kind must (true) or must
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

type limitRule struct {
	max        int
	whitespace bool // white space counts
	code       string
	message    func(entity string) string
}

var limitRules = [...]limitRule{
	LimitManaged: {6144, false, CodeLimitExceeded, func(string) string { return "Cannot exceed quota for PolicySize: 6144" }},
	LimitInlineUser: {2048, false, CodeLimitExceeded, func(n string) string {
		return "Maximum policy size of 2048 bytes exceeded for user " + n
	}},
	LimitInlineRole: {10240, false, CodeLimitExceeded, func(n string) string {
		return "Maximum policy size of 10240 bytes exceeded for role " + n
	}},
	LimitInlineGroup: {5120, false, CodeLimitExceeded, func(n string) string {
		return "Maximum policy size of 5120 bytes exceeded for group " + n
	}},
	LimitTrust: {2048, false, CodeLimitExceeded, func(string) string { return "Cannot exceed quota for ACLSizePerRole: 2048" }},
	LimitSession: {2048, true, CodeValidationError, func(string) string {
		return "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"
	}},
	LimitSCP: {5120, true, CodeLimitExceeded, func(string) string {
		return "The policy document exceeds the maximum size of 5120 characters for a service control policy."
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
		return nil, faults[0]
	}
	p.compiled = make([]cstatement, len(p.statements))
	for i := range p.statements {
		p.compiled[i] = compileStatement(p, i)
	}
	return p, nil
}

// Validate returns every fault of doc against AWS's grammar for kind, in
// document order; none means IAM accepts it.
func Validate(doc []byte, kind Kind, optFns ...func(*ParseOptions)) []*Error {
	var o ParseOptions
	for _, fn := range optFns {
		fn(&o)
	}
	_, faults := parse(doc, kind, &o)
	return faults
}

type parser struct {
	doc    []byte
	kind   Kind
	faults []*Error
	sids   map[string]bool
}

func (ps *parser) fault(n *jnode, off int64, path, msg string) {
	e := &Error{Code: CodeMalformedPolicyDocument, Message: msg, Path: path}
	if n != nil {
		off = n.off
	}
	if off >= 0 {
		e.Line, e.Column = position(ps.doc, off)
	}
	ps.faults = append(ps.faults, e)
}

func parse(doc []byte, kind Kind, o *ParseOptions) (*Policy, []*Error) {
	if kind < KindIdentity || kind > KindSCP {
		return nil, []*Error{{Code: CodeMalformedPolicyDocument, Message: msgSyntax, Path: "$"}}
	}
	if o.Limit != NoLimit && int(o.Limit) < len(limitRules) {
		r := limitRules[o.Limit]
		if o.Limit.Size(doc) > r.max {
			return nil, []*Error{{Code: r.code, Message: r.message(o.Entity), Path: "$"}}
		}
	}
	root, jerr := parseJSON(doc)
	if jerr != nil {
		return nil, []*Error{jerr}
	}
	ps := &parser{doc: doc, kind: kind, sids: map[string]bool{}}
	p := &Policy{kind: kind, name: o.Name, arn: o.ARN}
	if root.kind != jObject {
		ps.fault(root, 0, "$", msgSyntax)
		return nil, ps.faults
	}
	var stmts *jnode
	for _, f := range root.fields {
		path := jsonPath("$", f.key)
		switch f.key {
		case "Version":
			if f.val.kind != jString || (f.val.str != Version2012 && f.val.str != Version2008) {
				ps.fault(f.val, 0, path, msgSyntax)
				continue
			}
			p.version = f.val.str
		case "Id":
			if f.val.kind != jString {
				ps.fault(f.val, 0, path, msgSyntax)
				continue
			}
			p.id = f.val.str
		case "Statement":
			stmts = f.val
		default:
			ps.fault(nil, f.off, path, msgSyntax)
		}
	}
	switch {
	case stmts == nil:
		// Placed at the closing brace, after any misspelt member that explains it.
		ps.fault(nil, root.end-1, "$", fmt.Sprintf(msgMissingField, "Statement"))
	case stmts.kind == jObject:
		p.statements = append(p.statements, ps.statement(stmts, "$.Statement"))
	case stmts.kind == jArray && len(stmts.items) > 0:
		for i, item := range stmts.items {
			p.statements = append(p.statements, ps.statement(item, indexPath("$.Statement", i)))
		}
	default:
		ps.fault(stmts, 0, "$.Statement", msgSyntax)
	}
	// Report in document order (members are checked before statements).
	sort.SliceStable(ps.faults, func(i, j int) bool {
		a, b := ps.faults[i], ps.faults[j]
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	return p, ps.faults
}

// statement checks one statement. Faults are recorded; the returned Statement
// is only used when there are none.
func (ps *parser) statement(n *jnode, path string) Statement {
	s := Statement{Path: path}
	s.Start.Line, s.Start.Column = position(ps.doc, n.off)
	s.End.Line, s.End.Column = position(ps.doc, n.end-1)
	if n.kind != jObject {
		ps.fault(n, 0, path, msgSyntax)
		return s
	}
	for _, f := range n.fields {
		switch f.key {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition":
		default:
			ps.fault(nil, f.off, jsonPath(path, f.key), msgSyntax)
		}
	}

	// Effect
	if e := n.get("Effect"); e == nil {
		ps.fault(n, 0, path, fmt.Sprintf(msgMissingField, "Effect"))
	} else if e.kind != jString {
		ps.fault(e, 0, path+".Effect", msgSyntax)
	} else if e.str == "Allow" {
		s.Effect = Allow
	} else if e.str == "Deny" {
		s.Effect = Deny
	} else {
		ps.fault(e, 0, path+".Effect", fmt.Sprintf(msgEffect, e.str))
	}

	// Sid
	if sid := n.get("Sid"); sid != nil {
		if sid.kind != jString {
			ps.fault(sid, 0, path+".Sid", msgSyntax)
		} else {
			s.Sid = sid.str
			if ps.kind != KindResource {
				if !alnum(sid.str) {
					ps.fault(sid, 0, path+".Sid", msgSidAlnum)
				} else if sid.str != "" && ps.sids[sid.str] {
					ps.fault(sid, 0, path+".Sid", msgSidUnique)
				}
				ps.sids[sid.str] = true
			}
		}
	}

	// Principal, NotPrincipal
	pr, npr := n.get("Principal"), n.get("NotPrincipal")
	if ps.kind.needsPrincipal() {
		switch {
		case pr == nil && npr == nil:
			ps.fault(n, 0, path, fmt.Sprintf(msgMissingField, "Principal"))
		case pr != nil && npr != nil:
			ps.fault(npr, 0, path+".NotPrincipal", msgSyntax)
		case pr != nil:
			s.Principal = ps.principals(pr, path+".Principal")
		default:
			s.NotPrincipal = ps.principals(npr, path+".NotPrincipal")
		}
	} else {
		if pr != nil {
			ps.fault(pr, 0, path+".Principal", msgPrincipalForbidden)
		}
		if npr != nil {
			ps.fault(npr, 0, path+".NotPrincipal", msgPrincipalForbidden)
		}
	}

	// Action, NotAction
	a, na := n.get("Action"), n.get("NotAction")
	switch {
	case a != nil && na != nil:
		ps.fault(na, 0, path+".NotAction", msgSyntax)
	case a == nil && na == nil:
		ps.fault(n, 0, path, msgNoActions)
	case a != nil:
		s.Action = ps.actions(a, path+".Action")
	default:
		s.NotAction = ps.actions(na, path+".NotAction")
	}

	// Resource, NotResource
	r, nr := n.get("Resource"), n.get("NotResource")
	switch {
	case ps.kind == KindTrust:
		if r != nil {
			ps.fault(r, 0, path+".Resource", fmt.Sprintf(msgProhibitedField, "Resource"))
		}
		if nr != nil {
			ps.fault(nr, 0, path+".NotResource", fmt.Sprintf(msgProhibitedField, "NotResource"))
		}
	case r != nil && nr != nil:
		ps.fault(nr, 0, path+".NotResource", msgSyntax)
	case r != nil:
		s.Resource = ps.resources(r, path+".Resource")
	case nr != nil:
		s.NotResource = ps.resources(nr, path+".NotResource")
	case ps.kind != KindResource:
		ps.fault(n, 0, path, msgNoResources)
	}

	// Condition
	if c := n.get("Condition"); c != nil {
		s.Condition = ps.conditions(c, path+".Condition")
	}
	return s
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

// strings reads a string or a non-empty list of strings.
func (ps *parser) strings(n *jnode, path string, emptyMsg string) ([]string, bool) {
	switch n.kind {
	case jString:
		return []string{n.str}, true
	case jArray:
		if len(n.items) == 0 {
			ps.fault(n, 0, path, emptyMsg)
			return nil, false
		}
		out := make([]string, 0, len(n.items))
		for i, it := range n.items {
			if it.kind != jString {
				ps.fault(it, 0, indexPath(path, i), msgSyntax)
				return nil, false
			}
			out = append(out, it.str)
		}
		return out, true
	}
	ps.fault(n, 0, path, msgSyntax)
	return nil, false
}

func (ps *parser) actions(n *jnode, path string) []string {
	list, ok := ps.strings(n, path, msgNoActions)
	if !ok {
		return nil
	}
	for i, a := range list {
		p := path
		if n.kind == jArray {
			p = indexPath(path, i)
		}
		if a == "*" {
			continue
		}
		vendor, _, found := strings.Cut(a, ":")
		if !found || vendor == "" {
			ps.fault(itemNode(n, i), 0, p, msgVendor)
			continue
		}
		if ps.kind == KindTrust && !strings.EqualFold(vendor, "sts") {
			ps.fault(itemNode(n, i), 0, p, msgTrustActions)
		}
	}
	return list
}

func itemNode(n *jnode, i int) *jnode {
	if n.kind == jArray && i < len(n.items) {
		return n.items[i]
	}
	return n
}

// partitions are the partitions a resource ARN may name.
var partitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

func (ps *parser) resources(n *jnode, path string) []string {
	list, ok := ps.strings(n, path, msgNoResources)
	if !ok {
		return nil
	}
	for i, r := range list {
		p := path
		if n.kind == jArray {
			p = indexPath(path, i)
		}
		if msg := checkResource(r); msg != "" {
			ps.fault(itemNode(n, i), 0, p, msg)
		}
	}
	return list
}

// checkResource returns IAM's message for a resource that is not "*" or an ARN.
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	if !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5 {
		return fmt.Sprintf(msgResourceARN, r)
	}
	part := strings.SplitN(r, ":", 3)[1]
	if !partitions[part] && !strings.ContainsAny(part, "*?$") {
		return fmt.Sprintf(msgPartition, part, r)
	}
	return ""
}

func (ps *parser) principals(n *jnode, path string) *Principals {
	p := &Principals{}
	if n.kind == jString {
		if n.str == "*" {
			p.All = true
			return p
		}
		ps.fault(n, 0, path, fmt.Sprintf(msgPrincipal, quoteJSON(n.str)))
		return nil
	}
	if n.kind != jObject || len(n.fields) == 0 {
		ps.fault(n, 0, path, msgSyntax)
		return nil
	}
	for _, f := range n.fields {
		fpath := jsonPath(path, f.key)
		list, ok := ps.strings(f.val, fpath, msgSyntax)
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
			ps.fault(nil, f.off, fpath, fmt.Sprintf(msgPrincipal, quoteJSON(f.key)+":"+quoteJSON(list[0])))
			continue
		}
		for i, v := range list {
			if !check(v) {
				ps.fault(itemNode(f.val, i), 0, fpath, fmt.Sprintf(msgPrincipal, quoteJSON(f.key)+":"+quoteJSON(v)))
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
		ps.fault(n, 0, path, msgSyntax)
		return nil
	}
	var out []Condition
	for _, op := range n.fields {
		opPath := jsonPath(path, op.key)
		if _, ok := parseOperator(op.key); !ok {
			ps.fault(nil, op.off, opPath, fmt.Sprintf(msgConditionType, op.key))
			continue
		}
		if op.val.kind != jObject || len(op.val.fields) == 0 {
			ps.fault(op.val, 0, opPath, msgSyntax)
			continue
		}
		for _, k := range op.val.fields {
			kPath := jsonPath(opPath, k.key)
			vendor, name, found := strings.Cut(k.key, ":")
			if !found || vendor == "" || name == "" {
				ps.fault(nil, k.off, kPath, msgVendor)
				continue
			}
			vals, ok := ps.conditionValues(k.val, kPath)
			if !ok {
				continue
			}
			out = append(out, Condition{Operator: op.key, Key: k.key, Values: vals})
		}
	}
	return out
}

// conditionValues reads a scalar or a non-empty list of scalars (strings,
// numbers and booleans, kept as their text).
func (ps *parser) conditionValues(n *jnode, path string) ([]string, bool) {
	scalar := func(v *jnode) bool { return v.kind == jString || v.kind == jNumber || v.kind == jBool }
	if scalar(n) {
		return []string{n.str}, true
	}
	if n.kind != jArray || len(n.items) == 0 {
		ps.fault(n, 0, path, msgSyntax)
		return nil, false
	}
	out := make([]string, 0, len(n.items))
	for i, it := range n.items {
		if !scalar(it) {
			ps.fault(it, 0, indexPath(path, i), msgSyntax)
			return nil, false
		}
		out = append(out, it.str)
	}
	return out, true
}
