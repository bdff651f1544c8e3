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

	// Customers cannot change or delete it through the ordinary calls, whatever their rights.
	name := aws.String("AWSServiceRoleForAutoScaling")
	protected := "Cannot perform the operation on the protected role 'AWSServiceRoleForAutoScaling' - this role is only modifiable by AWS"
	ordinary := map[string]func() error{
		"DeleteRole": func() error { return ignore(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: name})) },
		"UpdateAssumeRolePolicy": func() error {
			return ignore(c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(ec2Trust)}))
		},
		"AttachRolePolicy": func() error {
			return ignore(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(adminARN)}))
		},
		"PutRolePolicy": func() error {
			return ignore(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String("p"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}))
		},
		"PutRolePermissionsBoundary": func() error {
			return ignore(c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: aws.String(adminARN)}))
		},
		"UpdateRole MaxSessionDuration": func() error {
			return ignore(c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: name, MaxSessionDuration: aws.Int32(7200)}))
		},
	}
	for call, fn := range ordinary {
		t.Run(call, func(t *testing.T) { wantErr(t, fn(), "UnmodifiableEntity", http.StatusBadRequest, protected) })
	}
	// Its description may be edited, as AWS allows.
	check(t, ignore(c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: name, Description: aws.String("edited")})))
	// Nor may a customer put a role on the service-linked path.
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fake"), Path: aws.String("/aws-service-role/x.amazonaws.com/"), AssumeRolePolicyDocument: aws.String(ec2Trust)})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "reserved for service-linked roles")

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
	_, err = c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: aws.String(task[:len(task)-1] + "0")})
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
