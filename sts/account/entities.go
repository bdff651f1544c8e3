package account

import (
	"encoding/base32"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of an IAM entity.
type Kind uint8

// Entity kinds.
const (
	KindUser Kind = iota + 1
	KindGroup
	KindRole
	KindPolicy
	KindInstanceProfile
	KindMFADevice
	KindOIDCProvider
	KindServerCertificate
)

var kindNames = [...]string{"", "user", "group", "role", "policy", "instance profile", "MFA device", "OpenID Connect provider", "server certificate"}

// String returns the kind as IAM's messages name it ("user", "role", …).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "entity"
}

// Ref names one entity: by Name for users, groups, roles and instance profiles, by ARN
// for managed policies and OIDC providers, by serial number for MFA devices.
type Ref struct {
	Kind Kind
	Name string
}

// UserRef names a user (RootUserName for the root user).
func UserRef(name string) Ref { return Ref{KindUser, name} }

// GroupRef names a group.
func GroupRef(name string) Ref { return Ref{KindGroup, name} }

// RoleRef names a role.
func RoleRef(name string) Ref { return Ref{KindRole, name} }

// PolicyRef names a customer managed policy by ARN.
func PolicyRef(arn string) Ref { return Ref{KindPolicy, arn} }

// InstanceProfileRef names an instance profile.
func InstanceProfileRef(name string) Ref { return Ref{KindInstanceProfile, name} }

// MFADeviceRef names a virtual MFA device by serial number.
func MFADeviceRef(serial string) Ref { return Ref{KindMFADevice, serial} }

// OIDCProviderRef names an OpenID Connect provider by ARN.
func OIDCProviderRef(arn string) Ref { return Ref{KindOIDCProvider, arn} }

// ServerCertificateRef names a server certificate.
func ServerCertificateRef(name string) Ref { return Ref{KindServerCertificate, name} }

// Tag is one resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tags is a resource's tag list, in the order the tags were added. Keys are unique
// without regard to case, as IAM's.
type Tags []Tag

// Get returns the value of key (compared without regard to case).
func (t Tags) Get(key string) (string, bool) {
	for _, tag := range t {
		if strings.EqualFold(tag.Key, key) {
			return tag.Value, true
		}
	}
	return "", false
}

// Merge returns t with add applied as TagUser/TagRole do: a key already present (in any
// case) takes the new key and value, others are appended. The result is validated.
func (t Tags) Merge(add Tags) (Tags, error) {
	if err := ValidateTags(add); err != nil {
		return nil, err
	}
	out := slices.Clone(t)
	for _, a := range add {
		i := slices.IndexFunc(out, func(x Tag) bool { return strings.EqualFold(x.Key, a.Key) })
		if i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	if len(out) > MaxTags {
		return nil, Errorf(LimitExceeded, "The number of tags has reached the maximum limit.")
	}
	return out, nil
}

// Without returns t without the tags whose keys are in keys (compared without regard to
// case); keys that are absent are ignored, as UntagUser does.
func (t Tags) Without(keys []string) Tags {
	return slices.DeleteFunc(slices.Clone(t), func(x Tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, x.Key) })
	})
}

// InlinePolicy is a policy embedded in one user, group or role.
type InlinePolicy struct {
	Name     string `json:"name"`
	Document string `json:"document"`
}

// InlinePolicies is an entity's inline policies, sorted by name.
type InlinePolicies []InlinePolicy

// Get returns the document of the policy called name.
func (p InlinePolicies) Get(name string) (string, bool) {
	for _, ip := range p {
		if ip.Name == name {
			return ip.Document, true
		}
	}
	return "", false
}

// Names returns the policies' names, sorted.
func (p InlinePolicies) Names() []string {
	out := make([]string, len(p))
	for i, ip := range p {
		out[i] = ip.Name
	}
	return out
}

// Put returns p with the policy name set to doc (added or replaced), sorted by name.
func (p InlinePolicies) Put(name, doc string) InlinePolicies {
	out := slices.Clone(p)
	i, found := slices.BinarySearchFunc(out, name, func(x InlinePolicy, n string) int { return strings.Compare(x.Name, n) })
	if found {
		out[i].Document = doc
		return out
	}
	return slices.Insert(out, i, InlinePolicy{Name: name, Document: doc})
}

// Delete returns p without the policy name, and whether it was there.
func (p InlinePolicies) Delete(name string) (InlinePolicies, bool) {
	i := slices.IndexFunc(p, func(x InlinePolicy) bool { return x.Name == name })
	if i < 0 {
		return p, false
	}
	return slices.Delete(slices.Clone(p), i, i+1), true
}

