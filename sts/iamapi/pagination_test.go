package iamapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestPagination walks every paged list with the SDK's paginators, two items a page:
// every item comes once, and the pages say IsTruncated until the last.
func TestPagination(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("u")}))
	var tags []types.Tag
	for i := range 5 {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String(fmt.Sprintf("g%d", i))}))
		check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String(fmt.Sprintf("g%d", i)), UserName: aws.String("u")})))
		check(t, ignore(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(docWith("s3:GetObject"))})))
		must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("r%d", i)), AssumeRolePolicyDocument: aws.String(ec2Trust)}))
		must[*iam.CreateInstanceProfileOutput](t)(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(fmt.Sprintf("ip%d", i))}))
		must[*iam.CreateVirtualMFADeviceOutput](t)(c.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(fmt.Sprintf("m%d", i))}))
	}
	check(t, ignore(c.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("u"), Tags: tags})))
	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
	for i := range 4 {
		must[*iam.CreatePolicyVersionOutput](t)(c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: aws.String(docWith(fmt.Sprintf("s3:Get%d", i)))}))
	}
	for _, p := range []string{adminARN, iamReadOnlyARN, powerUserARN, arn} {
		check(t, ignore(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("u"), PolicyArn: aws.String(p)})))
	}
	for i := range 5 {
		check(t, ignore(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(fmt.Sprintf("r%d", i)), PolicyArn: &arn})))
	}
	two := aws.Int32(2)
	// Each walks its list and returns the items seen and the pages.
	lists := map[string]struct {
		walk func() (items, pages int)
		want int
	}{
		"ListGroups": {func() (int, int) {
			return walk(iam.NewListGroupsPaginator(c, &iam.ListGroupsInput{MaxItems: two}), func(o *iam.ListGroupsOutput) int { return len(o.Groups) })
		}, 5},
		"ListGroupsForUser": {func() (int, int) {
			return walk(iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: aws.String("u"), MaxItems: two}), func(o *iam.ListGroupsForUserOutput) int { return len(o.Groups) })
		}, 5},
		"ListUserPolicies": {func() (int, int) {
			return walk(iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: aws.String("u"), MaxItems: two}), func(o *iam.ListUserPoliciesOutput) int { return len(o.PolicyNames) })
		}, 5},
		"ListUserTags": {func() (int, int) {
			return walk(iam.NewListUserTagsPaginator(c, &iam.ListUserTagsInput{UserName: aws.String("u"), MaxItems: two}), func(o *iam.ListUserTagsOutput) int { return len(o.Tags) })
		}, 5},
		"ListAttachedUserPolicies": {func() (int, int) {
			return walk(iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("u"), MaxItems: two}), func(o *iam.ListAttachedUserPoliciesOutput) int { return len(o.AttachedPolicies) })
		}, 4},
		"ListRoles": {func() (int, int) {
			return walk(iam.NewListRolesPaginator(c, &iam.ListRolesInput{MaxItems: two}), func(o *iam.ListRolesOutput) int { return len(o.Roles) })
		}, 5},
		"ListInstanceProfiles": {func() (int, int) {
			return walk(iam.NewListInstanceProfilesPaginator(c, &iam.ListInstanceProfilesInput{MaxItems: two}), func(o *iam.ListInstanceProfilesOutput) int { return len(o.InstanceProfiles) })
		}, 5},
		"ListPolicyVersions": {func() (int, int) {
			return walk(iam.NewListPolicyVersionsPaginator(c, &iam.ListPolicyVersionsInput{PolicyArn: &arn, MaxItems: two}), func(o *iam.ListPolicyVersionsOutput) int { return len(o.Versions) })
		}, 5},
		"ListEntitiesForPolicy": {func() (int, int) {
			return walk(iam.NewListEntitiesForPolicyPaginator(c, &iam.ListEntitiesForPolicyInput{PolicyArn: &arn, MaxItems: two}), func(o *iam.ListEntitiesForPolicyOutput) int {
				return len(o.PolicyRoles) + len(o.PolicyUsers) + len(o.PolicyGroups)
			})
		}, 6},
		"ListVirtualMFADevices": {func() (int, int) {
			return walk(iam.NewListVirtualMFADevicesPaginator(c, &iam.ListVirtualMFADevicesInput{MaxItems: two}), func(o *iam.ListVirtualMFADevicesOutput) int { return len(o.VirtualMFADevices) })
		}, 5},
		"ListPolicies Local": {func() (int, int) {
			return walk(iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal, MaxItems: two}), func(o *iam.ListPoliciesOutput) int { return len(o.Policies) })
		}, 1},
		"ListPolicies OnlyAttached": {func() (int, int) {
			return walk(iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{OnlyAttached: true, MaxItems: two}), func(o *iam.ListPoliciesOutput) int { return len(o.Policies) })
		}, 4},
	}
	for name, l := range lists {
		t.Run(name, func(t *testing.T) {
			items, pages := l.walk()
			if items != l.want || pages != (l.want+1)/2 {
				t.Errorf("%d items in %d pages, want %d in %d", items, pages, l.want, (l.want+1)/2)
			}
		})
	}
}

// pager is what the SDK's paginators have in common.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*iam.Options)) (O, error)
}

// walk pages through p, counting items and pages; it stops at 100 pages.
func walk[O any](p pager[O], count func(O) int) (items, pages int) {
	for p.HasMorePages() && pages < 100 {
		out, err := p.NextPage(context.Background())
		if err != nil {
			return -1, pages
		}
		items += count(out)
		pages++
	}
	return items, pages
}
