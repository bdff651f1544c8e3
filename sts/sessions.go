package sts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
)

// Packing budgets. AWS packs a session's policies and tags into a binary form with
// limits of its own and reports the use in percent (PackedPolicySize). The core counts
// characters instead: the compact text of the inline session policy plus the managed
// policy ARNs against policyBudget, the tags' keys and values against tagBudget, so
// that a session token stays a few KiB.
const (
	policyBudget   = 2048
	tagBudget      = 2048
	maxPolicyARNs  = 10
	maxSessionTags = 50
)

// credentials is a minted session's Credentials element.
type credentials struct {
	akid, secret, token string
	expiry              time.Time
}

func (cr *credentials) marshal(w *query.XMLWriter) {
	w.Start("Credentials")
	w.String("AccessKeyId", cr.akid)
	w.String("SecretAccessKey", cr.secret)
	w.String("SessionToken", cr.token)
	w.Time("Expiration", cr.expiry)
	w.End("Credentials")
}

// mint makes the session's access key id, seals its claims into the token and derives
// its secret.
func (c *Core) mint(cl *session.Claims) (credentials, error) {
	akid, err := account.NewAccessKeyID(account.PrefixSessionKey, cl.AccountID, c.rand)
	if err != nil {
		return credentials{}, fmt.Errorf("making a session key id: %w", err)
	}
	cl.AccessKeyID = akid
	token, secret, err := c.sealer.Load().Seal(cl)
	if err != nil {
		return credentials{}, fmt.Errorf("sealing a session: %w", err)
	}
	return credentials{akid: akid, secret: secret, token: token, expiry: cl.Expiry}, nil
}

// mintUserSession mints a session that is an IAM user (or root) itself, as
// GetSessionToken's and a console sign-in's are: principal, identity and caller
// are the user's ARN, issued at now to the second, for dur.
func (c *Core) mintUserSession(kind session.Kind, arn, userID string, now time.Time, dur time.Duration, mfaTime time.Time) (credentials, error) {
	issued := now.UTC().Truncate(time.Second)
	return c.mint(&session.Claims{
		Kind: kind, AccountID: c.st.AccountID(),
		PrincipalARN: arn, IdentityARN: arn, UniqueID: userID,
		IssuedAt: issued, Expiry: issued.Add(dur), MFAAuthTime: mfaTime, CallerARN: arn,
	})
}

// sessionUser is a session's identity element (AssumedRoleUser, FederatedUser) with
// the PackedPolicySize that follows it.
type sessionUser struct {
	id, arn   string
	packed    int
	hasPacked bool // session policies or tags were passed
}

// marshal writes the identity as element, its id under idName.
func (u sessionUser) marshal(w *query.XMLWriter, element, idName string) {
	w.Start(element)
	w.String(idName, u.id)
	w.String("Arn", u.arn)
	w.End(element)
	if u.hasPacked {
		w.Int("PackedPolicySize", int64(u.packed))
	}
}

// roleSession is the session an AssumeRole… call issues: role's, named name, issued at
// issued (to the second) for dur, with the session policies and tags of in.
type roleSession struct {
	role           *account.Role
	name           string
	issued         time.Time
	dur            time.Duration
	in             *sessionInput
	sourceIdentity string
	callerARN      string    // who asked: the caller, or the identity provider
	mfaTime        time.Time // AssumeRole with MFA
	chained        bool      // AssumeRole by a role session
}

// issueRoleSession mints s, records the role's use and returns the result that every
// AssumeRole… call answers with (callers add their own parts).
func (c *Core) issueRoleSession(call *Call, s roleSession) (*assumeRoleResult, error) {
	acct := c.st.AccountID()
	claims := &session.Claims{
		Kind: session.KindAssumedRole, AccountID: acct,
		PrincipalARN: account.AssumedRoleARN(acct, s.role.Name, s.name), IdentityARN: s.role.ARN,
		UniqueID: s.role.ID + ":" + s.name, IssuedAt: s.issued, Expiry: s.issued.Add(s.dur),
		SessionPolicy: s.in.policy, PolicyARNs: s.in.policyARNs, Tags: s.in.tags, TransitiveTagKeys: s.in.transitive,
		SourceIdentity: s.sourceIdentity, MFAAuthTime: s.mfaTime, RoleChained: s.chained, CallerARN: s.callerARN,
	}
	creds, err := c.mint(claims)
	if err != nil {
		return nil, err
	}
	c.st.RecordRoleUse(s.role.ID, call.Region, s.issued)
	res := &assumeRoleResult{creds: creds, user: sessionUser{id: claims.UniqueID, arn: claims.PrincipalARN}, sourceIdentity: s.sourceIdentity}
	res.user.packed, res.user.hasPacked = s.in.packed()
	return res, nil
}

// sessionInput is what AssumeRole*, GetFederationToken and GetSessionToken read
// besides their own parameters.
type sessionInput struct {
	policy      string   // compact inline session policy
	policyARNs  []string // managed session policies
	tags        []session.Tag
	transitive  []string
	hasPolicies bool // Policy or PolicyArns passed
	policyPct   int
	tagPct      int
}

// packed returns PackedPolicySize and whether to report it (AWS reports it when
// session policies or tags were passed).
func (in *sessionInput) packed() (int, bool) {
	if !in.hasPolicies && len(in.tags) == 0 {
		return 0, false
	}
	return max(in.policyPct, in.tagPct), true
}