// RootUserName is how the store names the root user (as the credential report does). It
// is not a valid IAM user name, so it never collides with one.
const RootUserName = "<root_account>"

// User is an IAM user. ID, ARN and Created are set by the store. The root user is a User
// too (see RootUser); it has no path, tags or policies of its own.
type User struct {
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	Path                string         `json:"path"`
	ARN                 string         `json:"-"`
	Created             time.Time      `json:"created"`
	PermissionsBoundary string         `json:"boundary,omitempty"` // policy ARN
	Tags                Tags           `json:"tags,omitempty"`
	InlinePolicies      InlinePolicies `json:"inline,omitempty"`
	ManagedPolicies     []string       `json:"managed,omitempty"` // attached policy ARNs, in attach order
	PasswordLastUsed    time.Time      `json:"-"`                 // from usage records
}

// RootUser returns the root user of accountID.
func RootUser(accountID string, created time.Time) User {
	return User{ID: accountID, Name: RootUserName, Path: "/", ARN: RootARN(accountID), Created: created}
}

// IsRoot reports whether u is the account's root user.
func (u User) IsRoot() bool { return u.Name == RootUserName }

// Validate checks the user's fields as CreateUser does.
func (u User) Validate() error {
	var v Violations
	v.Check(RuleUserName, "userName", u.Name)
	v.Check(RulePath, "path", u.Path)
	return validatePrincipal(&v, u.InlinePolicies, u.Tags, u.ManagedPolicies, u.PermissionsBoundary)
}

// Group is an IAM group. Its members are kept by the store (GroupMembers).
type Group struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	Path            string         `json:"path"`
	ARN             string         `json:"-"`
	Created         time.Time      `json:"created"`
	InlinePolicies  InlinePolicies `json:"inline,omitempty"`
	ManagedPolicies []string       `json:"managed,omitempty"`
}

// Validate checks the group's fields as CreateGroup does.
func (g Group) Validate() error {
	var v Violations
	v.Check(RuleGroupName, "groupName", g.Name)
	v.Check(RulePath, "path", g.Path)
	return validatePrincipal(&v, g.InlinePolicies, nil, g.ManagedPolicies, "")
}

// Role is an IAM role.
type Role struct {
	ID                  string         `json:"id"`
	Name                string         `json:"name"`
	Path                string         `json:"path"`
	ARN                 string         `json:"-"`
	Created             time.Time      `json:"created"`
	Description         string         `json:"description,omitempty"`
	AssumeRolePolicy    string         `json:"trust"`              // the trust policy document
	MaxSessionDuration  time.Duration  `json:"max_session"`        // 1–12 h, whole seconds; 0 means DefaultSessionDuration
	PermissionsBoundary string         `json:"boundary,omitempty"` // policy ARN
	Tags                Tags           `json:"tags,omitempty"`
	InlinePolicies      InlinePolicies `json:"inline,omitempty"`
	ManagedPolicies     []string       `json:"managed,omitempty"`
	// RevokeSessionsBefore, when set, invalidates every session of this role issued
	// before it (AWS's AWSRevokeOlderSessions); the STS layer checks SessionRevoked.
	RevokeSessionsBefore time.Time    `json:"revoke_before,omitzero"`
	LastUsed             RoleLastUsed `json:"-"` // from usage records
}

// RoleLastUsed is when and where a role was last assumed.
type RoleLastUsed struct {
	Date   time.Time `json:"date,omitzero"`
	Region string    `json:"region,omitempty"`
}

// SessionRevoked reports whether a session of r issued at issued has been revoked.
func (r Role) SessionRevoked(issued time.Time) bool {
	return !r.RevokeSessionsBefore.IsZero() && issued.Before(r.RevokeSessionsBefore)
}

// Validate checks the role's fields as CreateRole does.
func (r Role) Validate() error {
	var v Violations
	v.Check(RuleRoleName, "roleName", r.Name)
	v.Check(RulePath, "path", r.Path)
	v.Check(RuleRoleDescription, "description", r.Description)
	if r.MaxSessionDuration != 0 {
		if r.MaxSessionDuration%time.Second != 0 {
			v.Add("maxSessionDuration", r.MaxSessionDuration.String(), "Member must be a whole number of seconds")
		}
		v.Int("maxSessionDuration", int(r.MaxSessionDuration/time.Second), int(MinSessionDuration/time.Second), int(MaxSessionDuration/time.Second))
	}
	return validatePrincipal(&v, r.InlinePolicies, r.Tags, r.ManagedPolicies, r.PermissionsBoundary, func() error {
		return ValidatePolicyDocument("assumeRolePolicyDocument", r.AssumeRolePolicy)
	})
}

