package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// PrincipalType is the kind of caller a request comes from.
type PrincipalType uint8

// The principal types. The zero value is an anonymous caller, the one with
// the fewest rights.
const (
	// PrincipalAnonymous is an unauthenticated caller.
	PrincipalAnonymous PrincipalType = iota
	// PrincipalRoot is an account's root user (ARN arn:aws:iam::ACCOUNT:root).
	PrincipalRoot
	// PrincipalUser is an IAM user, with long-term keys or a GetSessionToken
	// session (ARN arn:aws:iam::ACCOUNT:user/PATH/NAME).
	PrincipalUser
	// PrincipalAssumedRole is a role session (ARN
	// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION; RoleARN is the role's).
	PrincipalAssumedRole
	// PrincipalFederatedUser is a GetFederationToken session (ARN
	// arn:aws:sts::ACCOUNT:federated-user/NAME).
	PrincipalFederatedUser
	// PrincipalService is an AWS service (ARN is its name, such as ec2.amazonaws.com).
	PrincipalService
	// PrincipalFederated is a web identity or SAML caller of
	// AssumeRoleWith*: ARN is the provider's ARN or name (accounts.google.com).
	PrincipalFederated
	// PrincipalCanonicalUser is an S3 canonical user: ARN is the canonical id.
	PrincipalCanonicalUser
)

var principalTypeNames = [...]string{"Anonymous", "Account", "User", "AssumedRole", "FederatedUser", "Service", "Federated", "CanonicalUser"}

// String returns the value of aws:PrincipalType for the IAM types (Account,
// User, AssumedRole, FederatedUser, Anonymous), and a name for the others.
func (t PrincipalType) String() string {
	if int(t) < len(principalTypeNames) {
		return principalTypeNames[t]
	}
	return fmt.Sprintf("PrincipalType(%d)", t)
}

// iam reports whether the type is an IAM identity of an account (one that
// identity-based policies apply to).
func (t PrincipalType) iam() bool {
	return t >= PrincipalRoot && t <= PrincipalFederatedUser
}

// Tag is a key and value (principal, session, resource or request tags). Tag
// keys are matched case-insensitively, values case-sensitively.
type Tag struct {
	Key, Value string
}

// Principal is who makes a request.
type Principal struct {
	// Type says which of the fields below apply.
	Type PrincipalType
	// ARN is the caller's ARN as GetCallerIdentity reports it (for a role
	// session, the assumed-role ARN), or a service or provider name.
	ARN string
	// RoleARN is, for a role session, the role's ARN with its path. It is
	// aws:PrincipalArn and what a policy naming the role matches.
	RoleARN string
	// Account is the caller's account id (aws:PrincipalAccount).
	Account string
	// UserID is aws:userid: AIDA… for a user, AROA…:SESSION for a role
	// session, ACCOUNT:NAME for a federated user, the account id for root.
	UserID string
	// Username is aws:username: set for IAM users only.
	Username string
	// Tags are aws:PrincipalTag/KEY: the user's or role's tags, with a
	// session's tags over them.
	Tags []Tag
}

// Resource is what a request acts on.
type Resource struct {
	// ARN is the resource's ARN; "*" (or "") for actions that take none.
	ARN string
	// Account owns the resource (aws:ResourceAccount). Empty means the
	// principal's own account. A different account makes the request
	// cross-account: both the principal's policies and a resource-based policy
	// must allow it.
	Account string
	// Tags are aws:ResourceTag/KEY.
	Tags []Tag
}

// Bool is a condition value that may be absent.
type Bool uint8

// The three states of a Bool.
const (
	BoolUnset Bool = iota
	BoolFalse
	BoolTrue
)

// BoolOf returns BoolTrue or BoolFalse.
func BoolOf(b bool) Bool {
	if b {
		return BoolTrue
	}
	return BoolFalse
}

// ContextKey is a condition key of a request that Context has no field for,
// or that overrides one. Names are case-insensitive; values are text that each
// operator reads as its type (numbers, dates as ISO 8601 or epoch seconds,
// "true"/"false", IP addresses, base64 for binary).
type ContextKey struct {
	Name   string
	Values []string
}

