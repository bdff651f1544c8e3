package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/internal/clocktest"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store/kv"
)

func TestUsers(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			u, err := tx.CreateUser(account.User{Name: "Alice", Path: "/eng/", Tags: account.Tags{{Key: "team", Value: "core"}}})
			ok(t, "CreateUser", err)
			if !strings.HasPrefix(u.ID, "AIDA") || len(u.ID) != 21 {
				t.Errorf("user id %q is not in AWS's shape", u.ID)
			}
			if acct, _ := account.AccountFromID(u.ID); acct != testAccount {
				t.Errorf("user id %s encodes account %q", u.ID, acct)
			}
			if want := "arn:aws:iam::123456789012:user/eng/Alice"; u.ARN != want {
				t.Errorf("ARN %s, want %s", u.ARN, want)
			}
			if !u.Created.Equal(testEpoch) {
				t.Errorf("Created %v", u.Created)
			}
			_, err = tx.CreateUser(account.User{Name: "alice"})
			wantCode(t, "duplicate in another case", err, account.EntityAlreadyExists, "User with name alice already exists.")
			_, err = tx.CreateUser(account.User{Name: "bad name"})
			wantCode(t, "bad name", err, account.ValidationError, `1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`)
			_, err = tx.CreateUser(account.User{Name: "bob", ManagedPolicies: []string{"arn:aws:iam::123456789012:policy/nope"}})
			wantCode(t, "missing policy", err, account.NoSuchEntity, "Policy arn:aws:iam::123456789012:policy/nope does not exist or is not attachable.")
			for i := range 5 {
				_, err := tx.CreateUser(account.User{Name: fmt.Sprintf("user%d", i), Path: []string{"/", "/eng/"}[i%2]})
				ok(t, "CreateUser", err)
			}
			return nil
		})
		view(t, s, func(tx *Tx) error {
			u, err := tx.User("ALICE")
			ok(t, "User in upper case", err)
			if u.Name != "Alice" {
				t.Errorf("User(ALICE).Name = %q", u.Name)
			}
			_, err = tx.User("carol")
			wantCode(t, "missing user", err, account.NoSuchEntity, "The user with name carol cannot be found.")
			// Pages of two, all users, by lower-case name.
			all, err := allPages(2, func(p Page) ([]account.User, string, error) { return tx.Users("", p) })
			ok(t, "Users", err)
			names := namesOf(all, func(u account.User) string { return u.Name })
			if diff := cmp.Diff([]string{"Alice", "user0", "user1", "user2", "user3", "user4"}, names); diff != "" {
				t.Errorf("paged Users (-want +got):\n%s", diff)
			}
			eng, next, err := tx.Users("/eng/", Page{})
			ok(t, "Users(/eng/)", err)
			if len(eng) != 3 || next != "" {
				t.Errorf("Users(/eng/) = %d users, next %q", len(eng), next)
			}
			_, _, err = tx.Users("", Page{Marker: "garbage!"})
			wantCode(t, "bad marker", err, account.InvalidInput, "")
			root, err := tx.User(account.RootUserName)
			ok(t, "root", err)
			if root.ARN != "arn:aws:iam::123456789012:root" || root.ID != testAccount || !root.IsRoot() {
				t.Errorf("root user = %+v", root)
			}
			return nil
		})
		// Rename and move; the old name is free again.
		update(t, s, func(tx *Tx) error {
			_, err := tx.UpdateUser("alice", "user0", "")
			wantCode(t, "rename onto another user", err, account.EntityAlreadyExists, "")
			u, err := tx.UpdateUser("alice", "alicia", "/ops/")
			ok(t, "UpdateUser", err)
			if u.ARN != "arn:aws:iam::123456789012:user/ops/alicia" {
				t.Errorf("renamed ARN %s", u.ARN)
			}
			_, err = tx.User("alice")
			wantCode(t, "old name", err, account.NoSuchEntity, "")
			_, err = tx.CreateUser(account.User{Name: "alice"})
			ok(t, "reuse the old name", err)
			return nil
		})
	})
}

func TestDeleteUserConflicts(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		var keyID string
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "bob"})
			ok(t, "CreateUser", err)
			_, err = tx.CreateGroup(account.Group{Name: "devs"})
			ok(t, "CreateGroup", err)
			ok(t, "AddUserToGroup", tx.AddUserToGroup("devs", "bob"))
			k, err := tx.CreateAccessKey("bob")
			ok(t, "CreateAccessKey", err)
			keyID = k.ID
			ok(t, "PutInlinePolicy", tx.PutInlinePolicy(account.UserRef("bob"), "s3", allowS3))
			ok(t, "AttachPolicy", tx.AttachPolicy(account.UserRef("bob"), "arn:aws:iam::aws:policy/ReadOnlyAccess"))
			hash, err := account.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}.Hash("Password123!", strings.NewReader(strings.Repeat("s", 16)))
			ok(t, "Hash", err)
			_, err = tx.CreateLoginProfile(account.LoginProfile{UserName: "bob", PasswordHash: hash})
			ok(t, "CreateLoginProfile", err)
			d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: "bob-phone"})
			ok(t, "CreateVirtualMFADevice", err)
			ok(t, "EnableMFADevice", tx.EnableMFADevice("bob", d.Serial))
			ok(t, "SetPermissionsBoundary", tx.SetPermissionsBoundary(account.UserRef("bob"), "arn:aws:iam::aws:policy/PowerUserAccess"))
			return nil
		})
		serial := account.MFADeviceARN(testAccount, "/", "bob-phone")
		steps := []struct {
			want string
			fix  func(tx *Tx) error
		}{
			{"Cannot delete entity, must delete access keys first.", func(tx *Tx) error { return tx.DeleteAccessKey(keyID) }},
			{"Cannot delete entity, must delete MFA device first.", func(tx *Tx) error { return tx.DeactivateMFADevice("bob", serial) }},
			{"Cannot delete entity, must remove user from all groups first.", func(tx *Tx) error { return tx.RemoveUserFromGroup("devs", "bob") }},
			{"Cannot delete entity, must delete login profile first.", func(tx *Tx) error { return tx.DeleteLoginProfile("bob") }},
			{"Cannot delete entity, must delete policies first.", func(tx *Tx) error { return tx.DeleteInlinePolicy(account.UserRef("bob"), "s3") }},
			{"Cannot delete entity, must detach all policies first.", func(tx *Tx) error {
				return tx.DetachPolicy(account.UserRef("bob"), "arn:aws:iam::aws:policy/ReadOnlyAccess")
			}},
		}
		for _, st := range steps {
			err := s.Update(context.Background(), func(tx *Tx) error { return tx.DeleteUser("bob") })
			wantCode(t, "DeleteUser", err, account.DeleteConflict, st.want)
			update(t, s, st.fix)
		}
		update(t, s, func(tx *Tx) error { return tx.DeleteUser("bob") })
		view(t, s, func(tx *Tx) error {
			ents, err := tx.EntitiesForPolicy("arn:aws:iam::aws:policy/PowerUserAccess", true)
			ok(t, "EntitiesForPolicy", err)
			if len(ents) != 0 {
				t.Errorf("a deleted user still uses a boundary: %v", ents)
			}
			return nil
		})
		if err := s.Check(context.Background()); err != nil {
			t.Errorf("Check after deletes: %v", err)
		}
	})
}

