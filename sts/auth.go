package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/signer/session"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Caller is the authenticated principal of a request.
type Caller struct {
	// ARN is the caller's ARN as GetCallerIdentity reports it: the user's, the root
	// user's, the assumed-role or federated-user session's.
	ARN string
	// Account is the caller's account id.
	Account string
	// UserID is GetCallerIdentity's UserId (aws:userid): AIDA… for a user,
	// AROA…:SESSION for a role session, ACCOUNT:NAME for a federated user, the
	// account id for root.
	UserID string
	// AccessKeyID is the key that signed the request (never a secret).
	AccessKeyID string
	// Region is the region of the request's signature scope.
	Region string
	// Principal is the caller as the policy engine sees it, tags included.
	Principal policy.Principal
	// Session is the caller's session when it signed with temporary credentials, nil
	// for a long-term access key. Read it; do not modify it.
	Session *session.Claims

	entry    *principalEntry
	sessPols []*policy.Policy
	revoked  bool // a role session issued before the role's revocation time
}

// IsRoot reports whether the caller is the account's root user (with its own keys or
// a session token of its own).
func (c *Caller) IsRoot() bool { return c.Principal.Type == policy.PrincipalRoot }

// IsUser reports whether the caller is an IAM user (long-term key or GetSessionToken
// session), not root.
func (c *Caller) IsUser() bool { return c.Principal.Type == policy.PrincipalUser }

// SessionKind returns the kind of the caller's session, "" for a long-term key.
func (c *Caller) SessionKind() session.Kind {
	if c.Session == nil {
		return ""
	}
	return c.Session.Kind
}

// principalEntry is a user or role as the authorizer needs it, compiled at one
// generation of the store.
type principalEntry struct {
	root     bool
	missing  bool // deleted since the session began: no policies
	id, name string
	arn      string
	tags     []policy.Tag
	identity []*policy.Policy
	boundary *policy.Policy
	// roles
	revokeBefore time.Time
	maxSession   time.Duration
}

// authStash carries what the key lookup found from inside Verify to the request.
type authStash struct {
	key    account.AccessKey
	claims *session.Claims
}

type stashKey struct{}

// lookupKey is the signer's KeyLookup: long-term keys from the store (through the
// generation cache), temporary keys from their sealed token, without a store read.
func (c *Core) lookupKey(ctx context.Context, akid, token string) (string, error) {
	st, _ := ctx.Value(stashKey{}).(*authStash)
	if st == nil {
		st = &authStash{}
	}
	if strings.HasPrefix(akid, account.PrefixSessionKey) {
		if token == "" {
			return "", signer.InvalidToken()
		}
		claims, secret, err := c.sealer.Load().Lookup(akid, token)
		if err != nil {
			return "", err
		}
		if claims.AccountID != c.st.AccountID() {
			return "", signer.InvalidToken()
		}
		st.claims = claims
		return secret, nil
	}
	if token != "" {
		return "", signer.InvalidToken()
	}
	k, err := c.accessKey(ctx, akid)
	if err != nil {
		return "", err
	}
	if k.Status != account.KeyActive {
		return "", signer.InvalidToken()
	}
	st.key = k
	return k.Secret, nil
}

// accessKey returns a long-term key with its secret.
func (c *Core) accessKey(ctx context.Context, akid string) (account.AccessKey, error) {
	g := c.genCache()
	if k, ok := g.keys.get(akid); ok {
		return k, nil
	}
	k, err := c.st.LookupAccessKey(ctx, akid)
	if errors.Is(err, account.ErrNoSuchEntity) {
		return account.AccessKey{}, signer.InvalidToken()
	}
	if err != nil {
		return account.AccessKey{}, fmt.Errorf("looking up access key %s: %w", akid, err)
	}
	if c.st.Generation() == g.gen {
		g.keys.put(akid, k)
	}
	return k, nil
}

