package policy

// A reference evaluator written straight from AWS's documented rules: slow,
// obvious, no compilation. It reads the parsed statements (the AST), builds
// the request context as a map of strings, turns every wildcard pattern into
// a regular expression on the spot, and follows the evaluation-logic flow
// chart step by step. The differential tests assert that the compiled engine
// decides exactly as this does.

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// refMatch names a statement that took part in a decision.
type refMatch struct {
	layer     Layer
	policy    *Policy
	statement int
}

func (m refMatch) String() string {
	return fmt.Sprintf("%s/%s/%d", m.layer, m.policy.Name(), m.statement)
}

type refDecision struct {
	result  Result
	reason  Reason
	matches []string // refMatch strings, sorted
}

// refContext is the request context: lower-cased key → values as text.
type refContext map[string][]string

func refBuildContext(r *Request) refContext {
	ctx := refContext{}
	add := func(k string, v ...string) { ctx[strings.ToLower(k)] = v }
	p := r.Principal
	isIAM := p.Type == PrincipalRoot || p.Type == PrincipalUser || p.Type == PrincipalAssumedRole || p.Type == PrincipalFederatedUser
	// aws:PrincipalArn: for a role session, the role's ARN.
	if isIAM {
		arn := p.ARN
		if p.Type == PrincipalAssumedRole && p.RoleARN != "" {
			arn = p.RoleARN
		}
		if arn != "" {
			add("aws:PrincipalArn", arn)
		}
	}
	if p.Account != "" {
		add("aws:PrincipalAccount", p.Account)
	}
	switch p.Type {
	case PrincipalRoot:
		add("aws:PrincipalType", "Account")
	case PrincipalUser:
		add("aws:PrincipalType", "User")
	case PrincipalAssumedRole:
		add("aws:PrincipalType", "AssumedRole")
	case PrincipalFederatedUser:
		add("aws:PrincipalType", "FederatedUser")
	case PrincipalAnonymous:
		add("aws:PrincipalType", "Anonymous")
	}
	if p.UserID != "" {
		add("aws:userid", p.UserID)
	}
	if p.Type == PrincipalUser && p.Username != "" {
		add("aws:username", p.Username)
	}
	// Tags: the first of several tags whose keys differ only in case wins.
	addTags := func(prefix string, tags []Tag) {
		for i := len(tags) - 1; i >= 0; i-- {
			add(prefix+tags[i].Key, tags[i].Value)
		}
	}
	addTags("aws:PrincipalTag/", p.Tags)
	if p.Type == PrincipalService {
		add("aws:PrincipalIsAWSService", "true")
		if p.ARN != "" {
			add("aws:PrincipalServiceName", p.ARN)
		}
	} else {
		add("aws:PrincipalIsAWSService", "false")
	}
	c := r.Context
	if !c.CurrentTime.IsZero() {
		add("aws:CurrentTime", c.CurrentTime.UTC().Format(time.RFC3339Nano))
		add("aws:EpochTime", strconv.FormatInt(c.CurrentTime.Unix(), 10))
	}
	if c.SourceIP.IsValid() {
		add("aws:SourceIp", c.SourceIP.String())
	}
	boolText := map[Bool]string{BoolTrue: "true", BoolFalse: "false"}
	if c.SecureTransport != BoolUnset {
		add("aws:SecureTransport", boolText[c.SecureTransport])
	}
	if c.MultiFactorAuthPresent != BoolUnset {
		add("aws:MultiFactorAuthPresent", boolText[c.MultiFactorAuthPresent])
	}
	if !c.MultiFactorAuthTime.IsZero() && !c.CurrentTime.IsZero() {
		add("aws:MultiFactorAuthAge", strconv.FormatInt(int64(c.CurrentTime.Sub(c.MultiFactorAuthTime)/time.Second), 10))
	}
	if !c.TokenIssueTime.IsZero() {
		add("aws:TokenIssueTime", c.TokenIssueTime.UTC().Format(time.RFC3339Nano))
	}
	if c.RequestedRegion != "" {
		add("aws:RequestedRegion", c.RequestedRegion)
	}
	if c.SourceIdentity != "" {
		add("aws:SourceIdentity", c.SourceIdentity)
	}
	addTags("aws:RequestTag/", c.RequestTags)
	if len(c.RequestTags) > 0 {
		var keys []string
		for _, t := range c.RequestTags {
			keys = append(keys, t.Key)
		}
		add("aws:TagKeys", keys...)
	}
	addTags("aws:ResourceTag/", r.Resource.Tags)
	if r.Resource.Account != "" {
		add("aws:ResourceAccount", r.Resource.Account)
	} else if p.Account != "" {
		add("aws:ResourceAccount", p.Account)
	}
	// Explicit keys override everything (the first of duplicates wins).
	for i := len(c.Keys) - 1; i >= 0; i-- {
		if len(c.Keys[i].Values) == 0 {
			delete(ctx, strings.ToLower(c.Keys[i].Name))
		} else {
			add(c.Keys[i].Name, c.Keys[i].Values...)
		}
	}
	return ctx
}

