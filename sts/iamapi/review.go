package iamapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// GetAccountAuthorizationDetails.

type policyDetailXML struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func policyDetails(ps account.InlinePolicies) members[policyDetailXML] {
	return list(render(ps, func(p account.InlinePolicy) policyDetailXML {
		return policyDetailXML{PolicyName: p.Name, PolicyDocument: account.EscapePolicyDocument(p.Document)}
	}))
}

func attachedList(arns []string) members[attachedXML] { return list(render(arns, attachedOf)) }

type userDetailXML struct {
	Path                    string                   `xml:"Path"`
	UserName                string                   `xml:"UserName"`
	UserID                  string                   `xml:"UserId"`
	ARN                     string                   `xml:"Arn"`
	CreateDate              query.Timestamp          `xml:"CreateDate"`
	UserPolicyList          members[policyDetailXML] `xml:"UserPolicyList"`
	GroupList               members[string]          `xml:"GroupList"`
	AttachedManagedPolicies members[attachedXML]     `xml:"AttachedManagedPolicies"`
	PermissionsBoundary     *boundaryXML             `xml:"PermissionsBoundary,omitempty"`
	Tags                    members[tagXML]          `xml:"Tags"`
}

// groupDetailXML is a group as GetGroup shows it, with its policies.
type groupDetailXML struct {
	groupXML
	GroupPolicyList         members[policyDetailXML] `xml:"GroupPolicyList"`
	AttachedManagedPolicies members[attachedXML]     `xml:"AttachedManagedPolicies"`
}

type roleDetailXML struct {
	Path                     string                   `xml:"Path"`
	RoleName                 string                   `xml:"RoleName"`
	RoleID                   string                   `xml:"RoleId"`
	ARN                      string                   `xml:"Arn"`
	CreateDate               query.Timestamp          `xml:"CreateDate"`
	AssumeRolePolicyDocument string                   `xml:"AssumeRolePolicyDocument"`
	InstanceProfileList      members[profileXML]      `xml:"InstanceProfileList"`
	RolePolicyList           members[policyDetailXML] `xml:"RolePolicyList"`
	AttachedManagedPolicies  members[attachedXML]     `xml:"AttachedManagedPolicies"`
	PermissionsBoundary      *boundaryXML             `xml:"PermissionsBoundary,omitempty"`
	Tags                     members[tagXML]          `xml:"Tags"`
	RoleLastUsed             roleLastUsedXML          `xml:"RoleLastUsed"`
}

// managedDetailXML is a policy as GetPolicy shows it, without tags, and its versions.
type managedDetailXML struct {
	policyXML
	PolicyVersionList members[versionXML] `xml:"PolicyVersionList"`
}

type gaadResult struct {
	UserDetailList  members[userDetailXML]    `xml:"UserDetailList"`
	GroupDetailList members[groupDetailXML]   `xml:"GroupDetailList"`
	RoleDetailList  members[roleDetailXML]    `xml:"RoleDetailList"`
	Policies        members[managedDetailXML] `xml:"Policies"`
	page
}

// gaadSections are the parts of GetAccountAuthorizationDetails' answer, in the order
// pages walk them; they are also the values of its Filter.
var gaadSections = []string{"User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"}