func TestGroups(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			for _, n := range []string{"Admins", "Developers"} {
				_, err := tx.CreateGroup(account.Group{Name: n})
				ok(t, "CreateGroup", err)
			}
			for i := range 3 {
				_, err := tx.CreateUser(account.User{Name: fmt.Sprintf("dev%d", i)})
				ok(t, "CreateUser", err)
				ok(t, "AddUserToGroup", tx.AddUserToGroup("developers", fmt.Sprintf("dev%d", i)))
			}
			ok(t, "AddUserToGroup twice", tx.AddUserToGroup("Developers", "dev0"))
			ok(t, "AddUserToGroup", tx.AddUserToGroup("Admins", "dev0"))
			err := tx.RemoveUserFromGroup("Admins", "dev1")
			wantCode(t, "remove a non-member", err, account.NoSuchEntity, "")
			err = tx.DeleteGroup("Developers")
			wantCode(t, "DeleteGroup with members", err, account.DeleteConflict, "Cannot delete entity, must remove users from group first.")
			g, err := tx.UpdateGroup("developers", "Devs", "/teams/")
			ok(t, "UpdateGroup", err)
			if g.ARN != "arn:aws:iam::123456789012:group/teams/Devs" {
				t.Errorf("group ARN %s", g.ARN)
			}
			return nil
		})
		view(t, s, func(tx *Tx) error {
			gs, err := tx.GroupsForUser("dev0")
			ok(t, "GroupsForUser", err)
			if diff := cmp.Diff([]string{"Admins", "Devs"}, namesOf(gs, func(g account.Group) string { return g.Name })); diff != "" {
				t.Errorf("GroupsForUser (-want +got):\n%s", diff)
			}
			all, err := allPages(2, func(p Page) ([]account.User, string, error) { return tx.GroupMembers("Devs", p) })
			ok(t, "GroupMembers", err)
			members := namesOf(all, func(u account.User) string { return u.Name })
			slices.Sort(members)
			if diff := cmp.Diff([]string{"dev0", "dev1", "dev2"}, members); diff != "" {
				t.Errorf("GroupMembers (-want +got):\n%s", diff)
			}
			return nil
		})
	})
}

func TestRoles(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			r, err := tx.CreateRole(account.Role{Name: "web", Path: "/service/", AssumeRolePolicy: trustEC2, Description: "web servers"})
			ok(t, "CreateRole", err)
			if r.MaxSessionDuration != time.Hour || !strings.HasPrefix(r.ID, "AROA") {
				t.Errorf("CreateRole defaults: %+v", r)
			}
			_, err = tx.CreateRole(account.Role{Name: "long", AssumeRolePolicy: trustEC2, MaxSessionDuration: 13 * time.Hour})
			wantCode(t, "13 h", err, account.ValidationError, "1 validation error detected: Value '46800' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200")
			_, err = tx.CreateRole(account.Role{Name: "notjson", AssumeRolePolicy: "{"})
			wantCode(t, "bad trust policy", err, account.MalformedPolicyDocument, "")
			_, err = tx.CreateRole(account.Role{Name: "WEB", AssumeRolePolicy: trustEC2})
			wantCode(t, "duplicate", err, account.EntityAlreadyExists, "Role with name WEB already exists.")
			_, err = tx.CreateInstanceProfile(account.InstanceProfile{Name: "web-profile"})
			ok(t, "CreateInstanceProfile", err)
			ok(t, "AddRoleToInstanceProfile", tx.AddRoleToInstanceProfile("web-profile", "web"))
			_, err = tx.CreateRole(account.Role{Name: "other", AssumeRolePolicy: trustEC2})
			ok(t, "CreateRole", err)
			err = tx.AddRoleToInstanceProfile("web-profile", "other")
			wantCode(t, "second role", err, account.LimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
			return nil
		})
		view(t, s, func(tx *Tx) error {
			r, err := tx.RoleByARN("arn:aws:iam::123456789012:role/service/web")
			ok(t, "RoleByARN", err)
			if r.Description != "web servers" {
				t.Errorf("role %+v", r)
			}
			for _, arn := range []string{"arn:aws:iam::123456789012:role/web", "arn:aws:iam::210987654321:role/service/web", "arn:aws:iam::123456789012:user/service/web"} {
				_, err := tx.RoleByARN(arn)
				wantCode(t, "RoleByARN "+arn, err, account.NoSuchEntity, "")
			}
			ips, err := tx.InstanceProfilesForRole("web")
			ok(t, "InstanceProfilesForRole", err)
			if len(ips) != 1 || len(ips[0].Roles) != 1 || ips[0].Roles[0].Name != "web" || !strings.HasPrefix(ips[0].ID, "AIPA") {
				t.Errorf("InstanceProfilesForRole = %+v", ips)
			}
			return nil
		})
		// Revocation and updates.
		c.Advance(90 * time.Minute)
		update(t, s, func(tx *Tx) error {
			desc := ""
			r, err := tx.UpdateRole("web", RoleUpdate{Description: &desc, MaxSessionDuration: 4 * time.Hour, RevokeSessionsBefore: RevokeNow(c.Now().Add(300 * time.Millisecond))})
			ok(t, "UpdateRole", err)
			if r.Description != "" || r.MaxSessionDuration != 4*time.Hour {
				t.Errorf("UpdateRole result %+v", r)
			}
			if !r.SessionRevoked(c.Now()) || r.SessionRevoked(c.Now().Add(time.Second)) {
				t.Errorf("revocation at %v: issued now revoked=%v, issued 1 s later revoked=%v", r.RevokeSessionsBefore, r.SessionRevoked(c.Now()), r.SessionRevoked(c.Now().Add(time.Second)))
			}
			_, err = tx.UpdateRole("web", RoleUpdate{MaxSessionDuration: 30 * time.Minute})
			wantCode(t, "30 min", err, account.ValidationError, "")
			err = tx.DeleteRole("web")
			wantCode(t, "DeleteRole in a profile", err, account.DeleteConflict, "Cannot delete entity, must remove roles from instance profile first.")
			ok(t, "Remove", tx.RemoveRoleFromInstanceProfile("web-profile", "web"))
			ok(t, "DeleteRole", tx.DeleteRole("web"))
			ok(t, "DeleteInstanceProfile", tx.DeleteInstanceProfile("web-profile"))
			return nil
		})
	})
}

