package iamapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

func TestGroups(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	g := must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Developers"), Path: aws.String("/eng/")}))
	if aws.ToString(g.Group.Arn) != "arn:aws:iam::123456789012:group/eng/Developers" || aws.ToString(g.Group.GroupId)[:4] != "AGPA" {
		t.Errorf("CreateGroup = %s %s", aws.ToString(g.Group.Arn), aws.ToString(g.Group.GroupId))
	}
	var members []string
	for i := range 5 {
		name := fmt.Sprintf("dev%d", i)
		members = append(members, name)
		must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}))
		check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("developers"), UserName: aws.String(name)})))
	}
	// GetGroup pages its members.
	var got []string
	p := iam.NewGetGroupPaginator(c, &iam.GetGroupInput{GroupName: aws.String("Developers"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out := must[*iam.GetGroupOutput](t)(p.NextPage(ctx))
		if aws.ToString(out.Group.GroupName) != "Developers" {
			t.Fatalf("GetGroup group = %+v", out.Group)
		}
		for _, u := range out.Users {
			got = append(got, aws.ToString(u.UserName))
		}
	}
	if diff := cmp.Diff(sorted(got), members); diff != "" {
		t.Errorf("members (-got +want):\n%s", diff)
	}
	fg := must[*iam.ListGroupsForUserOutput](t)(c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("dev1")}))
	if len(fg.Groups) != 1 || aws.ToString(fg.Groups[0].GroupName) != "Developers" {
		t.Errorf("ListGroupsForUser = %+v", fg.Groups)
	}

	_, err := c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("Developers")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete entity, must remove users from group first.")
	_, err = c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dev0")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "must remove user from all groups first")
	_, err = c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("Developers"), UserName: aws.String("nobody")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "nobody")
	_, err = c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("developers")})
	wantErr(t, err, "EntityAlreadyExists", http.StatusConflict, "")

	for _, m := range members {
		check(t, ignore(c.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("Developers"), UserName: aws.String(m)})))
	}
	check(t, ignore(c.UpdateGroup(ctx, &iam.UpdateGroupInput{GroupName: aws.String("Developers"), NewGroupName: aws.String("Devs")})))
	list := must[*iam.ListGroupsOutput](t)(c.ListGroups(ctx, &iam.ListGroupsInput{PathPrefix: aws.String("/eng/")}))
	if len(list.Groups) != 1 || aws.ToString(list.Groups[0].GroupName) != "Devs" {
		t.Errorf("ListGroups = %+v", list.Groups)
	}
	check(t, ignore(c.DeleteGroup(ctx, &iam.DeleteGroupInput{GroupName: aws.String("Devs")})))
	_, err = c.GetGroup(ctx, &iam.GetGroupInput{GroupName: aws.String("Devs")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
}

func TestRolesAndInstanceProfiles(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	r := must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("web"), Path: aws.String("/app/"), AssumeRolePolicyDocument: aws.String(ec2Trust),
		Description: aws.String("the web tier"), MaxSessionDuration: aws.Int32(7200),
		Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("web")}},
	})).Role
	if aws.ToString(r.Arn) != "arn:aws:iam::123456789012:role/app/web" || aws.ToString(r.RoleId)[:4] != "AROA" || aws.ToInt32(r.MaxSessionDuration) != 7200 {
		t.Errorf("CreateRole = %s %s %d", aws.ToString(r.Arn), aws.ToString(r.RoleId), aws.ToInt32(r.MaxSessionDuration))
	}
	got := must[*iam.GetRoleOutput](t)(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("web")})).Role
	// IAM's XML carries documents URL-encoded; the Go SDK hands them over as they came.
	doc, err := url.QueryUnescape(aws.ToString(got.AssumeRolePolicyDocument))
	check(t, err)
	if doc != ec2Trust {
		t.Errorf("trust policy = %s, want %s", doc, ec2Trust)
	}
	if aws.ToString(got.Description) != "the web tier" || tagMap(got.Tags)["tier"] != "web" || got.RoleLastUsed == nil {
		t.Errorf("GetRole = %+v", got)
	}

	wantErrs(t, ctx, c, map[string]errCase{
		"trust without principal": {"CreateRole", in{"RoleName": "x",
			"AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`},
			"MalformedPolicyDocument", http.StatusBadRequest, "Missing required field Principal"},
		"trust not JSON": {"UpdateAssumeRolePolicy", in{"RoleName": "web", "PolicyDocument": "{"},
			"MalformedPolicyDocument", http.StatusBadRequest, "Syntax errors in policy."},
		"session too long": {"UpdateRole", in{"RoleName": "web", "MaxSessionDuration": int32(50000)},
			"ValidationError", http.StatusBadRequest, "maxSessionDuration"},
		"duplicate": {"CreateRole", in{"RoleName": "WEB", "AssumeRolePolicyDocument": ec2Trust},
			"EntityAlreadyExists", http.StatusConflict, "Role with name WEB already exists."},
		"missing":               {"GetRole", in{"RoleName": "nope"}, "NoSuchEntity", http.StatusNotFound, "The role with name nope cannot be found."},
		"no boundary to delete": {"DeleteRolePermissionsBoundary", in{"RoleName": "web"}, "NoSuchEntity", http.StatusNotFound, ""},
	})

	check(t, ignore(c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("web"), MaxSessionDuration: aws.Int32(43200)})))
	desc := must[*iam.UpdateRoleDescriptionOutput](t)(c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: aws.String("web"), Description: aws.String("new")}))
	if aws.ToString(desc.Role.Description) != "new" || aws.ToInt32(desc.Role.MaxSessionDuration) != 43200 {
		t.Errorf("UpdateRoleDescription = %+v", desc.Role)
	}
	check(t, ignore(c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("web"), PermissionsBoundary: aws.String(powerUserARN)})))
	check(t, ignore(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("web"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})))
	check(t, ignore(c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("web"), TagKeys: []string{"tier"}})))
	tags := must[*iam.ListRoleTagsOutput](t)(c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("web")}))
	if diff := cmp.Diff(tagMap(tags.Tags), map[string]string{"env": "prod"}); diff != "" {
		t.Errorf("role tags (-got +want):\n%s", diff)
	}
	got = must[*iam.GetRoleOutput](t)(c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("web")})).Role
	if got.PermissionsBoundary == nil || aws.ToString(got.PermissionsBoundary.PermissionsBoundaryArn) != powerUserARN {
		t.Errorf("boundary = %+v", got.PermissionsBoundary)
	}
	check(t, ignore(c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("web")})))

	// The EC2 pattern: a role in an instance profile (which IMDS iam/info reports).
	ip := must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")})).InstanceProfile
	if aws.ToString(ip.Arn) != "arn:aws:iam::123456789012:instance-profile/web" || aws.ToString(ip.InstanceProfileId)[:4] != "AIPA" || ip.Roles == nil {
		t.Errorf("CreateInstanceProfile = %s %s roles %v", aws.ToString(ip.Arn), aws.ToString(ip.InstanceProfileId), ip.Roles)
	}
	check(t, ignore(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web")})))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("other")})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "InstanceSessionsPerInstanceProfile")
	gp := must[*iam.GetInstanceProfileOutput](t)(c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web")}))
	if len(gp.InstanceProfile.Roles) != 1 || aws.ToString(gp.InstanceProfile.Roles[0].Arn) != aws.ToString(r.Arn) {
		t.Errorf("profile roles = %+v", gp.InstanceProfile.Roles)
	}
	fr := must[*iam.ListInstanceProfilesForRoleOutput](t)(c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web")}))
	if len(fr.InstanceProfiles) != 1 || aws.ToString(fr.InstanceProfiles[0].InstanceProfileName) != "web" {
		t.Errorf("ListInstanceProfilesForRole = %+v", fr.InstanceProfiles)
	}
	all := must[*iam.ListInstanceProfilesOutput](t)(c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{}))
	if len(all.InstanceProfiles) != 1 {
		t.Errorf("ListInstanceProfiles = %d profiles", len(all.InstanceProfiles))
	}
	info, found, err := f.core.InstanceProfileForRole(ctx, aws.ToString(r.Arn))
	if err != nil || !found || info.ARN != aws.ToString(ip.Arn) || info.ID != aws.ToString(ip.InstanceProfileId) {
		t.Errorf("Core.InstanceProfileForRole = %+v %v %v", info, found, err)
	}

	// Deletion in IAM's order: the role leaves its profile first.
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "Cannot delete entity, must remove roles from instance profile first.")
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "must remove roles from instance profile first")
	check(t, ignore(c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web")})))
	check(t, ignore(c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web")})))
	check(t, ignore(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web")})))
	roles := must[*iam.ListRolesOutput](t)(c.ListRoles(ctx, &iam.ListRolesInput{}))
	if len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != "other" {
		t.Errorf("ListRoles = %+v", roles.Roles)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
