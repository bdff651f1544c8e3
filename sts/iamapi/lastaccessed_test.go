package iamapi_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

const danaPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListUsers","s3:*"],"Resource":"*"}]}`

func TestServiceLastAccessed(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	dana := f.client(f.inlineUser("dana", danaPolicy))
	f.user("erin")
	check(t, ignore(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})))
	check(t, ignore(c.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("devs"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:List*","Resource":"*"},{"Effect":"Allow","NotAction":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`)})))
	for _, u := range []string{"dana", "erin"} {
		check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String(u)})))
	}
	// dana uses IAM; a denied call is no access.
	check(t, ignore(dana.GetUser(ctx, &iam.GetUserInput{})))
	check(t, ignore(dana.ListUsers(ctx, &iam.ListUsersInput{})))
	_, err := dana.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("erin")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "")
	danaARN := "arn:aws:iam::123456789012:user/dana"

	gen := func(arn string, granularity types.AccessAdvisorUsageGranularityType) string {
		t.Helper()
		out := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(c.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: &arn, Granularity: granularity}))
		if len(aws.ToString(out.JobId)) != 36 {
			t.Fatalf("JobId %q", aws.ToString(out.JobId))
		}
		return aws.ToString(out.JobId)
	}
	job := gen(danaARN, types.AccessAdvisorUsageGranularityTypeActionLevel)
	rep := must[*iam.GetServiceLastAccessedDetailsOutput](t)(c.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: &job}))
	if rep.JobStatus != types.JobStatusTypeCompleted || rep.JobType != types.AccessAdvisorUsageGranularityTypeActionLevel {
		t.Fatalf("job = %+v", rep)
	}
	byNS := map[string]types.ServiceLastAccessed{}
	for _, s := range rep.ServicesLastAccessed {
		byNS[aws.ToString(s.ServiceNamespace)] = s
	}
	// Own policy: iam and s3; the group's NotAction statement: every other service it knows.
	iamSvc, s3Svc := byNS["iam"], byNS["s3"]
	if iamSvc.LastAuthenticated == nil || !iamSvc.LastAuthenticated.Equal(f.clock.Now()) || aws.ToString(iamSvc.LastAuthenticatedEntity) != danaARN ||
		aws.ToString(iamSvc.LastAuthenticatedRegion) != "us-east-1" || aws.ToInt32(iamSvc.TotalAuthenticatedEntities) != 1 ||
		aws.ToString(iamSvc.ServiceName) != "AWS Identity and Access Management" {
		t.Errorf("iam = %+v", iamSvc)
	}
	var actions []string
	for _, a := range iamSvc.TrackedActionsLastAccessed {
		actions = append(actions, aws.ToString(a.ActionName))
	}
	if diff := cmp.Diff(actions, []string{"GetUser", "ListUsers"}); diff != "" {
		t.Errorf("tracked actions (-got +want):\n%s", diff)
	}
	if s3Svc.LastAuthenticated != nil || aws.ToInt32(s3Svc.TotalAuthenticatedEntities) != 0 || aws.ToString(s3Svc.ServiceName) != "Amazon S3" {
		t.Errorf("s3 = %+v", s3Svc)
	}
	if _, ok := byNS["ec2"]; !ok {
		t.Errorf("the group's NotAction statement grants ec2: %v", byNS)
	}

	// A group: its members, most recent first.
	gjob := gen("arn:aws:iam::123456789012:group/devs", "")
	ents := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(c.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: &gjob, ServiceNamespace: aws.String("iam")}))
	if len(ents.EntityDetailsList) != 2 || aws.ToString(ents.EntityDetailsList[0].EntityInfo.Name) != "dana" || ents.EntityDetailsList[0].LastAuthenticated == nil ||
		aws.ToString(ents.EntityDetailsList[1].EntityInfo.Name) != "erin" || ents.EntityDetailsList[1].LastAuthenticated != nil ||
		ents.EntityDetailsList[0].EntityInfo.Type != types.PolicyOwnerEntityTypeUser {
		t.Errorf("WithEntities = %+v", ents.EntityDetailsList)
	}
	// A managed policy: the principals it is attached to.
	pol := must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("readers"), PolicyDocument: aws.String(danaPolicy)})).Policy
	check(t, ignore(c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("dana"), PolicyArn: pol.Arn})))
	pjob := gen(aws.ToString(pol.Arn), "")
	prep := must[*iam.GetServiceLastAccessedDetailsOutput](t)(c.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: &pjob, MaxItems: aws.Int32(1)}))
	if len(prep.ServicesLastAccessed) != 1 || !prep.IsTruncated || aws.ToString(prep.ServicesLastAccessed[0].ServiceNamespace) != "iam" ||
		aws.ToString(prep.ServicesLastAccessed[0].LastAuthenticatedEntity) != danaARN || prep.ServicesLastAccessed[0].TrackedActionsLastAccessed != nil {
		t.Errorf("policy report = %+v", prep.ServicesLastAccessed)
	}

	_, err = c.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = c.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::123456789012:user/nobody")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = dana.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(danaARN)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:GenerateServiceLastAccessedDetails on resource: "+danaARN)
}