func TestPoliciesFor(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		var boundaryARN, s3ARN string
		update(t, s, func(tx *Tx) error {
			p, err := tx.CreatePolicy(account.ManagedPolicy{Name: "S3Read", Path: "/app/"}, allowS3)
			ok(t, "CreatePolicy", err)
			s3ARN = p.ARN
			b, err := tx.CreatePolicy(account.ManagedPolicy{Name: "Boundary"}, denyAll)
			ok(t, "CreatePolicy", err)
			boundaryARN = b.ARN
			_, err = tx.CreateUser(account.User{Name: "u", ManagedPolicies: []string{s3ARN}, PermissionsBoundary: boundaryARN,
				InlinePolicies: account.InlinePolicies{{Name: "own", Document: allowS3}}})
			ok(t, "CreateUser", err)
			_, err = tx.CreateGroup(account.Group{Name: "g", ManagedPolicies: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
				InlinePolicies: account.InlinePolicies{{Name: "group-inline", Document: denyAll}}})
			ok(t, "CreateGroup", err)
			ok(t, "AddUserToGroup", tx.AddUserToGroup("g", "u"))
			_, err = tx.CreateRole(account.Role{Name: "r", AssumeRolePolicy: trustEC2, ManagedPolicies: []string{s3ARN}})
			ok(t, "CreateRole", err)
			return nil
		})
		view(t, s, func(tx *Tx) error {
			set, err := tx.PoliciesFor(account.UserRef("u"))
			ok(t, "PoliciesFor user", err)
			want := []AppliedPolicy{
				{Kind: Inline, ARN: "arn:aws:iam::123456789012:user/u", Name: "own", Document: allowS3},
				{Kind: Managed, ARN: s3ARN, Name: "S3Read", VersionID: "v1", Document: allowS3},
				{Kind: Inline, ARN: "arn:aws:iam::123456789012:group/g", Name: "group-inline", Document: denyAll},
				{Kind: AWSManaged, ARN: "arn:aws:iam::aws:policy/ReadOnlyAccess", Name: "ReadOnlyAccess"},
			}
			if diff := cmp.Diff(want, set.Identity); diff != "" {
				t.Errorf("user identity policies (-want +got):\n%s", diff)
			}
			if set.Boundary == nil || set.Boundary.ARN != boundaryARN || set.Boundary.Document != denyAll {
				t.Errorf("user boundary %+v", set.Boundary)
			}
			if set.Generation != s.Generation() {
				t.Errorf("set generation %d, store %d", set.Generation, s.Generation())
			}
			rset, err := tx.PoliciesFor(account.RoleRef("r"))
			ok(t, "PoliciesFor role", err)
			if len(rset.Identity) != 1 || rset.Boundary != nil {
				t.Errorf("role policy set %+v", rset)
			}
			root, err := tx.PoliciesFor(account.UserRef(account.RootUserName))
			ok(t, "PoliciesFor root", err)
			if len(root.Identity) != 0 {
				t.Errorf("root has identity policies: %+v", root)
			}
			return nil
		})
		// A new default version shows in the next read.
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreatePolicyVersion(s3ARN, denyAll, true)
			return err
		})
		view(t, s, func(tx *Tx) error {
			set, err := tx.PoliciesFor(account.RoleRef("r"))
			ok(t, "PoliciesFor", err)
			if set.Identity[0].VersionID != "v2" || set.Identity[0].Document != denyAll {
				t.Errorf("after a new default version: %+v", set.Identity[0])
			}
			return nil
		})
	})
}

