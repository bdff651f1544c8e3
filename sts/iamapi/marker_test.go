package iamapi_test

import (
	"encoding/base64"
	"maps"
	"net/http"
	"strings"
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
	f.userGroupRole()
	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(logsPolicy)})).Policy.Arn)
	u, g, r, p := in{"UserName": "u"}, in{"GroupName": "g"}, in{"RoleName": "r"}, in{"PolicyArn": arn}
	// The paged actions (and a variant after a space) and their other parameters.
	calls := map[string]in{
		"ListUsers": nil, "ListGroups": nil, "ListRoles": nil, "ListPolicies": nil, "ListPolicies Local": {"Scope": types.PolicyScopeTypeLocal},
		"ListInstanceProfiles": nil, "ListVirtualMFADevices": nil, "ListAccountAliases": nil, "GetAccountAuthorizationDetails": nil,
		"GetGroup": g, "ListGroupsForUser": u, "ListAccessKeys": u, "ListMFADevices": u, "ListUserTags": u, "ListRoleTags": r,
		"ListPolicyTags": p, "ListUserPolicies": u, "ListGroupPolicies": g, "ListRolePolicies": r, "ListAttachedUserPolicies": u,
		"ListAttachedGroupPolicies": g, "ListAttachedRolePolicies": r, "ListPolicyVersions": p, "ListEntitiesForPolicy": p,
		"ListInstanceProfilesForRole": r,
		"SimulatePrincipalPolicy":     {"PolicySourceArn": "arn:aws:iam::123456789012:user/u", "ActionNames": []string{"s3:GetObject"}},
		"SimulateCustomPolicy":        {"PolicyInputList": []string{logsPolicy}, "ActionNames": []string{"s3:GetObject"}},
	}
	for _, marker := range []string{"bogus", "Zm9v", base64.RawURLEncoding.EncodeToString([]byte("o99999")), "a.b", "users.x"} {
		for name, params := range calls {
			t.Run(name+"/"+marker, func(t *testing.T) {
				params := maps.Clone(params)
				if params == nil {
					params = in{}
				}
				params["Marker"] = marker
				action, _, _ := strings.Cut(name, " ")
				wantErr(t, ignore(call(t, ctx, c, action, params)), "InvalidInput", http.StatusBadRequest, "Invalid Marker.")
			})
		}
	}
}