func TestListPoliciesGrantingServiceAccess(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	f.inlineUser("dana", danaPolicy)
	check(t, ignore(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("devs")})))
	check(t, ignore(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: aws.String(iamReadOnlyARN)})))
	check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("dana")})))
	out := must[*iam.ListPoliciesGrantingServiceAccessOutput](t)(c.ListPoliciesGrantingServiceAccess(ctx, &iam.ListPoliciesGrantingServiceAccessInput{
		Arn: aws.String("arn:aws:iam::123456789012:user/dana"), ServiceNamespaces: []string{"iam", "s3", "ec2"}}))
	type row struct{ NS, Name, Type, ARN, EntityType, EntityName string }
	var got []row
	for _, s := range out.PoliciesGrantingServiceAccess {
		if len(s.Policies) == 0 {
			got = append(got, row{NS: aws.ToString(s.ServiceNamespace)})
		}
		for _, p := range s.Policies {
			got = append(got, row{aws.ToString(s.ServiceNamespace), aws.ToString(p.PolicyName), string(p.PolicyType), aws.ToString(p.PolicyArn), string(p.EntityType), aws.ToString(p.EntityName)})
		}
	}
	want := []row{
		{"iam", "p", "INLINE", "", "USER", "dana"},
		{"iam", "IAMReadOnlyAccess", "MANAGED", iamReadOnlyARN, "", ""},
		{"s3", "p", "INLINE", "", "USER", "dana"},
		{NS: "ec2"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("ListPoliciesGrantingServiceAccess (-got +want):\n%s", diff)
	}
	_, err := c.ListPoliciesGrantingServiceAccess(ctx, &iam.ListPoliciesGrantingServiceAccessInput{Arn: aws.String("arn:aws:iam::123456789012:role/none"), ServiceNamespaces: []string{"iam"}})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
}

// TestServiceLastAccessedRoleSession: a role's sessions count for the role.
func TestServiceLastAccessedRoleSession(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	opsKey := f.user("ops", adminARN)
	roleARN := aws.ToString(must[*iam.CreateRoleOutput](t)(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`)})).Role.Arn)
	check(t, ignore(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("reader"), PolicyArn: aws.String(iamReadOnlyARN)})))
	stsc := sts.New(sts.Options{BaseEndpoint: aws.String(f.srv.URL), Region: "eu-west-1", HTTPClient: f.srv.Client(),
		Credentials: credentials.StaticCredentialsProvider{Value: opsKey}, RetryMaxAttempts: 1})
	out := must[*sts.AssumeRoleOutput](t)(stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: &roleARN, RoleSessionName: aws.String("reading")}))
	sess := iam.New(iam.Options{BaseEndpoint: aws.String(f.srv.URL), Region: "eu-west-1", HTTPClient: f.srv.Client(), RetryMaxAttempts: 1,
		Credentials: credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId,
			SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}}})
	check(t, ignore(sess.ListRoles(ctx, &iam.ListRolesInput{})))

	job := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(c.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: &roleARN})).JobId
	rep := must[*iam.GetServiceLastAccessedDetailsOutput](t)(c.GetServiceLastAccessedDetails(ctx, &iam.GetServiceLastAccessedDetailsInput{JobId: job}))
	var found bool
	for _, s := range rep.ServicesLastAccessed {
		if aws.ToString(s.ServiceNamespace) == "iam" {
			found = true
			if aws.ToString(s.LastAuthenticatedEntity) != roleARN || aws.ToString(s.LastAuthenticatedRegion) != "eu-west-1" || s.LastAuthenticated == nil {
				t.Errorf("iam = %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("IAMReadOnlyAccess grants iam: %+v", rep.ServicesLastAccessed)
	}
	// The user that assumed the role used STS.
	ujob := must[*iam.GenerateServiceLastAccessedDetailsOutput](t)(c.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String("arn:aws:iam::123456789012:user/ops")})).JobId
	urep := must[*iam.GetServiceLastAccessedDetailsWithEntitiesOutput](t)(c.GetServiceLastAccessedDetailsWithEntities(ctx, &iam.GetServiceLastAccessedDetailsWithEntitiesInput{JobId: ujob, ServiceNamespace: aws.String("sts")}))
	if len(urep.EntityDetailsList) != 1 || urep.EntityDetailsList[0].LastAuthenticated == nil {
		t.Errorf("ops's sts use = %+v", urep.EntityDetailsList)
	}
}