func TestManagedPolicies(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		var arn string
		update(t, s, func(tx *Tx) error {
			p, err := tx.CreatePolicy(account.ManagedPolicy{Name: "Logs", Path: "/team/", Description: "logs"}, allowS3)
			ok(t, "CreatePolicy", err)
			arn = p.ARN
			if arn != "arn:aws:iam::123456789012:policy/team/Logs" || p.DefaultVersion != "v1" || !strings.HasPrefix(p.ID, "ANPA") {
				t.Errorf("CreatePolicy = %+v", p)
			}
			_, err = tx.CreatePolicy(account.ManagedPolicy{Name: "logs"}, allowS3)
			wantCode(t, "duplicate name", err, account.EntityAlreadyExists, "A policy called logs already exists. Duplicate names are not allowed.")
			_, err = tx.CreatePolicy(account.ManagedPolicy{Name: "big"}, `{"a":"`+strings.Repeat("x", 7000)+`"}`)
			wantCode(t, "too big", err, account.LimitExceeded, "Cannot exceed quota for PolicySize: 6144")
			_, err = tx.Policy("arn:aws:iam::123456789012:policy/Logs")
			wantCode(t, "wrong path", err, account.NoSuchEntity, "")
			for i := 2; i <= 5; i++ {
				c.Advance(time.Minute)
				v, err := tx.CreatePolicyVersion(arn, allowS3, false)
				ok(t, "CreatePolicyVersion", err)
				if v.ID != fmt.Sprintf("v%d", i) {
					t.Errorf("version id %s, want v%d", v.ID, i)
				}
			}
			_, err = tx.CreatePolicyVersion(arn, allowS3, false)
			wantCode(t, "sixth version", err, account.LimitExceeded, "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
			err = tx.DeletePolicyVersion(arn, "v1")
			wantCode(t, "delete default", err, account.DeleteConflict, "Cannot delete the default version of a policy.")
			ok(t, "SetDefault", tx.SetDefaultPolicyVersion(arn, "v3"))
			ok(t, "DeletePolicyVersion", tx.DeletePolicyVersion(arn, "v1"))
			v, err := tx.CreatePolicyVersion(arn, denyAll, false)
			ok(t, "CreatePolicyVersion after a delete", err)
			if v.ID != "v6" {
				t.Errorf("version ids must not repeat: got %s, want v6", v.ID)
			}
			vs, err := tx.PolicyVersions(arn)
			ok(t, "PolicyVersions", err)
			var ids []string
			for _, v := range vs {
				ids = append(ids, fmt.Sprintf("%s:%v", v.ID, v.IsDefault))
			}
			if diff := cmp.Diff([]string{"v6:false", "v5:false", "v4:false", "v3:true", "v2:false"}, ids); diff != "" {
				t.Errorf("PolicyVersions (-want +got):\n%s", diff)
			}
			_, err = tx.CreateRole(account.Role{Name: "r", AssumeRolePolicy: trustEC2, ManagedPolicies: []string{arn}})
			ok(t, "CreateRole", err)
			_, err = tx.CreatePolicy(account.ManagedPolicy{Name: "Unused"}, allowS3)
			ok(t, "CreatePolicy", err)
			return nil
		})
		view(t, s, func(tx *Tx) error {
			p, err := tx.Policy(arn)
			ok(t, "Policy", err)
			if p.AttachmentCount != 1 || !p.Updated.Equal(testEpoch.Add(4*time.Minute)) {
				t.Errorf("Policy = %+v", p)
			}
			attached, _, err := tx.Policies(PolicyFilter{OnlyAttached: true}, Page{})
			ok(t, "Policies", err)
			if len(attached) != 1 || attached[0].Name != "Logs" {
				t.Errorf("OnlyAttached = %+v", attached)
			}
			all, _, err := tx.Policies(PolicyFilter{}, Page{})
			ok(t, "Policies", err)
			if len(all) != 2 {
				t.Errorf("Policies = %d", len(all))
			}
			return nil
		})
		update(t, s, func(tx *Tx) error {
			err := tx.DeletePolicy(arn)
			wantCode(t, "attached", err, account.DeleteConflict, "Cannot delete a policy attached to entities.")
			ok(t, "Detach", tx.DetachPolicy(account.RoleRef("r"), arn))
			err = tx.DetachPolicy(account.RoleRef("r"), arn)
			wantCode(t, "detach twice", err, account.NoSuchEntity, "Policy "+arn+" was not found.")
			err = tx.DeletePolicy(arn)
			wantCode(t, "versions", err, account.DeleteConflict, "")
			for _, v := range []string{"v2", "v4", "v5", "v6"} {
				ok(t, "DeletePolicyVersion", tx.DeletePolicyVersion(arn, v))
			}
			ok(t, "DeletePolicy", tx.DeletePolicy(arn))
			return nil
		})
	})
}

func TestInlineAndTags(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateRole(account.Role{Name: "r", AssumeRolePolicy: trustEC2})
			ok(t, "CreateRole", err)
			ref := account.RoleRef("r")
			ok(t, "Put b", tx.PutInlinePolicy(ref, "b", allowS3))
			ok(t, "Put a", tx.PutInlinePolicy(ref, "a", denyAll))
			ok(t, "Put a again", tx.PutInlinePolicy(ref, "a", allowS3))
			r, err := tx.Role("r")
			ok(t, "Role", err)
			if diff := cmp.Diff([]string{"a", "b"}, r.InlinePolicies.Names()); diff != "" {
				t.Errorf("inline names (-want +got):\n%s", diff)
			}
			doc, err := tx.InlinePolicy(ref, "a")
			if err != nil || doc != allowS3 {
				t.Errorf("InlinePolicy(a) = %q, %v", doc, err)
			}
			_, err = tx.InlinePolicy(ref, "zz")
			wantCode(t, "missing inline", err, account.NoSuchEntity, "The role policy with name zz cannot be found.")
			big := `{"x":"` + strings.Repeat("y", 10300) + `"}`
			err = tx.PutInlinePolicy(ref, "big", big)
			wantCode(t, "role inline quota", err, account.LimitExceeded, "Maximum policy size of 10240 bytes exceeded for role r")
			ok(t, "TagResource", tx.TagResource(ref, account.Tags{{Key: "Env", Value: "prod"}, {Key: "team", Value: "a"}}))
			ok(t, "TagResource overwrite", tx.TagResource(ref, account.Tags{{Key: "env", Value: "dev"}}))
			ok(t, "UntagResource", tx.UntagResource(ref, []string{"TEAM", "absent"}))
			r, _ = tx.Role("r")
			if diff := cmp.Diff(account.Tags{{Key: "env", Value: "dev"}}, r.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			var many account.Tags
			for i := range 50 {
				many = append(many, account.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"})
			}
			err = tx.TagResource(ref, many)
			wantCode(t, "51 tags", err, account.LimitExceeded, "The number of tags has reached the maximum limit.")
			err = tx.TagResource(account.GroupRef("nope"), many[:1])
			wantCode(t, "missing group", err, account.NoSuchEntity, "")
			_, err = tx.CreateGroup(account.Group{Name: "g"})
			ok(t, "CreateGroup", err)
			err = tx.TagResource(account.GroupRef("g"), many[:1])
			wantCode(t, "groups have no tags", err, account.InvalidInput, "")
			err = tx.SetPermissionsBoundary(ref, "arn:aws:iam::123456789012:policy/none")
			wantCode(t, "missing boundary", err, account.NoSuchEntity, "Scope ARN: arn:aws:iam::123456789012:policy/none does not exist or is not attachable.")
			return nil
		})
	})
}

func TestAccessKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		ctx := context.Background()
		var k1, k2 account.AccessKey
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "ci", Path: "/bots/"})
			ok(t, "CreateUser", err)
			k1, err = tx.CreateAccessKey("ci")
			ok(t, "CreateAccessKey", err)
			c.Advance(time.Second)
			k2, err = tx.CreateAccessKey("ci")
			ok(t, "CreateAccessKey", err)
			_, err = tx.CreateAccessKey("ci")
			wantCode(t, "third key", err, account.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2")
			_, err = tx.CreateAccessKey("nobody")
			wantCode(t, "no user", err, account.NoSuchEntity, "")
			_, err = tx.CreateAccessKey(account.RootUserName)
			ok(t, "root key", err)
			return nil
		})
		for _, k := range []account.AccessKey{k1, k2} {
			if !strings.HasPrefix(k.ID, "AKIA") || len(k.ID) != 20 || len(k.Secret) != 40 || k.Status != account.KeyActive {
				t.Errorf("key %s is not in AWS's shape (secret length %d, status %s)", k.ID, len(k.Secret), k.Status)
			}
			if acct, _ := account.AccountFromID(k.ID); acct != testAccount {
				t.Errorf("key %s encodes account %q", k.ID, acct)
			}
		}
		got, err := s.LookupAccessKey(ctx, k1.ID)
		ok(t, "LookupAccessKey", err)
		want := account.AccessKey{ID: k1.ID, UserID: k1.UserID, UserName: "ci", UserARN: "arn:aws:iam::123456789012:user/bots/ci",
			Secret: k1.Secret, Status: account.KeyActive, Created: testEpoch}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("LookupAccessKey (-want +got):\n%s", diff)
		}
		_, err = s.LookupAccessKey(ctx, "AKIAAAAAAAAAAAAAAAAA")
		wantCode(t, "unknown key", err, account.NoSuchEntity, "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found.")
		// Rename: the lookup follows; deactivate: status shows at once.
		update(t, s, func(tx *Tx) error {
			_, err := tx.UpdateUser("ci", "ci-bot", "/")
			ok(t, "UpdateUser", err)
			return tx.UpdateAccessKey(k2.ID, account.KeyInactive)
		})
		got, _ = s.LookupAccessKey(ctx, k1.ID)
		if got.UserARN != "arn:aws:iam::123456789012:user/ci-bot" || got.UserName != "ci-bot" {
			t.Errorf("after rename: %s %s", got.UserName, got.UserARN)
		}
		got, _ = s.LookupAccessKey(ctx, k2.ID)
		if got.Status != account.KeyInactive {
			t.Errorf("after UpdateAccessKey: status %s", got.Status)
		}
		view(t, s, func(tx *Tx) error {
			keys, err := tx.AccessKeys("ci-bot")
			ok(t, "AccessKeys", err)
			if len(keys) != 2 || keys[0].ID != k1.ID || keys[0].Secret != "" || keys[1].Secret != "" {
				t.Errorf("AccessKeys = %+v (secrets must not be listed)", keys)
			}
			root, err := tx.AccessKeys(account.RootUserName)
			ok(t, "root keys", err)
			if len(root) != 1 || root[0].UserARN != "arn:aws:iam::123456789012:root" {
				t.Errorf("root keys = %+v", root)
			}
			return nil
		})
		// Last used: in memory at once, on disk after a flush, without a generation move.
		gen := s.Generation()
		s.RecordAccessKeyUse(k1.ID, "sts", "eu-west-1", testEpoch.Add(time.Hour))
		s.RecordAccessKeyUse(k1.ID, "iam", "us-east-1", testEpoch.Add(30*time.Minute)) // older: ignored
		withUse := func() account.AccessKey {
			var k account.AccessKey
			view(t, s, func(tx *Tx) error { var err error; k, err = tx.AccessKey(k1.ID); return err })
			return k
		}
		if got, _ = s.LookupAccessKey(ctx, k1.ID); got.LastUsed != (account.AccessKeyLastUsed{}) {
			t.Errorf("LookupAccessKey returned LastUsed %+v", got.LastUsed)
		}
		got = withUse()
		wantUse := account.AccessKeyLastUsed{Date: testEpoch.Add(time.Hour), Service: "sts", Region: "eu-west-1"}
		if got.LastUsed != wantUse {
			t.Errorf("LastUsed before flush = %+v", got.LastUsed)
		}
		ok(t, "FlushUsage", s.FlushUsage(ctx))
		got = withUse()
		if got.LastUsed != wantUse {
			t.Errorf("LastUsed after flush = %+v", got.LastUsed)
		}
		if s.Generation() != gen {
			t.Errorf("usage moved the generation from %d to %d", gen, s.Generation())
		}
		update(t, s, func(tx *Tx) error { return tx.DeleteAccessKey(k1.ID) })
		_, err = s.LookupAccessKey(ctx, k1.ID)
		wantCode(t, "deleted key", err, account.NoSuchEntity, "")
		if err := s.Check(ctx); err != nil {
			t.Errorf("Check: %v", err)
		}
	})
}

func TestPutAccessKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "dev"})
			ok(t, "CreateUser", err)
			_, err = tx.PutAccessKey(account.AccessKey{UserName: "dev", ID: "AKIAIOSFODNN7EXAMPLE", Secret: "short"})
			wantCode(t, "short secret", err, account.ValidationError, "1 validation error detected: Value at 'secretAccessKey' failed to satisfy constraint: Member must have length 40")
			k, err := tx.PutAccessKey(account.AccessKey{UserName: "dev", ID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
			ok(t, "PutAccessKey", err)
			if k.Status != account.KeyActive {
				t.Errorf("status %s", k.Status)
			}
			_, err = tx.PutAccessKey(account.AccessKey{UserName: "dev", ID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
			wantCode(t, "same id", err, account.EntityAlreadyExists, "")
			return nil
		})
	})
}

func TestMFADevices(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		var serial string
		var seed []byte
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "ann"})
			ok(t, "CreateUser", err)
			d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: "ann", Path: "/mfa/"})
			ok(t, "CreateVirtualMFADevice", err)
			serial, seed = d.Serial, d.Seed
			if serial != "arn:aws:iam::123456789012:mfa/mfa/ann" || len(seed) != 20 || len(d.Base32Seed()) != 32 {
				t.Errorf("device %s seed %d bytes, base32 %q", serial, len(seed), d.Base32Seed())
			}
			_, err = tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: "ANN", Path: "/mfa/"})
			wantCode(t, "duplicate", err, account.EntityAlreadyExists, "MFADevice entity at the same path and name already exists.")
			_, err = tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: "spare"})
			ok(t, "CreateVirtualMFADevice", err)
			ok(t, "EnableMFADevice", tx.EnableMFADevice("ann", serial))
			err = tx.EnableMFADevice(account.RootUserName, serial)
			wantCode(t, "enable twice", err, account.EntityAlreadyExists, "")
			err = tx.DeleteVirtualMFADevice(serial)
			wantCode(t, "delete assigned", err, account.DeleteConflict, "")
			return nil
		})
		view(t, s, func(tx *Tx) error {
			d, err := tx.VirtualMFADevice(strings.ToUpper(serial[:20]) + serial[20:])
			ok(t, "VirtualMFADevice", err)
			if !slices.Equal(d.Seed, seed) || d.UserName != "ann" || !d.Enabled.Equal(testEpoch) {
				t.Errorf("device %+v", d)
			}
			assigned, _, err := tx.VirtualMFADevices(MFAAssigned, Page{})
			ok(t, "VirtualMFADevices", err)
			unassigned, _, err := tx.VirtualMFADevices(MFAUnassigned, Page{})
			ok(t, "VirtualMFADevices", err)
			if len(assigned) != 1 || len(unassigned) != 1 || assigned[0].Seed != nil || unassigned[0].Name != "spare" {
				t.Errorf("assigned %+v, unassigned %+v", assigned, unassigned)
			}
			mine, err := tx.MFADevices("ann")
			ok(t, "MFADevices", err)
			if len(mine) != 1 || mine[0].Serial != serial {
				t.Errorf("MFADevices = %+v", mine)
			}
			return nil
		})
		// A code is good once; accepting it does not move the generation.
		gen := s.Generation()
		for i, c := range []struct {
			step uint64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}} {
			var got bool
			update(t, s, func(tx *Tx) error {
				var err error
				got, err = tx.AcceptMFAStep(serial, c.step)
				return err
			})
			if got != c.want {
				t.Errorf("#%d AcceptMFAStep(%d) = %v, want %v", i, c.step, got, c.want)
			}
		}
		if s.Generation() != gen {
			t.Errorf("AcceptMFAStep moved the generation")
		}
		update(t, s, func(tx *Tx) error {
			err := tx.DeactivateMFADevice(account.RootUserName, serial)
			wantCode(t, "deactivate for another user", err, account.NoSuchEntity, "")
			ok(t, "DeactivateMFADevice", tx.DeactivateMFADevice("ann", serial))
			return tx.DeleteVirtualMFADevice(serial)
		})
	})
}

func TestOIDCAndAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		const url = "https://token.actions.githubusercontent.com"
		thumb := strings.Repeat("a", 40)
		update(t, s, func(tx *Tx) error {
			p, err := tx.CreateOIDCProvider(account.OIDCProvider{URL: url, ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{thumb}})
			ok(t, "CreateOIDCProvider", err)
			if p.ARN != "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" {
				t.Errorf("ARN %s", p.ARN)
			}
			_, err = tx.CreateOIDCProvider(account.OIDCProvider{URL: url})
			wantCode(t, "duplicate", err, account.EntityAlreadyExists, "")
			_, err = tx.CreateOIDCProvider(account.OIDCProvider{URL: "http://insecure.example"})
			wantCode(t, "http", err, account.InvalidInput, "")
			_, err = tx.UpdateOIDCProvider(p.ARN, func(p *account.OIDCProvider) error {
				p.ClientIDs = append(p.ClientIDs, "other")
				p.URL = "https://changed.example" // ignored
				return nil
			})
			ok(t, "UpdateOIDCProvider", err)
			ok(t, "CreateAccountAlias", tx.CreateAccountAlias("my-org"))
			ok(t, "CreateAccountAlias again", tx.CreateAccountAlias("my-org"))
			wantCode(t, "second alias", tx.CreateAccountAlias("other-org"), account.LimitExceeded, "")
			wantCode(t, "bad alias", tx.CreateAccountAlias("a--b"), account.ValidationError, "")
			ok(t, "SetPasswordPolicy", tx.SetPasswordPolicy(&account.PasswordPolicy{MinimumPasswordLength: 14, RequireSymbols: true, PasswordReusePrevention: 5}))
			wantCode(t, "bad policy", tx.SetPasswordPolicy(&account.PasswordPolicy{MinimumPasswordLength: 3}), account.ValidationError, "")
			return nil
		})
		view(t, s, func(tx *Tx) error {
			ps, err := tx.OIDCProviders()
			ok(t, "OIDCProviders", err)
			if len(ps) != 1 || ps[0].URL != url || !slices.Equal(ps[0].ClientIDs, []string{"sts.amazonaws.com", "other"}) {
				t.Errorf("OIDCProviders = %+v", ps)
			}
			a, err := tx.Account()
			ok(t, "Account", err)
			if a.ID != testAccount || !slices.Equal(a.Aliases, []string{"my-org"}) || a.PasswordPolicy == nil || a.PasswordPolicy.MinimumPasswordLength != 14 {
				t.Errorf("Account = %+v", a)
			}
			return nil
		})
		update(t, s, func(tx *Tx) error {
			ok(t, "delete policy", tx.SetPasswordPolicy(nil))
			wantCode(t, "delete again", tx.SetPasswordPolicy(nil), account.NoSuchEntity, "")
			ok(t, "DeleteAccountAlias", tx.DeleteAccountAlias("my-org"))
			return tx.DeleteOIDCProvider(account.OIDCProviderARN(testAccount, url))
		})
	})
}

