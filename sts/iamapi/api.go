package iamapi

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

//go:embed model_iam.json.gz
var modelData []byte

// Options configure the IAM API.
type Options struct {
	// Argon2id are the parameters of new console password hashes (default
	// account.DefaultArgon2id()). Tests may lower them; production should not.
	Argon2id account.Argon2id
	// CredentialReportTTL is how long a credential report is served before
	// GenerateCredentialReport makes a new one (default four hours, as IAM).
	CredentialReportTTL time.Duration
}

// API is the IAM Query API (Version 2010-05-08) over the core's account. Build it with
// New and hand Service to sts.Core.Register, or call Register.
type API struct {
	o     Options
	model *query.Model

	reportMu sync.Mutex
	report   *credentialReport

	jobs jobs // last-accessed and Organizations access reports
}

// New returns the IAM API.
func New(optFns ...func(*Options)) (*API, error) {
	o := Options{Argon2id: account.DefaultArgon2id(), CredentialReportTTL: 4 * time.Hour}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Argon2id.Time == 0 || o.Argon2id.MemoryKiB == 0 || o.Argon2id.Threads == 0 {
		o.Argon2id = account.DefaultArgon2id()
	}
	if o.CredentialReportTTL <= 0 {
		o.CredentialReportTTL = 4 * time.Hour
	}
	m, err := query.LoadModel(modelData)
	if err != nil {
		return nil, fmt.Errorf("iam api: %w", err)
	}
	return &API{o: o, model: m}, nil
}

// Register serves the IAM API on core's endpoint (requests signed for service "iam").
func Register(core *sts.Core, optFns ...func(*Options)) (*API, error) {
	a, err := New(optFns...)
	if err != nil {
		return nil, err
	}
	if err := core.Register(a.Service()); err != nil {
		return nil, fmt.Errorf("iam api: %w", err)
	}
	return a, nil
}

// Model returns the IAM API's model (botocore's, trimmed).
func (a *API) Model() *query.Model { return a.model }

// Service returns the IAM API as the core registers it: every action the package
// implements, with IAM's AccessDenied wording.
func (a *API) Service() *sts.Service {
	actions := map[string]sts.Action{}
	for name, h := range a.handlers() {
		actions[name] = sts.Action{Handler: h}
	}
	return &sts.Service{Model: a.model, Actions: actions, DenyReasons: true}
}