// getAccountAuthorizationDetails answers a page at a time, each page read from the
// store's own pages (a marker names the section and the store's marker in it), so a
// page costs the same however large the account.
func (a *API) getAccountAuthorizationDetails(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetAccountAuthorizationDetails", "*"); err != nil {
		return nil, err
	}
	filter := c.Params.Strings("Filter")
	sections := gaadSections
	if len(filter) > 0 {
		sections = slices.DeleteFunc(slices.Clone(gaadSections), func(s string) bool { return !slices.Contains(filter, s) })
	}
	pg := pageOf(c.Params)
	limit := pg.MaxItems
	if limit <= 0 {
		limit = 100
	}
	start, inner := 0, ""
	if pg.Marker != "" {
		sec, rest, found := strings.Cut(pg.Marker, ".")
		start = slices.Index(sections, sec)
		if !found || start < 0 {
			return nil, account.Errorf(account.InvalidInput, "Invalid Marker.")
		}
		inner = rest
	}
	allAWS := slices.Contains(filter, "AWSManagedPolicy")
	r := &gaadResult{}
	err := view(ctx, c, func(tx *store.Tx) error {
		for i := start; i < len(sections); i++ {
			if limit == 0 {
				var probe gaadResult
				n, _, err := a.gaadSection(c, tx, &probe, sections[i], "", 1, allAWS)
				if err != nil {
					return err
				}
				if n > 0 {
					r.page = pageResult(sections[i] + ".")
					return nil
				}
				continue
			}
			n, next, err := a.gaadSection(c, tx, r, sections[i], inner, limit, allAWS)
			if err != nil {
				return err
			}
			if next != "" {
				r.page = pageResult(sections[i] + "." + next)
				return nil
			}
			limit -= n
			inner = ""
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// gaadSection appends up to max items of one section to r, from marker; it returns how
// many and the section's next marker.
func (a *API) gaadSection(c *sts.Call, tx *store.Tx, r *gaadResult, section, marker string, max int, allAWS bool) (int, string, error) {
	p := store.Page{Marker: marker, MaxItems: max}
	switch section {
	case "User":
		return gaadPage(&r.UserDetailList, func() ([]account.User, string, error) { return tx.Users("", p) }, func(u account.User) (userDetailXML, error) {
			groups, err := tx.GroupsForUser(u.Name)
			return userDetailXML{Path: u.Path, UserName: u.Name, UserID: u.ID, ARN: u.ARN,
				CreateDate: ts(u.Created), UserPolicyList: policyDetails(u.InlinePolicies), GroupList: list(render(groups, func(g account.Group) string { return g.Name })),
				AttachedManagedPolicies: attachedList(u.ManagedPolicies), PermissionsBoundary: boundaryOf(u.PermissionsBoundary), Tags: list(tagsXML(u.Tags))}, err
		})
	case "Group":
		return gaadPage(&r.GroupDetailList, func() ([]account.Group, string, error) { return tx.Groups("", p) }, func(g account.Group) (groupDetailXML, error) {
			return groupDetailXML{groupXML: groupOf(g), GroupPolicyList: policyDetails(g.InlinePolicies),
				AttachedManagedPolicies: attachedList(g.ManagedPolicies)}, nil
		})
	case "Role":
		return gaadPage(&r.RoleDetailList, func() ([]account.Role, string, error) { return tx.Roles("", p) }, func(role account.Role) (roleDetailXML, error) {
			ips, err := tx.InstanceProfilesForRole(role.Name)
			return roleDetailXML{Path: role.Path, RoleName: role.Name, RoleID: role.ID, ARN: role.ARN,
				CreateDate: ts(role.Created), AssumeRolePolicyDocument: account.EscapePolicyDocument(role.AssumeRolePolicy),
				InstanceProfileList: list(render(ips, profileOf)), RolePolicyList: policyDetails(role.InlinePolicies),
				AttachedManagedPolicies: attachedList(role.ManagedPolicies), PermissionsBoundary: boundaryOf(role.PermissionsBoundary),
				Tags: list(tagsXML(role.Tags)), RoleLastUsed: roleLastUsedXML{LastUsedDate: optTS(role.LastUsed.Date), Region: role.LastUsed.Region}}, err
		})
	case "LocalManagedPolicy":
		return gaadPage(&r.Policies, func() ([]account.ManagedPolicy, string, error) { return tx.Policies(store.PolicyFilter{}, p) },
			func(mp account.ManagedPolicy) (managedDetailXML, error) {
				vs, err := tx.PolicyVersions(mp.ARN)
				return managedDetail(mp, vs), err
			})
	}
	type awsEntry struct {
		p account.ManagedPolicy
		v account.PolicyVersion
	}
	var aws []awsEntry
	for _, m := range c.Catalog().All() {
		if !account.IsAWSManagedPolicyARN(m.ARN) {
			continue
		}
		mp, err := awsPolicy(tx, m)
		if err != nil {
			return 0, "", err
		}
		if allAWS || mp.AttachmentCount > 0 || mp.PermissionsBoundaryUsageCount > 0 {
			aws = append(aws, awsEntry{mp, account.PolicyVersion{ID: m.DefaultVersionID, Document: string(m.Document), Created: m.CreateDate, IsDefault: true}})
		}
	}
	return gaadPage(&r.Policies, func() ([]awsEntry, string, error) { return paginate(aws, p) }, func(e awsEntry) (managedDetailXML, error) {
		return managedDetail(e.p, []account.PolicyVersion{e.v}), nil
	})
}

// gaadPage appends to list the details of one page of entities that read answers,
// each made by detail (which may read more); it returns how many and the next marker.
func gaadPage[T, X any](list *members[X], read func() ([]T, string, error), detail func(T) (X, error)) (int, string, error) {
	items, next, err := read()
	if err != nil {
		return 0, "", err
	}
	for _, it := range items {
		x, err := detail(it)
		if err != nil {
			return 0, "", err
		}
		list.Member = append(list.Member, x)
	}
	return len(items), next, nil
}

func managedDetail(mp account.ManagedPolicy, vs []account.PolicyVersion) managedDetailXML {
	x := policyOf(mp, true)
	x.Tags = nil
	return managedDetailXML{policyXML: x, PolicyVersionList: list(render(vs, func(v account.PolicyVersion) versionXML { return versionOf(v, true) }))}
}

// Credential reports.

// credentialReport is the last report made: it holds no secret, only dates and flags.
type credentialReport struct {
	generated time.Time
	content   []byte
}

// CredentialReportColumns are the CSV columns of IAM's credential report, in its order.
var CredentialReportColumns = []string{"user", "arn", "user_creation_time", "password_enabled", "password_last_used",
	"password_last_changed", "password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"}

// reportTime is how the credential report writes times.
func reportTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

type generateReportResult struct {
	State       string `xml:"State"`
	Description string `xml:"Description,omitempty"`
}

// generateCredentialReport makes a report unless a fresh one exists: the first call
// answers STARTED, as IAM's does, and the report is ready at once.
func (a *API) generateCredentialReport(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GenerateCredentialReport", "*"); err != nil {
		return nil, err
	}
	a.reportMu.Lock()
	defer a.reportMu.Unlock()
	if a.report != nil && c.Now.Sub(a.report.generated) < a.o.CredentialReportTTL {
		return &generateReportResult{State: "COMPLETE"}, nil
	}
	content, err := a.makeReport(ctx, c)
	if err != nil {
		return nil, err
	}
	a.report = &credentialReport{generated: c.Now.UTC().Truncate(time.Second), content: content}
	return &generateReportResult{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
}

type getReportResult struct {
	Content       string          `xml:"Content"` // blob: base64
	ReportFormat  string          `xml:"ReportFormat"`
	GeneratedTime query.Timestamp `xml:"GeneratedTime"`
}

func (a *API) getCredentialReport(_ context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetCredentialReport", "*"); err != nil {
		return nil, err
	}
	a.reportMu.Lock()
	r := a.report
	a.reportMu.Unlock()
	switch {
	case r == nil:
		return nil, query.NewError("ReportNotPresent", "Credential report not present. Use GenerateCredentialReport to generate a report.")
	case c.Now.Sub(r.generated) >= a.o.CredentialReportTTL:
		return nil, query.NewError("ReportExpired", "Credential report is expired. Use GenerateCredentialReport to generate a new report.")
	}
	return &getReportResult{Content: base64.StdEncoding.EncodeToString(r.content), ReportFormat: "text/csv", GeneratedTime: ts(r.generated)}, nil
}

// makeReport writes the credential report: the root user, then every user by name.
func (a *API) makeReport(ctx context.Context, c *sts.Call) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(CredentialReportColumns); err != nil {
		return nil, err
	}
	err := view(ctx, c, func(tx *store.Tx) error {
		acct, err := tx.Account()
		if err != nil {
			return err
		}
		root, err := tx.User(account.RootUserName)
		if err != nil {
			return err
		}
		if err := w.Write(reportRow(tx, root, acct.PasswordPolicy)); err != nil {
			return err
		}
		p := store.Page{MaxItems: 1000}
		for {
			users, next, err := tx.Users("", p)
			if err != nil {
				return err
			}
			for _, u := range users {
				if err := w.Write(reportRow(tx, u, acct.PasswordPolicy)); err != nil {
					return err
				}
			}
			if next == "" {
				return nil
			}
			p.Marker = next
		}
	})
	if err != nil {
		return nil, err
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// reportRow is one user's row; what cannot be read (a broken record) reads as absent.
func reportRow(tx *store.Tx, u account.User, pp *account.PasswordPolicy) []string {
	const na = "N/A"
	row := []string{u.Name, u.ARN, reportTime(u.Created)}
	lp, lpErr := tx.LoginProfile(u.Name)
	hasPassword := lpErr == nil
	lastUsed := na
	if !u.PasswordLastUsed.IsZero() {
		lastUsed = reportTime(u.PasswordLastUsed)
	} else if hasPassword || u.IsRoot() {
		lastUsed = "no_information"
	}
	switch {
	case u.IsRoot():
		row = append(row, "not_supported", lastUsed, "not_supported", "not_supported")
	case hasPassword:
		next := na
		if pp != nil && pp.MaxPasswordAge > 0 {
			next = reportTime(lp.PasswordChanged.Add(time.Duration(pp.MaxPasswordAge) * 24 * time.Hour))
		}
		row = append(row, "true", lastUsed, reportTime(lp.PasswordChanged), next)
	default:
		row = append(row, "false", na, na, na)
	}
	mfa, _ := tx.MFADevices(u.Name)
	row = append(row, strconv.FormatBool(len(mfa) > 0))
	keys, _ := tx.AccessKeys(u.Name)
	for i := range 2 {
		if i >= len(keys) {
			row = append(row, "false", na, na, na, na)
			continue
		}
		k := keys[i]
		used, region, service := na, na, na
		if !k.LastUsed.Date.IsZero() {
			used, region, service = reportTime(k.LastUsed.Date), k.LastUsed.Region, k.LastUsed.Service
		}
		row = append(row, strconv.FormatBool(k.Status == account.KeyActive), reportTime(k.Created), used, region, service)
	}
	certs, _ := tx.UserCredentials(account.CredSigningCertificate, u.Name)
	for i := range 2 {
		if i >= len(certs) {
			row = append(row, "false", na)
			continue
		}
		row = append(row, strconv.FormatBool(certs[i].Status == account.KeyActive), reportTime(certs[i].Created))
	}
	return row
}

// GetAccountSummary.

type summaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type summaryResult struct {
	SummaryMap struct {
		Entry []summaryEntry `xml:"entry"`
	} `xml:"SummaryMap"`
}

// getAccountSummary counts the account's entities and states IAM's default quotas
// (the attached-policy quotas are the ones the store enforces).
func (a *API) getAccountSummary(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetAccountSummary", "*"); err != nil {
		return nil, err
	}
	var sum store.Summary
	var rootMFA, rootKeys, rootPassword, rootCerts bool
	var tokenVersion int
	err := view(ctx, c, func(tx *store.Tx) error {
		var err error
		if sum, err = tx.Summary(); err != nil {
			return err
		}
		mfa, err := tx.MFADevices(account.RootUserName)
		if err != nil {
			return err
		}
		keys, err := tx.AccessKeys(account.RootUserName)
		if err != nil {
			return err
		}
		_, lpErr := tx.LoginProfile(account.RootUserName)
		rootMFA, rootKeys, rootPassword = len(mfa) > 0, len(keys) > 0, lpErr == nil
		certs, err := tx.UserCredentials(account.CredSigningCertificate, account.RootUserName)
		if err != nil {
			return err
		}
		acct, err := tx.Account()
		rootCerts, tokenVersion = len(certs) > 0, max(acct.STSGlobalEndpointTokenVersion, 1)
		return err
	})
	if err != nil {
		return nil, err
	}
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	entries := []summaryEntry{
		{"Users", sum.Users}, {"UsersQuota", 5000}, {"Groups", sum.Groups}, {"GroupsQuota", 300},
		{"Roles", sum.Roles}, {"RolesQuota", 1000}, {"Policies", sum.Policies}, {"PoliciesQuota", 1500},
		{"InstanceProfiles", sum.InstanceProfiles}, {"InstanceProfilesQuota", 1000},
		{"ServerCertificates", sum.ServerCertificates}, {"ServerCertificatesQuota", account.MaxServerCertificatesPerAccount},
		{"MFADevices", sum.MFADevices}, {"MFADevicesInUse", sum.MFADevicesInUse}, {"Providers", sum.Providers},
		{"PolicyVersionsInUse", sum.PolicyVersionsInUse}, {"PolicyVersionsInUseQuota", 10000},
		{"VersionsPerPolicyQuota", account.MaxPolicyVersions}, {"PolicySizeQuota", store.MaxManagedPolicySize},
		{"UserPolicySizeQuota", policy.MaxUserInlineSize}, {"GroupPolicySizeQuota", policy.MaxGroupInlineSize},
		{"RolePolicySizeQuota", policy.MaxRoleInlineSize}, {"AssumeRolePolicySizeQuota", policy.MaxTrustSize}, {"GroupsPerUserQuota", account.MaxGroupsPerUser},
		{"AccessKeysPerUserQuota", account.MaxAccessKeysPerUser}, {"SigningCertificatesPerUserQuota", 2},
		{"AttachedPoliciesPerUserQuota", account.MaxManagedPoliciesPerOne},
		{"AttachedPoliciesPerGroupQuota", account.MaxManagedPoliciesPerOne},
		{"AttachedPoliciesPerRoleQuota", account.MaxManagedPoliciesPerOne},
		{"AccountMFAEnabled", b(rootMFA)}, {"AccountAccessKeysPresent", b(rootKeys)},
		{"AccountPasswordPresent", b(rootPassword)}, {"AccountSigningCertificatesPresent", b(rootCerts)},
		{"GlobalEndpointTokenVersion", tokenVersion},
	}
	var r summaryResult
	r.SummaryMap.Entry = entries
	return &r, nil
}

// Account aliases.

func (a *API) createAccountAlias(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:CreateAccountAlias", "*"); err != nil {
		return nil, err
	}
	alias := c.Params.String("AccountAlias")
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.CreateAccountAlias(alias) }))
}

func (a *API) listAccountAliases(ctx context.Context, c *sts.Call) (any, error) {
	acct, err := viewAuthorized(ctx, c, "iam:ListAccountAliases", (*store.Tx).Account)
	if err != nil {
		return nil, err
	}
	return paged(c, "AccountAliases", acct.Aliases, identity)
}

func (a *API) deleteAccountAlias(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:DeleteAccountAlias", "*"); err != nil {
		return nil, err
	}
	alias := c.Params.String("AccountAlias")
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteAccountAlias(alias) }))
}