func TestLoginProfiles(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		h := account.Argon2id{Time: 1, MemoryKiB: 64, Threads: 1}
		hash := func(pw string) string {
			x, err := h.Hash(pw, strings.NewReader(strings.Repeat("salt", 4)))
			ok(t, "Hash", err)
			return x
		}
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "eve"})
			ok(t, "CreateUser", err)
			_, err = tx.CreateLoginProfile(account.LoginProfile{UserName: "eve", PasswordHash: "plaintext"})
			wantCode(t, "plaintext", err, account.InvalidInput, "")
			_, err = tx.CreateLoginProfile(account.LoginProfile{UserName: "eve", PasswordHash: hash("first-Pass1"), PasswordResetRequired: true})
			ok(t, "CreateLoginProfile", err)
			_, err = tx.CreateLoginProfile(account.LoginProfile{UserName: "eve", PasswordHash: hash("x")})
			wantCode(t, "twice", err, account.EntityAlreadyExists, "Login Profile for user eve already exists.")
			c.Advance(time.Hour)
			for _, pw := range []string{"second-Pass2", "third-Pass3"} {
				_, err = tx.UpdateLoginProfile("eve", func(lp *account.LoginProfile) error {
					lp.SetPassword(hash(pw), c.Now(), 2)
					lp.PasswordResetRequired = false
					return nil
				})
				ok(t, "UpdateLoginProfile", err)
			}
			return nil
		})
		view(t, s, func(tx *Tx) error {
			lp, err := tx.LoginProfile("eve")
			ok(t, "LoginProfile", err)
			if len(lp.History) != 2 || lp.PasswordResetRequired || !lp.PasswordChanged.Equal(testEpoch.Add(time.Hour)) || !lp.Created.Equal(testEpoch) {
				t.Errorf("login profile %+v", lp)
			}
			for pw, want := range map[string]bool{"first-Pass1": true, "second-Pass2": true, "third-Pass3": true, "fourth-Pass4": false} {
				reused, err := account.PasswordReused(append([]string{lp.PasswordHash}, lp.History...), pw)
				ok(t, "PasswordReused", err)
				if reused != want {
					t.Errorf("PasswordReused(%s) = %v", pw, reused)
				}
			}
			return nil
		})
	})
}

func TestSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			ok(t, "PutSecret", tx.PutSecret("signing-key/k1", []byte("one")))
			ok(t, "PutSecret", tx.PutSecret("signing-key/k2", []byte("two")))
			return tx.PutSecret("other", []byte("three"))
		})
		view(t, s, func(tx *Tx) error {
			names, err := tx.SecretNames("signing-key/")
			ok(t, "SecretNames", err)
			if !slices.Equal(names, []string{"signing-key/k1", "signing-key/k2"}) {
				t.Errorf("SecretNames = %v", names)
			}
			v, err := tx.Secret("signing-key/k2")
			if err != nil || string(v) != "two" {
				t.Errorf("Secret = %q, %v", v, err)
			}
			_, err = tx.Secret("nope")
			wantCode(t, "missing", err, account.NoSuchEntity, "")
			return nil
		})
	})
}

func TestGenerationAndRollback(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		ctx := context.Background()
		g0 := s.Generation()
		ch := s.Changed()
		view(t, s, func(tx *Tx) error { _, _, err := tx.Users("", Page{}); return err })
		update(t, s, func(tx *Tx) error { _, err := tx.Account(); return err }) // reads only
		select {
		case <-ch:
			t.Fatal("Changed fired without a change")
		default:
		}
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "ghost"})
			ok(t, "CreateUser", err)
			return boom
		})
		if !errors.Is(err, boom) || s.Generation() != g0 {
			t.Fatalf("failed Update: err %v, generation %d→%d", err, g0, s.Generation())
		}
		view(t, s, func(tx *Tx) error {
			_, err := tx.User("ghost")
			wantCode(t, "rolled-back user", err, account.NoSuchEntity, "")
			return nil
		})
		update(t, s, func(tx *Tx) error { _, err := tx.CreateUser(account.User{Name: "real"}); return err })
		select {
		case <-ch:
		default:
			t.Fatal("Changed did not fire after a change")
		}
		if s.Generation() != g0+1 {
			t.Errorf("generation %d, want %d", s.Generation(), g0+1)
		}
		view(t, s, func(tx *Tx) error {
			g, err := tx.Generation()
			if err != nil || g != g0+1 {
				t.Errorf("tx.Generation = %d, %v", g, err)
			}
			return nil
		})
		err = s.View(ctx, func(tx *Tx) error { _, err := tx.CreateUser(account.User{Name: "x"}); return err })
		if err == nil {
			t.Error("a write in View succeeded")
		}
	})
}

func TestCheckFindsDamage(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		ctx := context.Background()
		update(t, s, func(tx *Tx) error {
			_, err := tx.CreateUser(account.User{Name: "u"})
			ok(t, "CreateUser", err)
			_, err = tx.CreateAccessKey("u")
			return err
		})
		ok(t, "Check of a sound store", s.Check(ctx))
		// Damage the name index behind the store's back.
		err := s.db.Update(ctx, func(t kv.Tx) error { return t.Put(bNames, nameKey(nUser, "u"), []byte("AIDAMISSING")) })
		ok(t, "damage", err)
		if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), "name index") {
			t.Errorf("Check of a damaged store = %v", err)
		}
	})
}