// refPiece is literal text or a policy variable of a value as written.
type refPiece struct {
	text   string
	isVar  bool
	key    string
	def    string
	hasDef bool
	escape bool // ${*} ${?} ${$}: literal, never a wildcard
}

var refVarSyntax = regexp.MustCompile(`^\s*([^\s,'$]+)\s*(,\s*'(.*)'\s*)?$`)

// refPieces splits s at its policy variables (2012-10-17 only).
func refPieces(s string, vars bool) []refPiece {
	if !vars {
		return []refPiece{{text: s}}
	}
	var out []refPiece
	lit := ""
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "${") {
			if end := strings.Index(s[i:], "}"); end >= 0 {
				content := s[i+2 : i+end]
				if content == "*" || content == "?" || content == "$" {
					out = append(out, refPiece{text: lit}, refPiece{text: content, escape: true})
					lit = ""
					i += end
					continue
				}
				if m := refVarSyntax.FindStringSubmatch(content); m != nil {
					vendor, name, ok := strings.Cut(m[1], ":")
					if ok && vendor != "" && name != "" {
						out = append(out, refPiece{text: lit}, refPiece{isVar: true, key: m[1], def: m[3], hasDef: m[2] != ""})
						lit = ""
						i += end
						continue
					}
				}
			}
		}
		lit += s[i : i+1]
	}
	return append(out, refPiece{text: lit})
}

// resolve gives the variable's value, if it has exactly one.
func (ctx refContext) resolve(p refPiece) (string, bool) {
	v := ctx[strings.ToLower(p.key)]
	switch {
	case len(v) == 1:
		return v[0], true
	case len(v) == 0 && p.hasDef:
		return p.def, true
	}
	return "", false
}