// authenticate turns a verified signature into the request's Caller.
func (c *Core) authenticate(ctx context.Context, st *authStash, res signer.Result, now time.Time) (*Caller, error) {
	acct := c.st.AccountID()
	cl := &Caller{AccessKeyID: res.AccessKeyID, Region: res.Scope.Region, Account: acct}
	g := c.genCache()
	var err error
	if st.claims == nil {
		k := st.key
		if k.ID == "" {
			return nil, query.Internal(fmt.Errorf("verified key %s was not looked up", res.AccessKeyID))
		}
		c.st.RecordAccessKeyUse(k.ID, res.Scope.Service, res.Scope.Region, now)
		cl.ARN, cl.UserID = k.UserARN, k.UserID
		if cl.entry, err = c.userEntry(ctx, g, k.UserID); err != nil {
			return cl, err
		}
		c.fillUserPrincipal(cl)
		return cl, nil
	}
	s := st.claims
	cl.Session, cl.ARN, cl.UserID = s, s.PrincipalARN, s.UniqueID
	switch s.Kind {
	case session.KindAssumedRole:
		roleID, _, _ := strings.Cut(s.UniqueID, ":")
		if cl.entry, err = c.roleEntry(ctx, g, roleID); err != nil {
			return cl, err
		}
		cl.Principal = policy.Principal{Type: policy.PrincipalAssumedRole, ARN: s.PrincipalARN, RoleARN: s.IdentityARN,
			Account: acct, UserID: s.UniqueID, Tags: mergeTags(cl.entry.tags, s.Tags)}
		cl.revoked = !cl.entry.revokeBefore.IsZero() && s.IssuedAt.Before(cl.entry.revokeBefore)
	case session.KindSessionToken, session.KindConsole:
		userID := s.UniqueID
		if cl.entry, err = c.userEntry(ctx, g, userID); err != nil {
			return cl, err
		}
		c.fillUserPrincipal(cl)
	case session.KindFederatedUser:
		if cl.entry, err = c.userEntryByARN(ctx, g, s.IdentityARN); err != nil {
			return cl, err
		}
		cl.Principal = policy.Principal{Type: policy.PrincipalFederatedUser, ARN: s.PrincipalARN, Account: acct,
			UserID: s.UniqueID, Tags: sessionTags(s.Tags)}
	default:
		return cl, signer.InvalidToken()
	}
	if cl.sessPols, err = c.sessionPolicies(ctx, g, s); err != nil {
		return cl, err
	}
	return cl, nil
}

func (c *Core) fillUserPrincipal(cl *Caller) {
	e := cl.entry
	if e.root {
		cl.Principal = policy.Principal{Type: policy.PrincipalRoot, ARN: account.RootARN(cl.Account), Account: cl.Account, UserID: cl.Account}
		return
	}
	cl.Principal = policy.Principal{Type: policy.PrincipalUser, ARN: cl.ARN, Account: cl.Account, UserID: cl.UserID,
		Username: e.name, Tags: e.tags}
}

// mergeTags returns base with over laid on top (keys compared without regard to
// case), sharing base when there is nothing to lay over.
func mergeTags(base []policy.Tag, over []session.Tag) []policy.Tag {
	if len(over) == 0 {
		return base
	}
	out := make([]policy.Tag, 0, len(base)+len(over))
	for _, b := range base {
		replaced := false
		for _, o := range over {
			if strings.EqualFold(o.Key, b.Key) {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, b)
		}
	}
	return append(out, sessionTags(over)...)
}

func sessionTags(tags []session.Tag) []policy.Tag {
	return convertTags(tags, func(t session.Tag) policy.Tag { return policy.Tag(t) })
}

// EntityTags are an IAM entity's tags as the policy engine takes them (aws:PrincipalTag,
// aws:ResourceTag, aws:RequestTag); nil when there are none.
func EntityTags(tags account.Tags) []policy.Tag {
	return convertTags(tags, func(t account.Tag) policy.Tag { return policy.Tag(t) })
}

// convertTags converts each of tags with tag; nil when there are none.
func convertTags[T any](tags []T, tag func(T) policy.Tag) []policy.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]policy.Tag, len(tags))
	for i, t := range tags {
		out[i] = tag(t)
	}
	return out
}

// viewAt runs fn in a read transaction and returns the store generation it read: a
// cache entry fn builds is valid for exactly that generation.
func (c *Core) viewAt(ctx context.Context, fn func(tx *store.Tx) error) (uint64, error) {
	var gen uint64
	err := c.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if gen, err = tx.Generation(); err != nil {
			return err
		}
		return fn(tx)
	})
	return gen, err
}