func TestSummary(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		update(t, s, func(tx *Tx) error {
			for i := range 3 {
				_, err := tx.CreateUser(account.User{Name: fmt.Sprintf("u%d", i)})
				ok(t, "CreateUser", err)
			}
			_, err := tx.CreateAccessKey("u0")
			ok(t, "CreateAccessKey", err)
			p, err := tx.CreatePolicy(account.ManagedPolicy{Name: "p"}, allowS3)
			ok(t, "CreatePolicy", err)
			_, err = tx.CreatePolicyVersion(p.ARN, denyAll, false)
			ok(t, "CreatePolicyVersion", err)
			ok(t, "AttachPolicy", tx.AttachPolicy(account.UserRef("u1"), p.ARN))
			ok(t, "AttachPolicy", tx.AttachPolicy(account.UserRef("u2"), "arn:aws:iam::aws:policy/ReadOnlyAccess"))
			_, err = tx.CreateRole(account.Role{Name: "r", AssumeRolePolicy: trustEC2})
			ok(t, "CreateRole", err)
			for _, n := range []string{"a", "b"} {
				d, err := tx.CreateVirtualMFADevice(account.VirtualMFADevice{Name: n})
				ok(t, "CreateVirtualMFADevice", err)
				if n == "a" {
					ok(t, "EnableMFADevice", tx.EnableMFADevice("u0", d.Serial))
				}
			}
			return nil
		})
		view(t, s, func(tx *Tx) error {
			got, err := tx.Summary()
			ok(t, "Summary", err)
			want := Summary{Users: 3, Roles: 1, Policies: 1, MFADevices: 2, MFADevicesInUse: 1, PolicyVersionsInUse: 2, AccessKeys: 1}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Summary (-want +got):\n%s", diff)
			}
			return nil
		})
	})
}

// TestConcurrentUse runs readers (the SigV4 lookup, usage recording, policy reads) against
// a writer under the race detector, and checks that a committed deactivation is seen by
// every lookup that starts after it.
func TestConcurrentUse(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		ctx := context.Background()
		var keys []account.AccessKey
		update(t, s, func(tx *Tx) error {
			for i := range 8 {
				name := fmt.Sprintf("u%d", i)
				if _, err := tx.CreateUser(account.User{Name: name}); err != nil {
					return err
				}
				k, err := tx.CreateAccessKey(name)
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
			return nil
		})
		done := make(chan struct{})
		errs := make(chan error, 16)
		for r := range 4 {
			go func() {
				for i := 0; ; i++ {
					select {
					case <-done:
						errs <- nil
						return
					default:
					}
					k := keys[(r+i)%len(keys)]
					got, err := s.LookupAccessKey(ctx, k.ID)
					if err != nil || got.Secret != k.Secret {
						errs <- fmt.Errorf("reader %d: lookup of %s: %v", r, k.ID, err)
						return
					}
					s.RecordAccessKeyUse(k.ID, "sts", "us-east-1", testEpoch.Add(time.Duration(i)*time.Second))
					if err := s.View(ctx, func(tx *Tx) error { _, err := tx.PoliciesFor(account.UserRef(got.UserName)); return err }); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		for i := range 30 {
			k := keys[i%len(keys)]
			status := []account.KeyStatus{account.KeyInactive, account.KeyActive}[i%2]
			update(t, s, func(tx *Tx) error {
				if err := tx.PutInlinePolicy(account.UserRef(k.UserName), "p", allowS3); err != nil {
					return err
				}
				return tx.UpdateAccessKey(k.ID, status)
			})
			got, err := s.LookupAccessKey(ctx, k.ID)
			if err != nil || got.Status != status {
				t.Fatalf("after UpdateAccessKey(%s) returned, a lookup sees %s (%v)", status, got.Status, err)
			}
			if i%10 == 0 {
				ok(t, "FlushUsage", s.FlushUsage(ctx))
			}
		}
		close(done)
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		ok(t, "Check", s.Check(ctx))
	})
}

// TestServiceAccessRecords: last-accessed records merge pending and stored uses, keep
// the newest, and go with a deleted user.
func TestServiceAccessRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *clocktest.Clock) {
		ctx := context.Background()
		var u account.User
		update(t, s, func(tx *Tx) error {
			var err error
			u, err = tx.CreateUser(account.User{Name: "dana"})
			return err
		})
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		s.RecordServiceAccess(u.ID, "iam:GetUser", "us-east-1", t0)
		s.RecordServiceAccess(u.ID, "iam:GetUser", "eu-west-1", t0.Add(-time.Hour)) // older: ignored
		s.RecordServiceAccess(u.ID, "s3:GetObject", "eu-west-1", t0.Add(time.Minute))
		ok(t, "FlushUsage", s.FlushUsage(ctx))
		s.RecordServiceAccess(u.ID, "s3:GetObject", "eu-west-2", t0.Add(2*time.Minute)) // pending
		read := func() []ServiceAccess {
			var out []ServiceAccess
			view(t, s, func(tx *Tx) error {
				var err error
				out, err = tx.ServiceAccesses(u.ID)
				return err
			})
			return out
		}
		want := []ServiceAccess{{"iam:GetUser", t0, "us-east-1"}, {"s3:GetObject", t0.Add(2 * time.Minute), "eu-west-2"}}
		if diff := cmp.Diff(read(), want); diff != "" {
			t.Errorf("ServiceAccesses (-got +want):\n%s", diff)
		}
		ok(t, "FlushUsage", s.FlushUsage(ctx))
		update(t, s, func(tx *Tx) error { return tx.DeleteUser("dana") })
		if got := read(); len(got) != 0 {
			t.Errorf("after DeleteUser: %+v", got)
		}
	})
}
