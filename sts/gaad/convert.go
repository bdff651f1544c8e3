package gaad

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// RevokePolicyName is the inline policy by which AWS revokes a role's older sessions.
const RevokePolicyName = "AWSRevokeOlderSessions"

const boundaryType = "PermissionsBoundaryPolicy"

// Import adds the document's users, groups, roles, instance profiles and customer
// managed policies to the store of tx, keeping their ids and dates. AWS managed policies
// in the document are skipped (the policy engine has its own); attachments to them are
// kept. Run it in one Update so that a failure imports nothing:
//
//	err := s.Update(ctx, func(tx *store.Tx) error { return gaad.Import(tx, doc) })
//
// Every ARN must be in the store's account and agree with its entity's path and name.
func Import(tx *store.Tx, d *Document) error {
	acct := tx.AccountID()
	for _, p := range d.Policies {
		if account.IsAWSManagedPolicyARN(p.Arn) {
			continue
		}
		if err := checkARN("policy "+p.PolicyName, p.Arn, account.PolicyARN(acct, p.Path, p.PolicyName)); err != nil {
			return err
		}
		versions := make([]account.PolicyVersion, 0, len(p.PolicyVersionList))
		for _, v := range p.PolicyVersionList {
			versions = append(versions, account.PolicyVersion{ID: v.VersionID, Document: string(v.Document), Created: v.CreateDate.Time, IsDefault: v.IsDefaultVersion})
		}
		mp := account.ManagedPolicy{ID: p.PolicyID, Name: p.PolicyName, Path: p.Path, Description: p.Description, Created: p.CreateDate.Time, Updated: p.UpdateDate.Time}
		if _, err := tx.ImportPolicy(mp, versions); err != nil {
			return fmt.Errorf("importing policy %s: %w", p.Arn, err)
		}
	}
	for _, g := range d.GroupDetailList {
		if err := checkARN("group "+g.GroupName, g.Arn, account.GroupARN(acct, g.Path, g.GroupName)); err != nil {
			return err
		}
		_, err := tx.CreateGroup(account.Group{ID: g.GroupID, Name: g.GroupName, Path: g.Path, Created: g.CreateDate.Time,
			InlinePolicies: inline(g.GroupPolicyList), ManagedPolicies: attached(g.AttachedManagedPolicies)})
		if err != nil {
			return fmt.Errorf("importing group %s: %w", g.GroupName, err)
		}
	}
	for _, u := range d.UserDetailList {
		if err := checkARN("user "+u.UserName, u.Arn, account.UserARN(acct, u.Path, u.UserName)); err != nil {
			return err
		}
		_, err := tx.CreateUser(account.User{ID: u.UserID, Name: u.UserName, Path: u.Path, Created: u.CreateDate.Time,
			PermissionsBoundary: boundaryARN(u.PermissionsBoundary), Tags: tags(u.Tags),
			InlinePolicies: inline(u.UserPolicyList), ManagedPolicies: attached(u.AttachedManagedPolicies)})
		if err != nil {
			return fmt.Errorf("importing user %s: %w", u.UserName, err)
		}
		for _, g := range u.GroupList {
			if err := tx.AddUserToGroup(g, u.UserName); err != nil {
				return fmt.Errorf("importing user %s: group %s: %w", u.UserName, g, err)
			}
		}
	}
	profiles := map[string]InstanceProfile{}
	var order []string
	for _, r := range d.RoleDetailList {
		if err := checkARN("role "+r.RoleName, r.Arn, account.RoleARN(acct, r.Path, r.RoleName)); err != nil {
			return err
		}
		role := account.Role{ID: r.RoleID, Name: r.RoleName, Path: r.Path, Created: r.CreateDate.Time,
			AssumeRolePolicy: string(r.AssumeRolePolicyDocument), Description: r.Description,
			MaxSessionDuration:  time.Duration(r.MaxSessionDuration) * time.Second,
			PermissionsBoundary: boundaryARN(r.PermissionsBoundary), Tags: tags(r.Tags),
			ManagedPolicies: attached(r.AttachedManagedPolicies)}
		for _, p := range r.RolePolicyList {
			if t, ok := parseRevoke(p); ok {
				role.RevokeSessionsBefore = t
				continue
			}
			role.InlinePolicies = role.InlinePolicies.Put(p.PolicyName, string(p.PolicyDocument))
		}
		if r.RoleLastUsed.LastUsedDate != nil {
			role.LastUsed = account.RoleLastUsed{Date: r.RoleLastUsed.LastUsedDate.Time, Region: r.RoleLastUsed.Region}
		}
		if _, err := tx.CreateRole(role); err != nil {
			return fmt.Errorf("importing role %s: %w", r.RoleName, err)
		}
		for _, ip := range r.InstanceProfileList {
			if _, seen := profiles[ip.InstanceProfileID]; !seen {
				order = append(order, ip.InstanceProfileID)
			}
			profiles[ip.InstanceProfileID] = ip
		}
	}
	for _, id := range order {
		ip := profiles[id]
		if err := checkARN("instance profile "+ip.InstanceProfileName, ip.Arn, account.InstanceProfileARN(acct, ip.Path, ip.InstanceProfileName)); err != nil {
			return err
		}
		_, err := tx.CreateInstanceProfile(account.InstanceProfile{ID: ip.InstanceProfileID, Name: ip.InstanceProfileName, Path: ip.Path,
			Created: ip.CreateDate.Time, Tags: tags(ip.Tags)})
		if err != nil {
			return fmt.Errorf("importing instance profile %s: %w", ip.InstanceProfileName, err)
		}
		for _, r := range ip.Roles {
			if err := tx.AddRoleToInstanceProfile(ip.InstanceProfileName, r.RoleName); err != nil {
				return fmt.Errorf("importing instance profile %s: role %s: %w", ip.InstanceProfileName, r.RoleName, err)
			}
		}
	}
	return nil
}