// loadEntry builds the principal e for key in g, on a cache miss (callers look in
// g.principals first, so that a hit allocates nothing): fill reads it from the store
// inside one View. An entity the store does not hold is cached as missing. The entry
// is cached only if the store's generation is still g's, so a change made meanwhile
// is never hidden behind a stale entry.
func (c *Core) loadEntry(ctx context.Context, g *genCache, key, what string, e *principalEntry, fill func(*store.Tx) error) (*principalEntry, error) {
	gen, err := c.viewAt(ctx, fill)
	if errors.Is(err, account.ErrNoSuchEntity) {
		e.missing, err = true, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", what, err)
	}
	if gen == g.gen {
		g.principals.put(key, e)
	}
	return e, nil
}

// userEntry returns the user (or root, id = account id) with unique id id.
func (c *Core) userEntry(ctx context.Context, g *genCache, id string) (*principalEntry, error) {
	return entryByID(ctx, c, g, "user", id, (*store.Tx).UserByID, (*Core).fillUser)
}

// entryByID returns the principal of kind ("user", "role") with unique id id, cached
// in g as KIND/ID: on a miss read finds its record and fill fills the entry from it.
// Both are method expressions, so a hit allocates nothing.
func entryByID[T any](ctx context.Context, c *Core, g *genCache, kind, id string,
	read func(*store.Tx, string) (T, error), fill func(*Core, *store.Tx, *genCache, *principalEntry, T) error) (*principalEntry, error) {
	key := kind + "/" + id
	if e, ok := g.principals.get(key); ok {
		return e, nil
	}
	e := &principalEntry{id: id}
	return c.loadEntry(ctx, g, key, kind+" "+id, e, func(tx *store.Tx) error {
		r, err := read(tx, id)
		if err != nil {
			return err
		}
		return fill(c, tx, g, e, r)
	})
}

// userEntryByARN returns the user arn names (federated users' sessions name their user
// by ARN).
func (c *Core) userEntryByARN(ctx context.Context, g *genCache, arn string) (*principalEntry, error) {
	key := "userarn/" + arn
	if e, ok := g.principals.get(key); ok {
		return e, nil
	}
	e := &principalEntry{}
	return c.loadEntry(ctx, g, key, "user "+arn, e, func(tx *store.Tx) error {
		var u account.User
		var err error
		if arn == account.RootARN(c.st.AccountID()) {
			u, err = tx.UserByID(c.st.AccountID())
		} else {
			u, err = tx.User(arn[strings.LastIndexByte(arn, '/')+1:])
			if err == nil && u.ARN != arn {
				err = account.ErrNoSuchEntity
			}
		}
		if err != nil {
			return err
		}
		return c.fillUser(tx, g, e, u)
	})
}

func (c *Core) fillUser(tx *store.Tx, g *genCache, e *principalEntry, u account.User) error {
	e.id, e.name, e.arn = u.ID, u.Name, u.ARN
	if u.IsRoot() {
		e.root = true
		return nil
	}
	e.tags = EntityTags(u.Tags)
	return c.fillPolicies(tx, g, e, account.UserRef(u.Name))
}

// fillRole fills e from the role r.
func (c *Core) fillRole(tx *store.Tx, g *genCache, e *principalEntry, r account.Role) error {
	e.name, e.arn, e.tags = r.Name, r.ARN, EntityTags(r.Tags)
	e.revokeBefore, e.maxSession = r.RevokeSessionsBefore, r.MaxSessionDuration
	return c.fillPolicies(tx, g, e, account.RoleRef(r.Name))
}

// fillPolicies compiles into e the identity policies and boundary of the principal ref.
func (c *Core) fillPolicies(tx *store.Tx, g *genCache, e *principalEntry, ref account.Ref) error {
	set, err := tx.PoliciesFor(ref)
	if err != nil {
		return err
	}
	e.identity, e.boundary = c.compileSet(g, set)
	return nil
}

// roleEntry returns the role with unique id id.
func (c *Core) roleEntry(ctx context.Context, g *genCache, id string) (*principalEntry, error) {
	return entryByID(ctx, c, g, "role", id, (*store.Tx).RoleByID, (*Core).fillRole)
}

// compileSet compiles a principal's policies. A stored document the policy engine
// refuses (the IAM API validates every document, so only an import can hold one) is
// logged and left out: it allows nothing.
func (c *Core) compileSet(g *genCache, set store.PolicySet) ([]*policy.Policy, *policy.Policy) {
	var identity []*policy.Policy
	for _, ap := range set.Identity {
		if p := c.compileApplied(g, ap, policy.KindIdentity); p != nil {
			identity = append(identity, p)
		}
	}
	var boundary *policy.Policy
	if set.Boundary != nil {
		if boundary = c.compileApplied(g, *set.Boundary, policy.KindBoundary); boundary == nil {
			boundary = c.nothing
		}
	}
	return identity, boundary
}