// ManagedPolicy is a customer managed policy. Its documents are its versions
// (PolicyVersion), kept by the store; AttachmentCount and PermissionsBoundaryUsageCount
// are counted by the store when the policy is read.
type ManagedPolicy struct {
	ID                            string    `json:"id"`
	Name                          string    `json:"name"`
	Path                          string    `json:"path"`
	ARN                           string    `json:"-"`
	Description                   string    `json:"description,omitempty"`
	Created                       time.Time `json:"created"`
	Updated                       time.Time `json:"updated"`
	DefaultVersion                string    `json:"default_version"` // "v1", …
	NextVersion                   int       `json:"next_version"`    // number of the next version id; ids never repeat
	Tags                          Tags      `json:"tags,omitempty"`
	AttachmentCount               int       `json:"-"`
	PermissionsBoundaryUsageCount int       `json:"-"`
}

// Validate checks the policy's fields as CreatePolicy does.
func (p ManagedPolicy) Validate() error {
	var v Violations
	v.Check(RulePolicyName, "policyName", p.Name)
	v.Check(RulePolicyPath, "path", p.Path)
	v.Check(RulePolicyDescription, "description", p.Description)
	return validTags(&v, p.Tags)
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID        string    `json:"id"` // "v1", "v2", …
	Document  string    `json:"document"`
	Created   time.Time `json:"created"`
	IsDefault bool      `json:"-"`
}

// InstanceProfile is an instance profile: a container for (at most one) role that EC2 —
// and the broker's IMDS — hands to an instance.
type InstanceProfile struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	ARN     string    `json:"-"`
	Created time.Time `json:"created"`
	Tags    Tags      `json:"tags,omitempty"`
	Roles   []Role    `json:"-"` // resolved by the store
}

// Validate checks the profile's fields as CreateInstanceProfile does.
func (p InstanceProfile) Validate() error {
	var v Violations
	v.Check(RuleInstanceProfileName, "instanceProfileName", p.Name)
	v.Check(RulePath, "path", p.Path)
	return validTags(&v, p.Tags)
}

// KeyStatus is an access key's status.
type KeyStatus string

// Access key statuses.
const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey is a long-term access key. Secret is set only when the store was asked for
// one key (never in lists); the store keeps it encrypted.
type AccessKey struct {
	ID       string            `json:"id"`
	UserID   string            `json:"user_id"` // the owner's unique id (the account id for root)
	UserName string            `json:"-"`       // resolved by the store (RootUserName for root)
	UserARN  string            `json:"-"`       // resolved by the store
	Secret   string            `json:"-"`
	Status   KeyStatus         `json:"status"`
	Created  time.Time         `json:"created"`
	LastUsed AccessKeyLastUsed `json:"-"` // from usage records
}

// AccessKeyLastUsed is when, where and for which service a key was last used.
type AccessKeyLastUsed struct {
	Date    time.Time `json:"date,omitzero"`
	Service string    `json:"service,omitempty"`
	Region  string    `json:"region,omitempty"`
}

// Validate checks the key's id, status and (when set) secret.
func (k AccessKey) Validate() error {
	var v Violations
	v.Check(RuleAccessKeyID, "accessKeyId", k.ID)
	if k.Status != KeyActive && k.Status != KeyInactive {
		v.Add("status", string(k.Status), "Member must satisfy enum value set: [Active, Inactive]")
	}
	if k.Secret != "" && len(k.Secret) != 40 {
		v.AddHidden("secretAccessKey", "Member must have length 40")
	}
	return v.Err()
}

// LoginProfile is a user's console password: an argon2id hash (see Argon2id), never the
// password. History holds the previous hashes, newest first, for PasswordReusePrevention.
type LoginProfile struct {
	UserID                string    `json:"user_id"`
	UserName              string    `json:"-"`
	Created               time.Time `json:"created"`
	PasswordHash          string    `json:"hash"`
	PasswordChanged       time.Time `json:"changed"`
	PasswordResetRequired bool      `json:"reset_required,omitempty"`
	History               []string  `json:"history,omitempty"`
}