// Context holds the request's condition keys. The global keys the core fills
// on every request are typed fields, so that filling it costs no maps and no
// formatting; everything else goes in Keys. Keys derived from the principal
// (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:userid,
// aws:username, aws:PrincipalTag/*) and the resource (aws:ResourceAccount,
// aws:ResourceTag/*) come from Request.Principal and Request.Resource.
type Context struct {
	// CurrentTime is aws:CurrentTime and aws:EpochTime; zero: absent.
	CurrentTime time.Time
	// SourceIP is aws:SourceIp; the zero Addr: absent.
	SourceIP netip.Addr
	// SecureTransport is aws:SecureTransport.
	SecureTransport Bool
	// MultiFactorAuthPresent is aws:MultiFactorAuthPresent.
	MultiFactorAuthPresent Bool
	// MultiFactorAuthTime is when MFA was used; with CurrentTime it gives
	// aws:MultiFactorAuthAge (seconds). Zero: absent.
	MultiFactorAuthTime time.Time
	// TokenIssueTime is aws:TokenIssueTime; zero: absent.
	TokenIssueTime time.Time
	// RequestedRegion is aws:RequestedRegion; "": absent.
	RequestedRegion string
	// SourceIdentity is aws:SourceIdentity; "": absent.
	SourceIdentity string
	// RequestTags are aws:RequestTag/KEY; their keys are aws:TagKeys.
	RequestTags []Tag
	// Keys are any other condition keys. A key here overrides the field or
	// the derived key of the same name.
	Keys []ContextKey
}

// Request is one authorization question: may this principal do this action
// on this resource, in this context?
type Request struct {
	Principal Principal
	// Action is "service:Operation" (case-insensitive), such as "s3:GetObject".
	Action   string
	Resource Resource
	Context  Context
}

// keyID names the condition keys the engine reads from typed fields.
type keyID uint8

const (
	kExtra keyID = iota // only in Context.Keys
	kPrincipalArn
	kPrincipalAccount
	kPrincipalType
	kUserID
	kUsername
	kPrincipalTag
	kPrincipalIsAWSService
	kPrincipalServiceName
	kSourceIP
	kCurrentTime
	kEpochTime
	kSecureTransport
	kMFAPresent
	kMFAAge
	kTokenIssueTime
	kRequestedRegion
	kSourceIdentity
	kRequestTag
	kTagKeys
	kResourceTag
	kResourceAccount
)

var wellKnownKeys = map[string]keyID{
	"aws:principalarn":           kPrincipalArn,
	"aws:principalaccount":       kPrincipalAccount,
	"aws:principaltype":          kPrincipalType,
	"aws:userid":                 kUserID,
	"aws:username":               kUsername,
	"aws:principalisawsservice":  kPrincipalIsAWSService,
	"aws:principalservicename":   kPrincipalServiceName,
	"aws:sourceip":               kSourceIP,
	"aws:currenttime":            kCurrentTime,
	"aws:epochtime":              kEpochTime,
	"aws:securetransport":        kSecureTransport,
	"aws:multifactorauthpresent": kMFAPresent,
	"aws:multifactorauthage":     kMFAAge,
	"aws:tokenissuetime":         kTokenIssueTime,
	"aws:requestedregion":        kRequestedRegion,
	"aws:sourceidentity":         kSourceIdentity,
	"aws:tagkeys":                kTagKeys,
	"aws:resourceaccount":        kResourceAccount,
	"aws:principaltag/":          kPrincipalTag,
	"aws:requesttag/":            kRequestTag,
	"aws:resourcetag/":           kResourceTag,
}

// keyRef is a compiled condition key name.
type keyRef struct {
	id   keyID
	name string // the whole name, lower-cased
	tag  string // for the */KEY tag keys: KEY (matched case-insensitively)
}

func newKeyRef(name string) keyRef {
	lower := strings.ToLower(name)
	k := keyRef{name: lower}
	if prefix, _, ok := strings.Cut(lower, "/"); ok {
		if id, found := wellKnownKeys[prefix+"/"]; found {
			k.id, k.tag = id, name[len(prefix)+1:]
		}
		return k
	}
	k.id = wellKnownKeys[lower]
	return k
}

// vkind is the representation of a request's values for one key.
type vkind uint8

const (
	vNone vkind = iota
	vString
	vStrings
	vTagKeys
	vTime
	vInt
	vBool
	vIP
)