func (c *Core) compileApplied(g *genCache, ap store.AppliedPolicy, kind policy.Kind) *policy.Policy {
	switch ap.Kind {
	case store.AWSManaged:
		if mp, ok := c.catalog.Lookup(ap.ARN); ok {
			return mp.Policy
		}
		c.log.Warn("unknown AWS managed policy attached; it allows nothing", "policy_arn", ap.ARN)
		return nil
	case store.Managed:
		key := ap.ARN + "#" + ap.VersionID + "#" + kind.String()
		if p, ok := g.managed.get(key); ok {
			return p
		}
		p, err := policy.Parse([]byte(ap.Document), kind, func(o *policy.ParseOptions) { o.Name, o.ARN, o.Legacy = ap.Name, ap.ARN, true })
		if err != nil {
			c.log.Warn("stored managed policy does not parse; it allows nothing", "policy_arn", ap.ARN, "error", err)
			return nil
		}
		g.managed.put(key, p)
		return p
	default:
		p, err := policy.Parse([]byte(ap.Document), kind, func(o *policy.ParseOptions) { o.Name, o.Legacy = ap.Name, true })
		if err != nil {
			c.log.Warn("stored inline policy does not parse; it allows nothing", "owner", ap.ARN, "policy_name", ap.Name, "error", err)
			return nil
		}
		return p
	}
}

// allowNothingDoc stands in for a policy that must allow but cannot be read (a
// deleted managed session policy, a boundary that does not parse): it allows nothing,
// so the layer it belongs to denies.
const allowNothingDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"none:none","Resource":"arn:aws:none:::none"}]}`

// sessionPolicies compiles a session's inline and managed session policies.
func (c *Core) sessionPolicies(ctx context.Context, g *genCache, s *session.Claims) ([]*policy.Policy, error) {
	if s.SessionPolicy == "" && len(s.PolicyARNs) == 0 {
		return nil, nil
	}
	out := make([]*policy.Policy, 0, 1+len(s.PolicyARNs))
	if s.SessionPolicy != "" {
		p, err := c.sessionPolicy(s.SessionPolicy)
		if err != nil {
			p = c.nothing
		}
		out = append(out, p)
	}
	for _, arn := range s.PolicyARNs {
		p, err := c.managedPolicy(ctx, g, arn, policy.KindSession)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = c.nothing
		}
		out = append(out, p)
	}
	return out, nil
}

// sessionPolicy compiles an inline session policy, cached by its text.
func (c *Core) sessionPolicy(doc string) (*policy.Policy, error) {
	if p, ok := c.sessPols.get(doc); ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc), policy.KindSession, func(o *policy.ParseOptions) { o.Name, o.Legacy = "session policy", true })
	if err != nil {
		return nil, err
	}
	c.sessPols.put(doc, p)
	return p, nil
}

// managedPolicy returns the managed policy arn (AWS's or the account's) compiled as
// kind, or nil when it does not exist.
func (c *Core) managedPolicy(ctx context.Context, g *genCache, arn string, kind policy.Kind) (*policy.Policy, error) {
	if account.IsAWSManagedPolicyARN(arn) {
		if mp, ok := c.catalog.Lookup(arn); ok {
			return mp.Policy, nil
		}
		return nil, nil
	}
	key := "session/" + arn
	if p, ok := g.managed.get(key); ok {
		return p, nil
	}
	var ap store.AppliedPolicy
	gen, err := c.viewAt(ctx, func(tx *store.Tx) error {
		p, err := tx.Policy(arn)
		if err != nil {
			return err
		}
		v, err := tx.PolicyVersion(arn, p.DefaultVersion)
		if err != nil {
			return err
		}
		ap = store.AppliedPolicy{Kind: store.Managed, ARN: p.ARN, Name: p.Name, VersionID: v.ID, Document: v.Document}
		return nil
	})
	var p *policy.Policy
	switch {
	case errors.Is(err, account.ErrNoSuchEntity) || errors.Is(err, account.ErrInvalidInput):
	case err != nil:
		return nil, fmt.Errorf("loading policy %s: %w", arn, err)
	default:
		p = c.compileApplied(g, ap, kind)
	}
	if gen == g.gen && p != nil {
		g.managed.put(key, p)
	}
	return p, nil
}