func checkARN(what, got, want string) error {
	if got != "" && got != want {
		return account.Errorf(account.InvalidInput, "%s: ARN %s does not match its account, path and name (%s).", what, got, want)
	}
	return nil
}

func inline(ps []PolicyDetail) account.InlinePolicies {
	var out account.InlinePolicies
	for _, p := range ps {
		out = out.Put(p.PolicyName, string(p.PolicyDocument))
	}
	return out
}

func attached(ps []AttachedPolicy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PolicyArn)
	}
	return out
}

func tags(ts []Tag) account.Tags {
	var out account.Tags
	for _, t := range ts {
		out = append(out, account.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

func boundaryARN(b *PermissionsBoundary) string {
	if b == nil {
		return ""
	}
	return b.PermissionsBoundaryArn
}

// revokeDocument is the shape of AWS's AWSRevokeOlderSessions policy.
type revokeDocument struct {
	Version   string `json:"Version"`
	Statement []struct {
		Effect    string                       `json:"Effect"`
		Action    json.RawMessage              `json:"Action"`
		Resource  json.RawMessage              `json:"Resource"`
		Condition map[string]map[string]string `json:"Condition"`
	} `json:"Statement"`
}

func revokeDoc(before time.Time) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],` +
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + before.UTC().Format(time.RFC3339) + `"}}}]}`
}

// parseRevoke recognises AWS's AWSRevokeOlderSessions policy and returns its time.
func parseRevoke(p PolicyDetail) (time.Time, bool) {
	if p.PolicyName != RevokePolicyName {
		return time.Time{}, false
	}
	var d revokeDocument
	if err := json.Unmarshal([]byte(p.PolicyDocument), &d); err != nil || len(d.Statement) != 1 {
		return time.Time{}, false
	}
	st := d.Statement[0]
	star := func(raw json.RawMessage) bool {
		s := strings.ReplaceAll(string(raw), " ", "")
		return s == `"*"` || s == `["*"]`
	}
	if st.Effect != "Deny" || !star(st.Action) || !star(st.Resource) || len(st.Condition) != 1 || len(st.Condition["DateLessThan"]) != 1 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, st.Condition["DateLessThan"]["aws:TokenIssueTime"])
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// Export reads the account's users, groups, roles (with their instance profiles) and
// customer managed policies (with all versions) from the store of tx:
//
//	err := s.View(ctx, func(tx *store.Tx) error { doc, err = gaad.Export(tx); return err })
func Export(tx *store.Tx) (*Document, error) {
	d := &Document{UserDetailList: []UserDetail{}, GroupDetailList: []GroupDetail{}, RoleDetailList: []RoleDetail{}, Policies: []ManagedPolicyDetail{}}
	for _, add := range []func(*store.Tx) error{d.addUsers, d.addGroups, d.addRoles, d.addPolicies} {
		if err := add(tx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// addUsers adds every user of the store, with its groups, to UserDetailList.
func (d *Document) addUsers(tx *store.Tx) error {
	return each(tx.Users, "", func(u account.User) error {
		groups, err := tx.GroupsForUser(u.Name)
		if err != nil {
			return err
		}
		ud := UserDetail{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: Time{u.Created},
			UserPolicyList: policyDetails(u.InlinePolicies), GroupList: []string{}, AttachedManagedPolicies: attachedPolicies(u.ManagedPolicies),
			PermissionsBoundary: boundary(u.PermissionsBoundary), Tags: exportTags(u.Tags)}
		for _, g := range groups {
			ud.GroupList = append(ud.GroupList, g.Name)
		}
		d.UserDetailList = append(d.UserDetailList, ud)
		return nil
	})
}

// addGroups adds every group of the store to GroupDetailList.
func (d *Document) addGroups(tx *store.Tx) error {
	return each(tx.Groups, "", func(g account.Group) error {
		d.GroupDetailList = append(d.GroupDetailList, GroupDetail{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN,
			CreateDate: Time{g.Created}, GroupPolicyList: policyDetails(g.InlinePolicies), AttachedManagedPolicies: attachedPolicies(g.ManagedPolicies)})
		return nil
	})
}

// addRoles adds every role of the store, with its instance profiles, to
// RoleDetailList.
func (d *Document) addRoles(tx *store.Tx) error {
	return each(tx.Roles, "", func(r account.Role) error {
		ips, err := tx.InstanceProfilesForRole(r.Name)
		if err != nil {
			return err
		}
		rd := RoleDetail{Role: exportRole(r), Description: r.Description,
			MaxSessionDuration: int(r.MaxSessionDuration / time.Second), InstanceProfileList: []InstanceProfile{},
			RolePolicyList: policyDetails(r.InlinePolicies), AttachedManagedPolicies: attachedPolicies(r.ManagedPolicies),
			PermissionsBoundary: boundary(r.PermissionsBoundary), Tags: exportTags(r.Tags)}
		if !r.RevokeSessionsBefore.IsZero() {
			rd.RolePolicyList = append(rd.RolePolicyList, PolicyDetail{PolicyName: RevokePolicyName, PolicyDocument: PolicyDocument(revokeDoc(r.RevokeSessionsBefore))})
		}
		if !r.LastUsed.Date.IsZero() {
			rd.RoleLastUsed = RoleLastUsed{LastUsedDate: &Time{r.LastUsed.Date}, Region: r.LastUsed.Region}
		}
		for _, ip := range ips {
			out := InstanceProfile{Path: ip.Path, InstanceProfileName: ip.Name, InstanceProfileID: ip.ID, Arn: ip.ARN,
				CreateDate: Time{ip.Created}, Roles: []Role{}}
			if len(ip.Tags) > 0 {
				out.Tags = exportTags(ip.Tags)
			}
			for _, pr := range ip.Roles {
				out.Roles = append(out.Roles, exportRole(pr))
			}
			rd.InstanceProfileList = append(rd.InstanceProfileList, out)
		}
		d.RoleDetailList = append(d.RoleDetailList, rd)
		return nil
	})
}

// addPolicies adds every customer managed policy of the store, with all its
// versions, to Policies.
func (d *Document) addPolicies(tx *store.Tx) error {
	return each(tx.Policies, store.PolicyFilter{}, func(pol account.ManagedPolicy) error {
		versions, err := tx.PolicyVersions(pol.ARN)
		if err != nil {
			return err
		}
		md := ManagedPolicyDetail{PolicyName: pol.Name, PolicyID: pol.ID, Arn: pol.ARN, Path: pol.Path, DefaultVersionID: pol.DefaultVersion,
			AttachmentCount: pol.AttachmentCount, PermissionsBoundaryUsageCount: pol.PermissionsBoundaryUsageCount, IsAttachable: true,
			Description: pol.Description, CreateDate: Time{pol.Created}, UpdateDate: Time{pol.Updated}}
		for _, v := range versions {
			md.PolicyVersionList = append(md.PolicyVersionList, PolicyVersion{Document: PolicyDocument(v.Document), VersionID: v.ID,
				IsDefaultVersion: v.IsDefault, CreateDate: Time{v.Created}})
		}
		d.Policies = append(d.Policies, md)
		return nil
	})
}

// each calls fn on every item list answers for filter, page after page, stopping
// at the first error.
func each[F, T any](list func(F, store.Page) ([]T, string, error), filter F, fn func(T) error) error {
	return pages(func(p store.Page) (string, error) {
		items, next, err := list(filter, p)
		for _, it := range items {
			if err := fn(it); err != nil {
				return "", err
			}
		}
		return next, err
	})
}

// pages calls list for every page until it returns no next marker.
func pages(list func(store.Page) (string, error)) error {
	p := store.Page{MaxItems: 1000}
	for {
		next, err := list(p)
		if err != nil || next == "" {
			return err
		}
		p.Marker = next
	}
}

func policyDetails(ps account.InlinePolicies) []PolicyDetail {
	out := []PolicyDetail{}
	for _, p := range ps {
		out = append(out, PolicyDetail{PolicyName: p.Name, PolicyDocument: PolicyDocument(p.Document)})
	}
	return out
}

func attachedPolicies(arns []string) []AttachedPolicy {
	out := []AttachedPolicy{}
	for _, a := range arns {
		out = append(out, AttachedPolicy{PolicyName: a[strings.LastIndexByte(a, '/')+1:], PolicyArn: a})
	}
	return out
}

func boundary(arn string) *PermissionsBoundary {
	if arn == "" {
		return nil
	}
	return &PermissionsBoundary{PermissionsBoundaryType: boundaryType, PermissionsBoundaryArn: arn}
}

func exportTags(ts account.Tags) []Tag {
	out := []Tag{}
	for _, t := range ts {
		out = append(out, Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// exportRole is the Role part of a role's details.
func exportRole(r account.Role) Role {
	return Role{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: Time{r.Created},
		AssumeRolePolicyDocument: PolicyDocument(r.AssumeRolePolicy)}
}
