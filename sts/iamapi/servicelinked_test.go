package iamapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func TestServiceLinkedRoles(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx

	r := must[*iam.CreateServiceLinkedRoleOutput](t)(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{
		AWSServiceName: aws.String("autoscaling.amazonaws.com"), Description: aws.String("scaling")})).Role
	if aws.ToString(r.RoleName) != "AWSServiceRoleForAutoScaling" || aws.ToString(r.Path) != "/aws-service-role/autoscaling.amazonaws.com/" ||
		aws.ToString(r.Arn) != "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling" ||
		aws.ToString(r.Description) != "scaling" {
		t.Errorf("CreateServiceLinkedRole = %+v", r)
	}
	trust, _ := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if !strings.Contains(trust, `"Service":["autoscaling.amazonaws.com"]`) || !strings.Contains(trust, "sts:AssumeRole") {
		t.Errorf("trust policy %s", trust)
	}
	suffixed := must[*iam.CreateServiceLinkedRoleOutput](t)(c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{
		AWSServiceName: aws.String("autoscaling.amazonaws.com"), CustomSuffix: aws.String("fleet")})).Role
	if aws.ToString(suffixed.RoleName) != "AWSServiceRoleForAutoScaling_fleet" {
		t.Errorf("suffixed role %s", aws.ToString(suffixed.RoleName))
	}
	errs := []struct {
		name, svc, suffix, code, msg string
	}{
		{"taken", "autoscaling.amazonaws.com", "", "InvalidInput", "Service role name AWSServiceRoleForAutoScaling has been taken in this account, please try a different suffix."},
		{"unknown service", "nothing.example.com", "", "InvalidInput", "Unrecognized service principal provided: nothing.example.com"},
		{"suffix not allowed", "support.amazonaws.com", "x", "InvalidInput", "Custom suffix is not allowed for AWSServiceRoleForSupport"},
	}
	for _, tc := range errs {
		_, err := c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(tc.svc), CustomSuffix: optString(tc.suffix)})
		wantErr(t, err, tc.code, http.StatusBadRequest, tc.msg)
	}

	// Customers cannot change or delete it through the ordinary calls (the policy
	// engine's rule, policy.AWSOwned), whatever their rights; its description may be
	// edited, as AWS allows.
	name := aws.String("AWSServiceRoleForAutoScaling")
	_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: name})
	wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, "Cannot perform the operation on the protected role 'AWSServiceRoleForAutoScaling' - this role is only modifiable by AWS")
	_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(adminARN)})
	wantErr(t, err, "UnmodifiableEntity", http.StatusBadRequest, "")
	check(t, ignore(c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: name, Description: aws.String("edited")})))

	// In use (in an instance profile), its deletion task fails and says why.
	check(t, ignore(c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ip")})))
	check(t, ignore(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("ip"), RoleName: name})))
	busy := must[*iam.DeleteServiceLinkedRoleOutput](t)(c.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: name})).DeletionTaskId
	bst := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: busy}))
	if bst.Status != "FAILED" || bst.Reason == nil || !strings.Contains(aws.ToString(bst.Reason.Reason), "instance profile") {
		t.Errorf("busy deletion = %+v", bst)
	}
	check(t, ignore(c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("ip"), RoleName: name})))

	// DeleteServiceLinkedRole: a task, that succeeds.
	del := must[*iam.DeleteServiceLinkedRoleOutput](t)(c.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: name}))
	task := aws.ToString(del.DeletionTaskId)
	if !strings.HasPrefix(task, "task/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/") {
		t.Errorf("DeletionTaskId %s", task)
	}
	st := must[*iam.GetServiceLinkedRoleDeletionStatusOutput](t)(c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: &task}))
	if st.Status != "SUCCEEDED" {
		t.Errorf("status %s", st.Status)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String("task/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling/unknown-task")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	_, err = c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String("nonsense")})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "")
	// An ordinary role is not deleted this way.
	check(t, ignore(c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("plain"), AssumeRolePolicyDocument: aws.String(ec2Trust)})))
	_, err = c.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String("plain")})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "not a service-linked role")

	// iam:AWSServiceName limits which services a user may create roles for.
	only := f.client(f.inlineUser("ops", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*",
		"Condition":{"StringEquals":{"iam:AWSServiceName":"ecs.amazonaws.com"}}}]}`))
	_, err = only.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("rds.amazonaws.com")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:CreateServiceLinkedRole")
	check(t, ignore(only.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String("ecs.amazonaws.com")})))
	check(t, f.store.Check(context.Background()))
}