// readSessionPolicies reads Policy and PolicyArns: the document is checked by the
// policy engine (MalformedPolicyDocument), each ARN must name a managed policy that
// exists, and the whole must fit the packing budget (PackedPolicyTooLarge).
func (c *Core) readSessionPolicies(ctx context.Context, p query.Params, in *sessionInput) error {
	doc, hasDoc := p.Lookup("Policy")
	arns := p.List("PolicyArns")
	in.hasPolicies = hasDoc || len(arns) > 0
	if len(arns) > maxPolicyARNs {
		var v account.Violations
		v.Add("policyArns", fmt.Sprintf("[%d items]", len(arns)), fmt.Sprintf("Member must have length less than or equal to %d", maxPolicyARNs))
		return v.Err()
	}
	size := 0
	if hasDoc {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(doc)); err != nil {
			return query.NewError(query.CodeMalformedPolicyDocument, "Syntax errors in policy.")
		}
		in.policy = buf.String()
		size += len(in.policy)
	}
	for _, a := range arns {
		arn := a.String("arn")
		if err := account.ValidatePolicyARN(arn); err != nil {
			return query.NewError(query.CodeInvalidParameterValue, fmt.Sprintf("Policy ARN %s is not valid.", shorten(arn)))
		}
		in.policyARNs = append(in.policyARNs, arn)
		size += len(arn)
	}
	in.policyPct = percent(size, policyBudget)
	if in.policyPct > 100 {
		return query.NewError("PackedPolicyTooLarge", fmt.Sprintf("Packed policy consumes %d%% of allotted space, please use smaller policy.", in.policyPct))
	}
	if hasDoc {
		if _, err := policy.Parse([]byte(in.policy), policy.KindSession, func(o *policy.ParseOptions) { o.Name = "session policy" }); err != nil {
			return err
		}
	}
	g := c.genCache()
	for _, arn := range in.policyARNs {
		pol, err := c.managedPolicy(ctx, g, arn, policy.KindSession)
		if err != nil {
			return err
		}
		if pol == nil {
			return query.NewError(query.CodeInvalidParameterValue, fmt.Sprintf("Policy %s does not exist or is not attachable.", arn))
		}
	}
	return nil
}

// readSessionTags reads Tags and TransitiveTagKeys (already checked against the
// model) and checks them with checkSessionTags.
func readSessionTags(p query.Params, caller *session.Claims, in *sessionInput, transitiveAllowed bool) error {
	for _, t := range p.List("Tags") {
		in.tags = append(in.tags, session.Tag{Key: t.String("Key"), Value: t.String("Value")})
	}
	if transitiveAllowed {
		in.transitive = p.Strings("TransitiveTagKeys")
	}
	return checkSessionTags(caller, in)
}

// checkSessionTags checks in's tags and transitive keys as AWS does, adds the
// transitive tags a role session passes on, and checks the packing budget
// (PackedPolicyTooLarge).
func checkSessionTags(caller *session.Claims, in *sessionInput) error {
	for i, t := range in.tags {
		if len(t.Key) >= 4 && strings.EqualFold(t.Key[:4], "aws:") {
			return query.NewError(query.CodeInvalidParameterValue, "Tag keys can't start with aws:, which is reserved for AWS use.")
		}
		for _, u := range in.tags[:i] {
			if strings.EqualFold(t.Key, u.Key) {
				return query.NewError(query.CodeInvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
	}
	for _, k := range in.transitive {
		if !hasTagKey(in.tags, k) {
			return query.NewError(query.CodeInvalidParameterValue, fmt.Sprintf("The transitive tag key %s is not among the session tags.", shorten(k)))
		}
	}
	// A role session's transitive tags pass on to the sessions it makes, and stay
	// transitive; they cannot be set again.
	if caller != nil && caller.Kind == session.KindAssumedRole {
		for _, k := range caller.TransitiveTagKeys {
			if hasTagKey(in.tags, k) {
				return query.NewError(query.CodeInvalidParameterValue, fmt.Sprintf("The session tag %s is transitive from the calling session and cannot be set again.", shorten(k)))
			}
			for _, t := range caller.Tags {
				if strings.EqualFold(t.Key, k) {
					in.tags = append(in.tags, t)
					in.transitive = append(in.transitive, t.Key)
				}
			}
		}
	}
	if len(in.tags) > maxSessionTags {
		return query.NewError(query.CodeInvalidParameterValue, fmt.Sprintf("A session can have at most %d tags, transitive ones included.", maxSessionTags))
	}
	size := 0
	for _, t := range in.tags {
		size += len(t.Key) + len(t.Value)
	}
	in.tagPct = percent(size, tagBudget)
	if in.tagPct > 100 {
		return query.NewError("PackedPolicyTooLarge", fmt.Sprintf("Packed size of session tags consumes %d%% of allotted space.", in.tagPct))
	}
	return nil
}

func hasTagKey(tags []session.Tag, k string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Key, k) {
			return true
		}
	}
	return false
}

func policyTags(tags []session.Tag) []policy.Tag { return sessionTags(tags) }

func percent(n, budget int) int { return (n*100 + budget - 1) / budget }

// shorten keeps client-supplied text in messages short.
func shorten(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// readDuration returns DurationSeconds, or def when absent.
func readDuration(p query.Params, def time.Duration) time.Duration {
	if n, ok := p.Int("DurationSeconds"); ok {
		return time.Duration(n) * time.Second
	}
	return def
}