// SetPassword replaces the hash, keeps the old one in History (at most keep entries,
// as the account's PasswordReusePrevention) and records when.
func (lp *LoginProfile) SetPassword(hash string, now time.Time, keep int) {
	if lp.PasswordHash != "" && keep > 0 {
		lp.History = append([]string{lp.PasswordHash}, lp.History...)
	}
	if len(lp.History) > keep {
		lp.History = lp.History[:keep]
	}
	lp.PasswordHash = hash
	lp.PasswordChanged = now
}

// VirtualMFADevice is a virtual (TOTP, RFC 6238) MFA device. Seed is set only when the
// store was asked for one device (never in lists); the store keeps it encrypted.
type VirtualMFADevice struct {
	Serial   string    `json:"serial"` // arn:aws:iam::ACCOUNT:mfa/PATH/NAME
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	Created  time.Time `json:"created"`
	Seed     []byte    `json:"-"`
	UserID   string    `json:"user_id,omitempty"` // assigned user (the account id for root), "" when unassigned
	UserName string    `json:"-"`                 // resolved by the store
	Enabled  time.Time `json:"enabled,omitzero"`  // when EnableMFADevice assigned it
	Tags     Tags      `json:"tags,omitempty"`
	// LastStep is the TOTP time step of the last accepted code, so that a code is never
	// accepted twice (see the store's AcceptMFAStep).
	LastStep uint64 `json:"last_step,omitempty"`
}

// Base32Seed is the seed as CreateVirtualMFADevice returns it (Base32StringSeed).
func (d VirtualMFADevice) Base32Seed() string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(d.Seed)
}

// Validate checks the device's name, path and tags.
func (d VirtualMFADevice) Validate() error {
	var v Violations
	v.Check(RuleMFADeviceName, "virtualMFADeviceName", d.Name)
	v.Check(RulePath, "path", d.Path)
	v.Check(RuleSerialNumber, "serialNumber", d.Serial)
	if err := v.Err(); err != nil {
		return err
	}
	return ValidateTags(d.Tags)
}

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	ARN         string    `json:"-"`
	URL         string    `json:"url"` // https://issuer (as given)
	ClientIDs   []string  `json:"client_ids,omitempty"`
	Thumbprints []string  `json:"thumbprints,omitempty"`
	Created     time.Time `json:"created"`
	Tags        Tags      `json:"tags,omitempty"`
}

// Validate checks the provider as CreateOpenIDConnectProvider does.
func (p OIDCProvider) Validate() error {
	var v Violations
	v.Check(RuleOIDCURL, "url", p.URL)
	for i, c := range p.ClientIDs {
		v.Check(RuleClientID, "clientIDList."+strconv.Itoa(i+1)+".member", c)
	}
	for i, t := range p.Thumbprints {
		v.Check(RuleThumbprint, "thumbprintList."+strconv.Itoa(i+1)+".member", t)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if !strings.HasPrefix(p.URL, "https://") || len(p.URL) == len("https://") || strings.ContainsAny(p.URL, "?#") {
		return Errorf(InvalidInput, "Invalid URL %s: it must begin with https:// and have no query or fragment.", quoteForMessage(p.URL, 255))
	}
	if len(p.Thumbprints) > MaxThumbprints {
		return Errorf(LimitExceeded, "Thumbprint list must contain fewer than %d entries.", MaxThumbprints+1)
	}
	if len(p.ClientIDs) > MaxClientIDs {
		return Errorf(LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", MaxClientIDs)
	}
	for _, t := range p.Thumbprints {
		for i := 0; i < len(t); i++ {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(t[i])) {
				return Errorf(InvalidInput, "Thumbprint %s is not a SHA-1 hex digest.", quoteForMessage(t, 40))
			}
		}
	}
	return ValidateTags(p.Tags)
}

// Account is the one AWS account a store holds.
type Account struct {
	ID             string          `json:"id"`
	Created        time.Time       `json:"created"` // also the root user's creation date
	Aliases        []string        `json:"aliases,omitempty"`
	PasswordPolicy *PasswordPolicy `json:"password_policy,omitempty"` // nil: AWS's default rules
	// STSGlobalEndpointTokenVersion is SetSecurityTokenServicePreferences' choice: 2
	// (v2Token, valid in all regions) or 1 (v1Token; 0 reads as 1).
	STSGlobalEndpointTokenVersion int `json:"sts_token_version,omitempty"`
	// OutboundWebIdentityIssuer is the issuer of the web identity tokens STS vends for
	// the account once EnableOutboundWebIdentityFederation ran; "" while disabled.
	OutboundWebIdentityIssuer string `json:"outbound_issuer,omitempty"`
}