// values is a request's values for one key, in their native type, so that
// looking a key up costs no allocation.
type values struct {
	kind vkind
	b    bool
	n    int64
	s    string
	ss   []string
	tags []Tag
	t    time.Time
	ip   netip.Addr
}

func (v *values) len() int {
	switch v.kind {
	case vNone:
		return 0
	case vStrings:
		return len(v.ss)
	case vTagKeys:
		return len(v.tags)
	}
	return 1
}

func tagValue(tags []Tag, key string) (string, bool) {
	for i := range tags {
		if strings.EqualFold(tags[i].Key, key) {
			return tags[i].Value, true
		}
	}
	return "", false
}

// lookup returns the request's values for key k.
func (r *Request) lookup(k *keyRef) values {
	for i := range r.Context.Keys {
		e := &r.Context.Keys[i]
		if len(e.Name) == len(k.name) && strings.EqualFold(e.Name, k.name) {
			if len(e.Values) == 0 {
				return values{}
			}
			if len(e.Values) == 1 {
				return values{kind: vString, s: e.Values[0]}
			}
			return values{kind: vStrings, ss: e.Values}
		}
	}
	p := &r.Principal
	c := &r.Context
	str := func(s string) values {
		if s == "" {
			return values{}
		}
		return values{kind: vString, s: s}
	}
	switch k.id {
	case kPrincipalArn:
		if !p.Type.iam() {
			return values{}
		}
		if p.Type == PrincipalAssumedRole && p.RoleARN != "" {
			return str(p.RoleARN)
		}
		return str(p.ARN)
	case kPrincipalAccount:
		return str(p.Account)
	case kPrincipalType:
		if p.Type.iam() || p.Type == PrincipalAnonymous {
			return values{kind: vString, s: principalTypeNames[p.Type]}
		}
	case kUserID:
		return str(p.UserID)
	case kUsername:
		if p.Type == PrincipalUser {
			return str(p.Username)
		}
	case kPrincipalTag:
		if v, ok := tagValue(p.Tags, k.tag); ok {
			return values{kind: vString, s: v}
		}
	case kPrincipalIsAWSService:
		return values{kind: vBool, b: p.Type == PrincipalService}
	case kPrincipalServiceName:
		if p.Type == PrincipalService {
			return str(p.ARN)
		}
	case kSourceIP:
		if c.SourceIP.IsValid() {
			return values{kind: vIP, ip: c.SourceIP}
		}
	case kCurrentTime:
		if !c.CurrentTime.IsZero() {
			return values{kind: vTime, t: c.CurrentTime}
		}
	case kEpochTime:
		if !c.CurrentTime.IsZero() {
			return values{kind: vInt, n: c.CurrentTime.Unix()}
		}
	case kSecureTransport:
		if c.SecureTransport != BoolUnset {
			return values{kind: vBool, b: c.SecureTransport == BoolTrue}
		}
	case kMFAPresent:
		if c.MultiFactorAuthPresent != BoolUnset {
			return values{kind: vBool, b: c.MultiFactorAuthPresent == BoolTrue}
		}
	case kMFAAge:
		if !c.MultiFactorAuthTime.IsZero() && !c.CurrentTime.IsZero() {
			return values{kind: vInt, n: int64(c.CurrentTime.Sub(c.MultiFactorAuthTime) / time.Second)}
		}
	case kTokenIssueTime:
		if !c.TokenIssueTime.IsZero() {
			return values{kind: vTime, t: c.TokenIssueTime}
		}
	case kRequestedRegion:
		return str(c.RequestedRegion)
	case kSourceIdentity:
		return str(c.SourceIdentity)
	case kRequestTag:
		if v, ok := tagValue(c.RequestTags, k.tag); ok {
			return values{kind: vString, s: v}
		}
	case kTagKeys:
		if len(c.RequestTags) > 0 {
			return values{kind: vTagKeys, tags: c.RequestTags}
		}
	case kResourceTag:
		if v, ok := tagValue(r.Resource.Tags, k.tag); ok {
			return values{kind: vString, s: v}
		}
	case kResourceAccount:
		if r.Resource.Account != "" {
			return str(r.Resource.Account)
		}
		return str(p.Account)
	}
	return values{}
}