// expand substitutes the variables of s as plain text.
func (ctx refContext) expand(s string, vars bool) (string, bool) {
	var b strings.Builder
	for _, p := range refPieces(s, vars) {
		if !p.isVar {
			b.WriteString(p.text)
			continue
		}
		v, ok := ctx.resolve(p)
		if !ok {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// refRegexp turns a pattern as written into a regular expression. In ARN
// mode (Resource and Arn* operators), a '*' that is the last character of an
// ARN segment (followed by ':' or the end, as written) may span colons; any
// other '*', and '?', stays within the segment. Elsewhere '*' and '?' match
// anything. Variable values and ${*} ${?} ${$} are literal.
func (ctx refContext) refRegexp(s string, vars, arn bool) (*regexp.Regexp, bool) {
	pieces := refPieces(s, vars)
	var b strings.Builder
	b.WriteString(`^`)
	for pi, p := range pieces {
		if p.isVar || p.escape {
			v := p.text
			if p.isVar {
				var ok bool
				if v, ok = ctx.resolve(p); !ok {
					return nil, false
				}
			}
			b.WriteString(regexp.QuoteMeta(v))
			continue
		}
		for i := 0; i < len(p.text); i++ {
			switch c := p.text[i]; c {
			case '*':
				// What follows the run of stars, as written?
				j := i
				for j < len(p.text) && p.text[j] == '*' {
					j++
				}
				endOfSegment := false
				if j < len(p.text) {
					endOfSegment = p.text[j] == ':'
				} else {
					endOfSegment = true
					for _, later := range pieces[pi+1:] {
						if later.isVar || later.escape || later.text != "" {
							endOfSegment = false // a variable is not a colon
							break
						}
					}
				}
				if !arn || endOfSegment {
					b.WriteString(`.*`)
				} else {
					b.WriteString(`[^:]*`)
				}
				i = j - 1
			case '?':
				if arn {
					b.WriteString(`[^:]`)
				} else {
					b.WriteString(`.`)
				}
			default:
				b.WriteString(regexp.QuoteMeta(p.text[i : i+1]))
			}
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile("(?s)" + b.String()), true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// refActionMatches: actions are case-insensitive; '*' and '?' match anything.
func refActionMatches(patterns []string, action string) bool {
	for _, p := range patterns {
		re, _ := refContext{}.refRegexp(asciiLower(p), false, false)
		if re.MatchString(asciiLower(action)) {
			return true
		}
	}
	return false
}

// refVariablesResolve reports whether every variable of the statement's
// Resource, NotResource and Condition values has a value.
func refVariablesResolve(s *Statement, ctx refContext, vars bool) bool {
	var all []string
	all = append(all, s.Resource...)
	all = append(all, s.NotResource...)
	for _, c := range s.Condition {
		all = append(all, c.Values...)
	}
	for _, v := range all {
		for _, p := range refPieces(v, vars) {
			if p.isVar {
				if _, ok := ctx.resolve(p); !ok {
					return false
				}
			}
		}
	}
	return true
}

// refIdentities lists what a Principal element may name the caller by, with
// how directly each names it.
func refIdentities(p *Principal) map[string]principalMatch {
	ids := map[string]principalMatch{}
	switch p.Type {
	case PrincipalRoot:
		ids["AWS:"+p.Account] = pmDirect
		ids["AWS:arn:aws:iam::"+p.Account+":root"] = pmDirect
		ids["AWS:"+p.ARN] = pmDirect
	case PrincipalUser, PrincipalFederatedUser:
		ids["AWS:"+p.Account] = pmAccount
		ids["AWS:arn:aws:iam::"+p.Account+":root"] = pmAccount
		if p.Type == PrincipalUser && p.UserID != "" {
			ids["AWS:"+p.UserID] = pmDirect
		}
		ids["AWS:"+p.ARN] = pmDirect
	case PrincipalAssumedRole:
		ids["AWS:"+p.Account] = pmAccount
		ids["AWS:arn:aws:iam::"+p.Account+":root"] = pmAccount
		if p.RoleARN != "" {
			ids["AWS:"+p.RoleARN] = pmRole
		}
		if p.UserID != "" {
			id, _, _ := strings.Cut(p.UserID, ":")
			ids["AWS:"+id] = pmRole
		}
		ids["AWS:"+p.ARN] = pmDirect
	case PrincipalService:
		ids["Service:"+p.ARN] = pmDirect
	case PrincipalFederated:
		ids["Federated:"+p.ARN] = pmDirect
	case PrincipalCanonicalUser:
		ids["CanonicalUser:"+p.ARN] = pmDirect
	}
	for k := range ids {
		if strings.HasSuffix(k, ":") || k == "AWS::" {
			delete(ids, k) // an empty ARN or account names nobody
		}
	}
	return ids
}

func refEntries(ps *Principals) []string {
	var out []string
	for _, v := range ps.AWS {
		out = append(out, "AWS:"+v)
	}
	for _, v := range ps.Service {
		out = append(out, "Service:"+v)
	}
	for _, v := range ps.Federated {
		out = append(out, "Federated:"+v)
	}
	for _, v := range ps.CanonicalUser {
		out = append(out, "CanonicalUser:"+v)
	}
	return out
}

func refEveryone(ps *Principals) bool {
	if ps.All {
		return true
	}
	for _, v := range ps.AWS {
		if v == "*" {
			return true
		}
	}
	return false
}

// refPrincipalMatch: the strongest way any entry names any identity.
func refPrincipalMatch(ps *Principals, p *Principal) principalMatch {
	if refEveryone(ps) {
		return pmDirect
	}
	ids := refIdentities(p)
	best := pmNone
	for _, e := range refEntries(ps) {
		if m, ok := ids[e]; ok && m > best {
			best = m
		}
	}
	return best
}

// refNotPrincipalApplies: NotPrincipal excludes the caller only when every
// level of its identity is listed (account, role, session; account, user).
func refNotPrincipalApplies(ps *Principals, p *Principal) bool {
	if refEveryone(ps) {
		return false
	}
	if p.Type == PrincipalAnonymous {
		return true
	}
	listed := map[string]bool{}
	for _, e := range refEntries(ps) {
		listed[e] = true
	}
	levels := map[string][]string{} // level → the names that identify it
	switch p.Type {
	case PrincipalRoot:
		levels["account"] = []string{"AWS:" + p.Account, "AWS:arn:aws:iam::" + p.Account + ":root"}
	case PrincipalUser:
		levels["account"] = []string{"AWS:" + p.Account, "AWS:arn:aws:iam::" + p.Account + ":root"}
		levels["user"] = []string{"AWS:" + p.ARN, "AWS:" + p.UserID}
	case PrincipalFederatedUser:
		levels["account"] = []string{"AWS:" + p.Account, "AWS:arn:aws:iam::" + p.Account + ":root"}
		levels["user"] = []string{"AWS:" + p.ARN}
	case PrincipalAssumedRole:
		id, _, _ := strings.Cut(p.UserID, ":")
		levels["account"] = []string{"AWS:" + p.Account, "AWS:arn:aws:iam::" + p.Account + ":root"}
		levels["role"] = []string{"AWS:" + p.RoleARN, "AWS:" + id}
		levels["session"] = []string{"AWS:" + p.ARN}
	case PrincipalService:
		levels["service"] = []string{"Service:" + p.ARN}
	case PrincipalFederated:
		levels["provider"] = []string{"Federated:" + p.ARN}
	case PrincipalCanonicalUser:
		levels["user"] = []string{"CanonicalUser:" + p.ARN}
	}
	for _, names := range levels {
		named := false
		for _, n := range names {
			if !strings.HasSuffix(n, ":") && n != "AWS:arn:aws:iam:::root" && listed[n] {
				named = true
			}
		}
		if !named {
			return true
		}
	}
	return false
}

// refCondition evaluates one condition as AWS documents it.
func refCondition(c Condition, ctx refContext, vars bool) bool {
	name := c.Operator
	set := ""
	for _, q := range []string{"ForAllValues:", "ForAnyValue:"} {
		if strings.HasPrefix(name, q) {
			set, name = q, strings.TrimPrefix(name, q)
		}
	}
	ifExists := false
	if _, known := operators[name]; !known && strings.HasSuffix(name, "IfExists") {
		ifExists, name = true, strings.TrimSuffix(name, "IfExists")
	}
	reqValues, present := ctx[strings.ToLower(c.Key)]
	present = present && len(reqValues) > 0

	if name == "Null" {
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") && !present || strings.EqualFold(v, "false") && present {
				return true
			}
		}
		return false
	}
	negated := map[string]bool{"StringNotEquals": true, "StringNotEqualsIgnoreCase": true, "StringNotLike": true,
		"NumericNotEquals": true, "DateNotEquals": true, "NotIpAddress": true, "ArnNotEquals": true, "ArnNotLike": true}[name]
	if !present {
		switch {
		case ifExists:
			return true // …IfExists: a missing key is true
		case set == "ForAllValues:":
			return true // every value of the empty set matches
		case set == "ForAnyValue:":
			return false // no value of the empty set matches
		}
		return negated // negated operators are true for a missing key
	}
	// matchesOne: does the request value match any policy value (positive form)?
	matchesOne := func(rv string) bool {
		for _, pv := range c.Values {
			if refOperatorMatch(name, rv, pv, ctx, vars) {
				return true
			}
		}
		return false
	}
	switch set {
	case "ForAllValues:":
		for _, rv := range reqValues {
			if matchesOne(rv) == negated {
				return false
			}
		}
		return true
	case "ForAnyValue:":
		for _, rv := range reqValues {
			if matchesOne(rv) != negated {
				return true
			}
		}
		return false
	}
	any := false
	for _, rv := range reqValues {
		if matchesOne(rv) {
			any = true
		}
	}
	return any != negated
}

// refRelation applies the relation that an ordered operator's name ends with to c,
// the result of comparing the request's value with the policy's (-1, 0, +1); Equals
// and NotEquals alike test equality (the caller negates).
func refRelation(name string, c int) bool {
	switch {
	case strings.HasSuffix(name, "LessThan"):
		return c < 0
	case strings.HasSuffix(name, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(name, "GreaterThan"):
		return c > 0
	case strings.HasSuffix(name, "GreaterThanEquals"):
		return c >= 0
	}
	return c == 0
}

func refNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func refBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// refOperatorMatch compares one request value with one policy value under the
// positive form of the operator.
func refOperatorMatch(name, rv, pv string, ctx refContext, vars bool) bool {
	switch name {
	case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals":
		re, ok := ctx.refRegexp(pv, vars, strings.HasPrefix(name, "Arn"))
		return ok && re.MatchString(rv)
	}
	pv, ok := ctx.expand(pv, vars)
	if !ok {
		return false
	}
	switch name {
	case "StringEquals", "StringNotEquals":
		return rv == pv
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(rv, pv)
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, ok1 := refNumber(rv)
		b, ok2 := refNumber(pv)
		// NaN is neither less than, equal to nor greater than anything.
		return ok1 && ok2 && !math.IsNaN(a) && !math.IsNaN(b) && refRelation(name, cmp.Compare(a, b))
	case "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := parseDate(rv)
		b, ok2 := parseDate(pv)
		return ok1 && ok2 && refRelation(name, a.Compare(b))
	case "Bool":
		a, ok1 := refBool(rv)
		b, ok2 := refBool(pv)
		return ok1 && ok2 && a == b
	case "BinaryEquals":
		return refBase64Equal(rv, pv)
	case "IpAddress", "NotIpAddress":
		ip := net.ParseIP(rv)
		if ip == nil {
			return false
		}
		if !strings.Contains(pv, "/") {
			other := net.ParseIP(pv)
			return other != nil && other.Equal(ip)
		}
		_, block, err := net.ParseCIDR(pv)
		return err == nil && block.Contains(ip)
	}
	panic("reference: unknown operator " + name)
}

// refStatementApplies follows the documented matching of one statement.
// refStatementApplies; boundary says the caller has a permissions boundary.
func refStatementApplies(s *Statement, r *Request, ctx refContext, vars, boundary bool) (bool, principalMatch) {
	if s.Action != nil && !refActionMatches(s.Action, r.Action) {
		return false, pmNone
	}
	if s.NotAction != nil && refActionMatches(s.NotAction, r.Action) {
		return false, pmNone
	}
	if !refVariablesResolve(s, ctx, vars) {
		return false, pmNone
	}
	resource := r.Resource.ARN
	if resource == "" {
		resource = "*"
	}
	resMatches := func(list []string) bool {
		for _, p := range list {
			if re, ok := ctx.refRegexp(p, vars, true); ok && re.MatchString(resource) {
				return true
			}
		}
		return false
	}
	if s.Resource != nil && !resMatches(s.Resource) {
		return false, pmNone
	}
	if s.NotResource != nil && resMatches(s.NotResource) {
		return false, pmNone
	}
	pm := pmDirect
	if s.Principal != nil {
		if pm = refPrincipalMatch(s.Principal, &r.Principal); pm == pmNone {
			return false, pmNone
		}
	}
	if s.NotPrincipal != nil {
		// AWS: NotPrincipal must be used with Deny; with Allow it is not
		// supported, so it grants nothing. A Deny with NotPrincipal always
		// denies an IAM principal that has a permissions boundary.
		if s.Effect == Allow {
			return false, pmNone
		}
		iamCaller := r.Principal.Type >= PrincipalRoot && r.Principal.Type <= PrincipalFederatedUser
		if !(boundary && iamCaller) && !refNotPrincipalApplies(s.NotPrincipal, &r.Principal) {
			return false, pmNone
		}
	}
	for _, c := range s.Condition {
		if !refCondition(c, ctx, vars) {
			return false, pmNone
		}
	}
	return true, pm
}

type refHit struct {
	m      refMatch
	effect Effect
	pm     principalMatch
}

// refDecide follows AWS's policy evaluation logic.
func refDecide(set *Set, r *Request) refDecision {
	ctx := refBuildContext(r)
	var hits []refHit
	eval := func(layer Layer, p *Policy) (allow bool) {
		for i := range p.Statements() {
			s := &p.Statements()[i]
			if layer == LayerResource && s.Principal == nil && s.NotPrincipal == nil {
				continue // a resource policy's statement must name whom it is for
			}
			ok, pm := refStatementApplies(s, r, ctx, p.Version() == Version2012, set.Boundary != nil)
			if !ok {
				continue
			}
			hits = append(hits, refHit{refMatch{layer, p, i}, s.Effect, pm})
			if s.Effect == Allow {
				allow = true
			}
		}
		return allow
	}
	scpOK := true
	for _, level := range set.SCP {
		levelAllows := false
		for _, p := range level {
			if eval(LayerSCP, p) {
				levelAllows = true
			}
		}
		if !levelAllows {
			scpOK = false
		}
	}
	identity := false
	for _, p := range set.Identity {
		if eval(LayerIdentity, p) {
			identity = true
		}
	}
	boundary := set.Boundary == nil || eval(LayerBoundary, set.Boundary)
	session := false
	for _, p := range set.Session {
		if eval(LayerSession, p) {
			session = true
		}
	}
	for _, p := range set.Resource {
		eval(LayerResource, p)
	}
	resourceBest := pmNone
	denied := false
	for _, h := range hits {
		if h.effect == Deny {
			denied = true
		} else if h.m.layer == LayerResource && h.pm > resourceBest {
			resourceBest = h.pm
		}
	}

	p := r.Principal
	isIAM := p.Type == PrincipalRoot || p.Type == PrincipalUser || p.Type == PrincipalAssumedRole || p.Type == PrincipalFederatedUser
	crossAccount := r.Resource.Account != "" && r.Resource.Account != p.Account
	// Role trust policies must allow even within the account.
	trust := false
	for _, rp := range set.Resource {
		if rp.Kind() == KindTrust {
			trust = true
		}
	}
	// Resource policies AWS requires: a role's trust policy to assume it, a
	// KMS key's key policy to use it.
	action, res := asciiLower(r.Action), r.Resource.ARN
	keyPolicy := strings.HasPrefix(action, "kms:") && strings.Contains(res, ":key/")
	for _, a := range []string{"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession", "sts:setsourceidentity"} {
		if action == a && strings.Contains(res, ":role/") {
			trust = true
		}
	}
	var d refDecision
	keep := func(f func(h refHit) bool) {
		for _, h := range hits {
			if f(h) {
				d.matches = append(d.matches, h.m.String())
			}
		}
		sort.Strings(d.matches)
	}
	switch {
	// 1. An explicit deny in any policy wins.
	case denied:
		d.result, d.reason = ExplicitlyDenied, ReasonExplicitDeny
		keep(func(h refHit) bool { return h.effect == Deny })
	// 2. Every level of SCPs must allow.
	case !scpOK:
		d.result, d.reason = ImplicitlyDenied, ReasonNoSCPAllow
	// Callers that are not IAM identities (services, web identities,
	// anonymous): only a resource-based policy can allow.
	case !isIAM:
		if resourceBest != pmNone {
			d.result, d.reason = Allowed, ReasonResourcePolicy
			keep(func(h refHit) bool { return h.m.layer == LayerResource })
		} else {
			d.result, d.reason = ImplicitlyDenied, ReasonNoResourceAllow
		}
	// 3. Same account: a resource policy that names the user or the session
	// itself allows on its own; a trust policy so, but the caller's
	// permissions boundary must still allow.
	case trust && !crossAccount && resourceBest == pmDirect && !boundary:
		d.result, d.reason = ImplicitlyDenied, ReasonNoBoundaryAllow
	case !crossAccount && resourceBest == pmDirect:
		d.result, d.reason = Allowed, ReasonResourcePolicy
		keep(func(h refHit) bool { return h.m.layer == LayerResource && h.pm == pmDirect })
	// Across accounts (and always for a trust policy) the resource policy
	// must allow…
	case (crossAccount || trust || keyPolicy) && resourceBest == pmNone:
		d.result, d.reason = ImplicitlyDenied, ReasonNoResourceAllow
	// 4. …and so must the identity side: identity policies (or, in the same
	// account, a resource policy naming the role; the root user needs none)…
	case !(identity || p.Type == PrincipalRoot || !crossAccount && resourceBest == pmRole):
		d.result, d.reason = ImplicitlyDenied, ReasonNoIdentityAllow
	// 5. …the permissions boundary…
	case !boundary:
		d.result, d.reason = ImplicitlyDenied, ReasonNoBoundaryAllow
	// 6. …and the session policies; a federated user needs one.
	case p.Type == PrincipalFederatedUser && len(set.Session) == 0:
		d.result, d.reason = ImplicitlyDenied, ReasonFederatedNoSessionPolicy
	case len(set.Session) > 0 && !session:
		d.result, d.reason = ImplicitlyDenied, ReasonNoSessionAllow
	default:
		d.result, d.reason = Allowed, ReasonAllowed
		if p.Type == PrincipalRoot && !identity && resourceBest != pmRole {
			d.reason = ReasonRoot
		}
		keep(func(h refHit) bool {
			if h.effect != Allow {
				return false
			}
			if h.m.layer == LayerResource {
				return crossAccount || h.pm == pmRole
			}
			return true
		})
	}
	// AWS managed policies and service-linked roles: AWS refuses their
	// changes whatever the policies allow.
	if d.result == Allowed && refAWSOwned(action, res) {
		d = refDecision{result: ImplicitlyDenied, reason: ReasonAWSOwned}
	}
	return d
}

// refAWSOwned: the IAM actions AWS refuses to customers on its own managed
// policies and on service-linked roles.
func refAWSOwned(action, resource string) bool {
	managed := regexp.MustCompile(`^arn:[^:]+:iam::aws:policy/`)
	slr := regexp.MustCompile(`^arn:[^:]+:iam::[^:]*:role/aws-service-role/`)
	switch {
	case managed.MatchString(resource):
		return slices.Contains([]string{"iam:deletepolicy", "iam:createpolicyversion", "iam:setdefaultpolicyversion",
			"iam:deletepolicyversion", "iam:tagpolicy", "iam:untagpolicy"}, action)
	case slr.MatchString(resource):
		return slices.Contains([]string{"iam:deleterole", "iam:updateassumerolepolicy", "iam:putrolepolicy", "iam:deleterolepolicy",
			"iam:attachrolepolicy", "iam:detachrolepolicy", "iam:putrolepermissionsboundary", "iam:deleterolepermissionsboundary"}, action)
	}
	return false
}
