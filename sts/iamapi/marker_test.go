package iamapi_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestMarkersNotIssuedAreRefused sends every paged list a Marker the core never
// issued: each answers InvalidInput "Invalid Marker.", as IAM does, instead of
// starting anywhere.
func TestMarkersNotIssuedAreRefused(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("g")}))
	must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
	u, g, r := aws.String("u"), aws.String("g"), aws.String("r")
	for _, marker := range []string{"bogus", "Zm9v", base64.RawURLEncoding.EncodeToString([]byte("o99999")), "a.b", "users.x"} {
		m := aws.String(marker)
		calls := map[string]func() error{
			"ListUsers":    func() error { return ignore(c.ListUsers(ctx, &iam.ListUsersInput{Marker: m})) },
			"ListGroups":   func() error { return ignore(c.ListGroups(ctx, &iam.ListGroupsInput{Marker: m})) },
			"ListRoles":    func() error { return ignore(c.ListRoles(ctx, &iam.ListRolesInput{Marker: m})) },
			"ListPolicies": func() error { return ignore(c.ListPolicies(ctx, &iam.ListPoliciesInput{Marker: m})) },
			"ListPolicies Local": func() error {
				return ignore(c.ListPolicies(ctx, &iam.ListPoliciesInput{Marker: m, Scope: types.PolicyScopeTypeLocal}))
			},
			"ListInstanceProfiles":  func() error { return ignore(c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{Marker: m})) },
			"ListVirtualMFADevices": func() error { return ignore(c.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{Marker: m})) },
			"ListAccountAliases":    func() error { return ignore(c.ListAccountAliases(ctx, &iam.ListAccountAliasesInput{Marker: m})) },
			"GetGroup":              func() error { return ignore(c.GetGroup(ctx, &iam.GetGroupInput{GroupName: g, Marker: m})) },
			"ListGroupsForUser": func() error {
				return ignore(c.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: u, Marker: m}))
			},
			"ListAccessKeys": func() error { return ignore(c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u, Marker: m})) },
			"ListMFADevices": func() error { return ignore(c.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: u, Marker: m})) },
			"ListUserTags":   func() error { return ignore(c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: u, Marker: m})) },
			"ListRoleTags":   func() error { return ignore(c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: r, Marker: m})) },
			"ListPolicyTags": func() error {
				return ignore(c.ListPolicyTags(ctx, &iam.ListPolicyTagsInput{PolicyArn: &arn, Marker: m}))
			},
			"ListUserPolicies": func() error {
				return ignore(c.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: u, Marker: m}))
			},
			"ListGroupPolicies": func() error {
				return ignore(c.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: g, Marker: m}))
			},
			"ListRolePolicies": func() error {
				return ignore(c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r, Marker: m}))
			},
			"ListAttachedUserPolicies": func() error {
				return ignore(c.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: u, Marker: m}))
			},
			"ListAttachedGroupPolicies": func() error {
				return ignore(c.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: g, Marker: m}))
			},
			"ListAttachedRolePolicies": func() error {
				return ignore(c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: r, Marker: m}))
			},
			"ListPolicyVersions": func() error {
				return ignore(c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: &arn, Marker: m}))
			},
			"ListEntitiesForPolicy": func() error {
				return ignore(c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: &arn, Marker: m}))
			},
			"ListInstanceProfilesForRole": func() error {
				return ignore(c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: r, Marker: m}))
			},
			"GetAccountAuthorizationDetails": func() error {
				return ignore(c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Marker: m}))
			},
			"SimulatePrincipalPolicy": func() error {
				return ignore(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/u"), ActionNames: []string{"s3:GetObject"}, Marker: m}))
			},
			"SimulateCustomPolicy": func() error {
				return ignore(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{logsPolicy}, ActionNames: []string{"s3:GetObject"}, Marker: m}))
			},
		}
		for name, call := range calls {
			t.Run(name+"/"+marker, func(t *testing.T) {
				wantErr(t, call(), "InvalidInput", http.StatusBadRequest, "Invalid Marker.")
			})
		}
	}
}