// Actions returns the names of the actions the API serves.
func (a *API) Actions() []string {
	hs := a.handlers()
	out := make([]string, 0, len(hs))
	for _, name := range a.model.Operations() {
		if _, ok := hs[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

func (a *API) handlers() map[string]sts.Handler {
	hs := map[string]sts.Handler{
		// Users.
		"CreateUser": a.createUser,
		"GetUser":    a.getUser,
		"ListUsers":  listByPrefix("Users", account.ResourceUser, (*store.Tx).Users, listedUser),
		"UpdateUser": a.updateUser,
		"DeleteUser": a.deleteUser,
		// Groups.
		"CreateGroup":         a.createGroup,
		"GetGroup":            a.getGroup,
		"ListGroups":          listByPrefix("Groups", account.ResourceGroup, (*store.Tx).Groups, groupOf),
		"UpdateGroup":         a.updateGroup,
		"DeleteGroup":         a.deleteGroup,
		"AddUserToGroup":      a.addUserToGroup,
		"RemoveUserFromGroup": a.removeUserFromGroup,
		"ListGroupsForUser":   a.listGroupsForUser,
		// Roles.
		"CreateRole":                    a.createRole,
		"GetRole":                       a.getRole,
		"ListRoles":                     listByPrefix("Roles", account.ResourceRole, (*store.Tx).Roles, listedRole),
		"UpdateRole":                    a.updateRole,
		"UpdateRoleDescription":         a.updateRoleDescription,
		"UpdateAssumeRolePolicy":        a.updateAssumeRolePolicy,
		"DeleteRole":                    a.deleteRole,
		"PutRolePermissionsBoundary":    a.putRolePermissionsBoundary,
		"DeleteRolePermissionsBoundary": deleteBoundary(account.KindRole),
		// Instance profiles.
		"CreateInstanceProfile":         a.createInstanceProfile,
		"GetInstanceProfile":            a.getInstanceProfile,
		"DeleteInstanceProfile":         a.deleteInstanceProfile,
		"AddRoleToInstanceProfile":      a.addRoleToInstanceProfile,
		"RemoveRoleFromInstanceProfile": a.removeRoleFromInstanceProfile,
		"ListInstanceProfiles":          listByPrefix("InstanceProfiles", account.ResourceInstanceProfile, (*store.Tx).InstanceProfiles, profileOf),
		"ListInstanceProfilesForRole":   a.listInstanceProfilesForRole,
		// Managed policies.
		"CreatePolicy":            a.createPolicy,
		"GetPolicy":               a.getPolicy,
		"ListPolicies":            a.listPolicies,
		"DeletePolicy":            a.deletePolicy,
		"CreatePolicyVersion":     a.createPolicyVersion,
		"GetPolicyVersion":        a.getPolicyVersion,
		"ListPolicyVersions":      a.listPolicyVersions,
		"SetDefaultPolicyVersion": a.setDefaultPolicyVersion,
		"DeletePolicyVersion":     a.deletePolicyVersion,
		"TagPolicy":               a.tagPolicy,
		"UntagPolicy":             a.untagPolicy,
		"ListPolicyTags":          a.listPolicyTags,
		"ListEntitiesForPolicy":   a.listEntitiesForPolicy,
		// Attached policies.
		"AttachUserPolicy":          a.attach(account.KindUser, true),
		"AttachGroupPolicy":         a.attach(account.KindGroup, true),
		"AttachRolePolicy":          a.attach(account.KindRole, true),
		"DetachUserPolicy":          a.attach(account.KindUser, false),
		"DetachGroupPolicy":         a.attach(account.KindGroup, false),
		"DetachRolePolicy":          a.attach(account.KindRole, false),
		"ListAttachedUserPolicies":  a.listAttached(account.KindUser),
		"ListAttachedGroupPolicies": a.listAttached(account.KindGroup),
		"ListAttachedRolePolicies":  a.listAttached(account.KindRole),
		// Inline policies.
		"PutUserPolicy":     a.putInline(account.KindUser),
		"PutGroupPolicy":    a.putInline(account.KindGroup),
		"PutRolePolicy":     a.putInline(account.KindRole),
		"GetUserPolicy":     a.getInline(account.KindUser),
		"GetGroupPolicy":    a.getInline(account.KindGroup),
		"GetRolePolicy":     a.getInline(account.KindRole),
		"DeleteUserPolicy":  a.deleteInline(account.KindUser),
		"DeleteGroupPolicy": a.deleteInline(account.KindGroup),
		"DeleteRolePolicy":  a.deleteInline(account.KindRole),
		"ListUserPolicies":  a.listInline(account.KindUser),
		"ListGroupPolicies": a.listInline(account.KindGroup),
		"ListRolePolicies":  a.listInline(account.KindRole),
		// Permissions boundaries of users (roles' are above).
		"PutUserPermissionsBoundary":    a.putUserPermissionsBoundary,
		"DeleteUserPermissionsBoundary": deleteBoundary(account.KindUser),
		// Access keys.
		"CreateAccessKey":      a.createAccessKey,
		"ListAccessKeys":       a.listAccessKeys,
		"UpdateAccessKey":      a.updateAccessKey,
		"DeleteAccessKey":      a.deleteAccessKey,
		"GetAccessKeyLastUsed": a.getAccessKeyLastUsed,
		// Console passwords.
		"CreateLoginProfile":          a.createLoginProfile,
		"GetLoginProfile":             a.getLoginProfile,
		"UpdateLoginProfile":          a.updateLoginProfile,
		"DeleteLoginProfile":          a.deleteLoginProfile,
		"ChangePassword":              a.changePassword,
		"UpdateAccountPasswordPolicy": a.updateAccountPasswordPolicy,
		"GetAccountPasswordPolicy":    a.getAccountPasswordPolicy,
		"DeleteAccountPasswordPolicy": a.deleteAccountPasswordPolicy,
		// MFA.
		"CreateVirtualMFADevice": a.createVirtualMFADevice,
		"EnableMFADevice":        a.enableMFADevice,
		"ResyncMFADevice":        a.resyncMFADevice,
		"DeactivateMFADevice":    a.deactivateMFADevice,
		"ListMFADevices":         a.listMFADevices,
		"ListVirtualMFADevices":  a.listVirtualMFADevices,
		"DeleteVirtualMFADevice": a.deleteVirtualMFADevice,
		// SAML providers.
		"CreateSAMLProvider":   a.createSAMLProvider,
		"GetSAMLProvider":      a.getSAMLProvider,
		"ListSAMLProviders":    a.listSAMLProviders,
		"UpdateSAMLProvider":   a.updateSAMLProvider,
		"DeleteSAMLProvider":   a.deleteSAMLProvider,
		"TagSAMLProvider":      a.tagSAMLProvider,
		"UntagSAMLProvider":    a.untagSAMLProvider,
		"ListSAMLProviderTags": a.listSAMLProviderTags,
		// OpenID Connect providers.
		"CreateOpenIDConnectProvider":             a.createOIDCProvider,
		"GetOpenIDConnectProvider":                a.getOIDCProvider,
		"ListOpenIDConnectProviders":              a.listOIDCProviders,
		"DeleteOpenIDConnectProvider":             a.deleteOIDCProvider,
		"AddClientIDToOpenIDConnectProvider":      a.addClientID,
		"RemoveClientIDFromOpenIDConnectProvider": a.removeClientID,
		"UpdateOpenIDConnectProviderThumbprint":   a.updateThumbprint,
		// Review.
		"GetAccountAuthorizationDetails":   a.getAccountAuthorizationDetails,
		"GenerateCredentialReport":         a.generateCredentialReport,
		"GetCredentialReport":              a.getCredentialReport,
		"GetAccountSummary":                a.getAccountSummary,
		"SimulatePrincipalPolicy":          a.simulatePrincipalPolicy,
		"SimulateCustomPolicy":             a.simulateCustomPolicy,
		"GetContextKeysForPrincipalPolicy": a.getContextKeysForPrincipalPolicy,
		"GetContextKeysForCustomPolicy":    a.getContextKeysForCustomPolicy,
		// Account.
		"CreateAccountAlias": a.createAccountAlias,
		"ListAccountAliases": a.listAccountAliases,
		"DeleteAccountAlias": a.deleteAccountAlias,
	}
	maps.Copy(hs, a.moreHandlers())
	return hs
}

// view and update run fn in a store transaction.
func view(ctx context.Context, c *sts.Call, fn func(tx *store.Tx) error) error {
	return c.Store().View(ctx, fn)
}

func update(ctx context.Context, c *sts.Call, fn func(tx *store.Tx) error) error {
	return c.Store().Update(ctx, fn)
}

// viewed and updated run fn in a store transaction and return what it read or made.
func viewed[T any](ctx context.Context, c *sts.Call, fn func(tx *store.Tx) (T, error)) (T, error) {
	return inTx(ctx, c.Store().View, fn)
}

func updated[T any](ctx context.Context, c *sts.Call, fn func(tx *store.Tx) (T, error)) (T, error) {
	return inTx(ctx, c.Store().Update, fn)
}

// viewAuthorized authorizes action, an account-level action (resource "*"), and then
// reads with read in a store view.
func viewAuthorized[T any](ctx context.Context, c *sts.Call, action string, read func(tx *store.Tx) (T, error)) (T, error) {
	if err := c.Authorize(action, "*"); err != nil {
		var zero T
		return zero, err
	}
	return viewed(ctx, c, read)
}

// inTx runs fn in the transaction run opens (a store's View or Update) and returns
// what fn returned.
func inTx[T any](ctx context.Context, run func(context.Context, func(*store.Tx) error) error, fn func(tx *store.Tx) (T, error)) (T, error) {
	var v T
	err := run(ctx, func(tx *store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// loader reads the entity a request names and authorizes action on it (with opts).
type loader[T any] func(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (T, error)

// changeLoaded is the body of the actions without output on one entity: it reads the
// entity with load, authorizing action on it (with opts), and applies change to it in
// a store update.
func changeLoaded[T any](ctx context.Context, c *sts.Call, load loader[T], action string, change func(tx *store.Tx, v T) error,
	opts ...sts.AuthzOption) (any, error) {
	v, err := load(ctx, c, action, opts...)
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return change(tx, v) }))
}

// updateMoved is the body of the Update* actions that rename or move an entity (users,
// groups): it reads the entity with load, authorizing action on it; when the request
// names a new name (the parameter newNameParam) or NewPath, it authorizes action on the
// ARN the entity moves to as well, as IAM requires; then it applies rename, the store's
// Update* method, in a store update. at gives an entity's path and name.
func updateMoved[T any](ctx context.Context, c *sts.Call, load loader[T], action, newNameParam string,
	arn func(accountID, path, name string) string, at func(T) (path, name string),
	rename func(tx *store.Tx, name, newName, newPath string) (T, error)) (any, error) {
	newName, newPath := c.Params.String(newNameParam), c.Params.String("NewPath")
	v, err := load(ctx, c, action)
	if err != nil {
		return nil, err
	}
	path, name := at(v)
	if newName != "" || newPath != "" {
		if err := c.Authorize(action, movedARN(c, arn, path, name, newPath, newName)); err != nil {
			return nil, err
		}
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := rename(tx, name, newName, newPath)
		return err
	}))
}

// pathParam is the Path parameter of a Create… action, "/" when absent.
func pathParam(p query.Params) string {
	if path := p.String("Path"); path != "" {
		return path
	}
	return "/"
}

// authorizeCreate authorizes action on arn, the entity a request creates, with the tags
// it adds and opts; creating with tags needs tagAction (iam:Tag…) on it too, as IAM
// requires.
func authorizeCreate(c *sts.Call, action, tagAction, arn string, tags account.Tags, opts ...sts.AuthzOption) error {
	if err := c.Authorize(action, arn, append(requestTagOpts(tags), opts...)...); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	return c.Authorize(tagAction, arn, requestTagOpts(tags)...)
}

// ok is the result of actions without output.
func ok(err error) (any, error) { return nil, err }

// movedARN is the ARN an Update* action gives an entity now at path/name: newPath and
// newName replace what they are not empty for. Renaming or moving needs the permission on
// the new ARN too, as IAM requires.
func movedARN(c *sts.Call, arn func(accountID, path, name string) string, path, name, newPath, newName string) string {
	if newPath != "" {
		path = newPath
	}
	if newName != "" {
		name = newName
	}
	return arn(c.AccountID(), path, name)
}

// userName is the UserName parameter or, when it is absent, the caller's own user, as
// IAM defaults it for the actions on one's own credentials.
func userName(c *sts.Call) (string, error) {
	if n := c.Params.String("UserName"); n != "" {
		return n, nil
	}
	switch {
	case c.Caller != nil && c.Caller.IsRoot():
		return account.RootUserName, nil
	case c.Caller != nil && c.Caller.IsUser():
		return c.Caller.Principal.Username, nil
	}
	return "", query.NewError(query.CodeValidationError, "Must specify userName when calling with non-User credentials")
}

// target is what an action is authorized on: the entity's ARN and tags, and condition
// keys that depend on the entity (its permissions boundary, for some actions).
type target struct {
	arn   string
	tags  account.Tags
	extra []sts.AuthzOption
}

// loaded reads an entity and authorizes action on it. When the entity does not exist,
// the action is authorized on missingARN (the ARN it would have at path "/") before
// NoSuchEntity is answered, so that a caller not allowed the action learns nothing
// about which entities exist.
func loaded[T any](ctx context.Context, c *sts.Call, action, missingARN string, get func(*store.Tx) (T, error),
	targetOf func(T) target, opts ...sts.AuthzOption) (T, error) {
	var v T
	err := view(ctx, c, func(tx *store.Tx) error {
		var err error
		v, err = get(tx)
		return err
	})
	if errors.Is(err, account.ErrNoSuchEntity) {
		if aerr := c.Authorize(action, missingARN, opts...); aerr != nil {
			return v, aerr
		}
		return v, err
	}
	if err != nil {
		return v, err
	}
	t := targetOf(v)
	all := append(tagOpts(t.tags), t.extra...)
	return v, c.Authorize(action, t.arn, append(all, opts...)...)
}

// loadByARN reads, with get, the entity whose ARN the parameter param holds (checked to
// be an ARN first) and authorizes action on it.
func loadByARN[T any](ctx context.Context, c *sts.Call, action, param string, get func(*store.Tx, string) (T, error),
	targetOf func(T) target, opts ...sts.AuthzOption) (T, error) {
	arn := c.Params.String(param)
	if _, err := account.ParseARN(arn); err != nil {
		var zero T
		return zero, err
	}
	return loaded(ctx, c, action, arn, func(tx *store.Tx) (T, error) { return get(tx, arn) }, targetOf, opts...)
}

// loadUser reads the user name (account.RootUserName: root) and authorizes action on it.
func loadUser(ctx context.Context, c *sts.Call, action, name string, opts ...sts.AuthzOption) (account.User, error) {
	return loaded(ctx, c, action, account.UserARN(c.AccountID(), "/", name),
		func(tx *store.Tx) (account.User, error) { return tx.User(name) },
		func(u account.User) target { return target{arn: u.ARN, tags: u.Tags} }, opts...)
}

// loadNamedUser reads the user UserName and authorizes action on it.
func loadNamedUser(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.User, error) {
	return loadUser(ctx, c, action, c.Params.String("UserName"), opts...)
}

// loadUserOrSelf reads the user UserName, or the caller's own user when the parameter
// is optional and absent (userName), and authorizes action on it.
func loadUserOrSelf(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.User, error) {
	name, err := userName(c)
	if err != nil {
		return account.User{}, err
	}
	return loadUser(ctx, c, action, name, opts...)
}

// loadGroup reads the group GroupName and authorizes action on it.
func loadGroup(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.Group, error) {
	name := c.Params.String("GroupName")
	return loaded(ctx, c, action, account.GroupARN(c.AccountID(), "/", name),
		func(tx *store.Tx) (account.Group, error) { return tx.Group(name) },
		func(g account.Group) target { return target{arn: g.ARN} }, opts...)
}

// loadRole reads the role RoleName and authorizes action on it.
func loadRole(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.Role, error) {
	name := c.Params.String("RoleName")
	return loaded(ctx, c, action, account.RoleARN(c.AccountID(), "/", name),
		func(tx *store.Tx) (account.Role, error) { return tx.Role(name) },
		func(r account.Role) target { return target{arn: r.ARN, tags: r.Tags} }, opts...)
}

// loadProfile reads the instance profile InstanceProfileName and authorizes action on it.
func loadProfile(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.InstanceProfile, error) {
	name := c.Params.String("InstanceProfileName")
	return loaded(ctx, c, action, account.InstanceProfileARN(c.AccountID(), "/", name),
		func(tx *store.Tx) (account.InstanceProfile, error) { return tx.InstanceProfile(name) },
		func(p account.InstanceProfile) target { return target{arn: p.ARN, tags: p.Tags} }, opts...)
}

// listARN is the resource of a list action: the type and path prefix, as IAM names it
// in its messages (arn:aws:iam::123456789012:user/).
func listARN(c *sts.Call, typ, pathPrefix string) string {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	return "arn:" + account.Partition + ":iam::" + c.AccountID() + ":" + typ + pathPrefix
}

// viewByPrefix reads, in a store view, one page (Marker, MaxItems) of the entities under
// the PathPrefix parameter with read, a store.Tx listing method, and answers them
// rendered with as in the list result name.
func viewByPrefix[T, X any](ctx context.Context, c *sts.Call, name string, read func(*store.Tx, string, store.Page) ([]T, string, error),
	as func(T) X) (any, error) {
	var next string
	items, err := viewed(ctx, c, func(tx *store.Tx) ([]T, error) {
		items, n, err := read(tx, c.Params.String("PathPrefix"), pageOf(c.Params))
		next = n
		return items, err
	})
	if err != nil {
		return nil, err
	}
	return listOf(name, render(items, as), pageResult(next)), nil
}

// listByPrefix returns the handler of List<name> (ListUsers, …): authorized on the
// entity type resource under PathPrefix, it answers one page of the entities there,
// read with read and rendered with as, in the list result name.
func listByPrefix[T, X any](name, resource string, read func(*store.Tx, string, store.Page) ([]T, string, error), as func(T) X) sts.Handler {
	return func(ctx context.Context, c *sts.Call) (any, error) {
		if err := c.Authorize("iam:List"+name, listARN(c, resource, c.Params.String("PathPrefix"))); err != nil {
			return nil, err
		}
		return viewByPrefix(ctx, c, name, read, as)
	}
}

// viewPaginated reads all of a listing with read in a store view and answers the page
// that Marker and MaxItems ask for, rendered with as, in the list result name.
func viewPaginated[T, X any](ctx context.Context, c *sts.Call, name string, read func(*store.Tx) ([]T, error), as func(T) X) (any, error) {
	all, err := viewed(ctx, c, read)
	if err != nil {
		return nil, err
	}
	return paged(c, name, all, as)
}

// paged answers the page of all that Marker and MaxItems ask for, rendered with as, in
// the list result name.
func paged[T, X any](c *sts.Call, name string, all []T, as func(T) X) (any, error) {
	items, next, err := paginate(all, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	return listOf(name, render(items, as), pageResult(next)), nil
}

// identity renders an item that is already in its XML shape.
func identity[T any](v T) T { return v }

// render is items rendered with as.
func render[T, X any](items []T, as func(T) X) []X {
	out := make([]X, len(items))
	for i, it := range items {
		out[i] = as(it)
	}
	return out
}

// pageOf reads Marker and MaxItems.
func pageOf(p query.Params) store.Page {
	n, _ := p.Int("MaxItems")
	return store.Page{Marker: p.String("Marker"), MaxItems: int(n)}
}
