package iamapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// serviceLinked is what AWS creates for a service principal: the role's name and the
// AWS managed policy (under policy/aws-service-role/) that grants its permissions.
type serviceLinked struct {
	roleName, policy string
	customSuffix     bool // the service allows more than one role (CustomSuffix)
}

// serviceLinkedRoles are the service-linked roles of the services the IAM guides and
// the services' own guides name, with AWS's role and policy names.
var serviceLinkedRoles = map[string]serviceLinked{
	"autoscaling.amazonaws.com":                      {"AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy", true},
	"elasticbeanstalk.amazonaws.com":                 {"AWSServiceRoleForElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy", false},
	"ecs.amazonaws.com":                              {"AWSServiceRoleForECS", "AmazonECSServiceRolePolicy", false},
	"eks.amazonaws.com":                              {"AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy", false},
	"elasticloadbalancing.amazonaws.com":             {"AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy", false},
	"rds.amazonaws.com":                              {"AWSServiceRoleForRDS", "AmazonRDSServiceRolePolicy", false},
	"spot.amazonaws.com":                             {"AWSServiceRoleForEC2Spot", "AWSEC2SpotServiceRolePolicy", false},
	"support.amazonaws.com":                          {"AWSServiceRoleForSupport", "AWSSupportServiceRolePolicy", false},
	"trustedadvisor.amazonaws.com":                   {"AWSServiceRoleForTrustedAdvisor", "AWSTrustedAdvisorServiceRolePolicy", false},
	"organizations.amazonaws.com":                    {"AWSServiceRoleForOrganizations", "AWSOrganizationsServiceTrustPolicy", false},
	"config.amazonaws.com":                           {"AWSServiceRoleForConfig", "AWSConfigServiceRolePolicy", false},
	"cloudtrail.amazonaws.com":                       {"AWSServiceRoleForCloudTrail", "CloudTrailServiceRolePolicy", false},
	"guardduty.amazonaws.com":                        {"AWSServiceRoleForAmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy", false},
	"securityhub.amazonaws.com":                      {"AWSServiceRoleForSecurityHub", "AWSSecurityHubServiceRolePolicy", false},
	"access-analyzer.amazonaws.com":                  {"AWSServiceRoleForAccessAnalyzer", "AccessAnalyzerServiceRolePolicy", false},
	"ssm.amazonaws.com":                              {"AWSServiceRoleForAmazonSSM", "AmazonSSMServiceRolePolicy", false},
	"sso.amazonaws.com":                              {"AWSServiceRoleForSSO", "AWSSSOServiceRolePolicy", false},
	"backup.amazonaws.com":                           {"AWSServiceRoleForBackup", "AWSBackupServiceLinkedRolePolicyForBackup", false},
	"replicator.lambda.amazonaws.com":                {"AWSServiceRoleForLambdaReplicator", "AWSLambdaReplicator", false},
	"elasticmapreduce.amazonaws.com":                 {"AWSServiceRoleForEMRCleanup", "AmazonEMRCleanupPolicy", false},
	"dynamodb.application-autoscaling.amazonaws.com": {"AWSServiceRoleForApplicationAutoScaling_DynamoDBTable", "AWSApplicationAutoscalingDynamoDBTablePolicy", false},
	"ecs.application-autoscaling.amazonaws.com":      {"AWSServiceRoleForApplicationAutoScaling_ECSService", "AWSApplicationAutoscalingECSServicePolicy", false},
}

// serviceTrust is the trust policy AWS gives a service-linked role: the service may
// assume it.
func serviceTrust(service string) (string, error) {
	type principal struct {
		Service []string `json:"Service"`
	}
	type statement struct {
		Effect    string    `json:"Effect"`
		Principal principal `json:"Principal"`
		Action    []string  `json:"Action"`
	}
	doc, err := json.Marshal(struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{{"Allow", principal{[]string{service}}, []string{"sts:AssumeRole"}}}})
	return string(doc), err
}

// createServiceLinkedRole creates the service's role at /aws-service-role/SERVICE/,
// trusted by the service, with the service's AWS managed policy attached when the core
// has it. iam:AWSServiceName is the service, as IAM sets it.
func (a *API) createServiceLinkedRole(ctx context.Context, c *sts.Call) (any, error) {
	svc, suffix := c.Params.String("AWSServiceName"), c.Params.String("CustomSuffix")
	spec, known := serviceLinkedRoles[svc]
	path := account.ServiceLinkedPathPrefix + svc + "/"
	name := spec.roleName
	if suffix != "" {
		name += "_" + suffix
	}
	if err := c.Authorize("iam:CreateServiceLinkedRole", account.RoleARN(c.AccountID(), path, name), contextKey("iam:AWSServiceName", svc)); err != nil {
		return nil, err
	}
	switch {
	case !known:
		return nil, account.Errorf(account.InvalidInput, "Unrecognized service principal provided: %s", quoteName(svc))
	case suffix != "" && !spec.customSuffix:
		return nil, account.Errorf(account.InvalidInput, "Custom suffix is not allowed for %s", spec.roleName)
	}
	trust, err := serviceTrust(svc)
	if err != nil {
		return nil, err
	}
	r := account.Role{Name: name, Path: path, Description: c.Params.String("Description"), AssumeRolePolicy: trust}
	out, err := updated(ctx, c, func(tx *store.Tx) (account.Role, error) {
		if _, err := tx.Role(name); err == nil {
			return account.Role{}, account.Errorf(account.InvalidInput, "Service role name %s has been taken in this account, please try a different suffix.", name)
		}
		if arn := "arn:aws:iam::aws:policy/aws-service-role/" + spec.policy; c.Catalog() != nil {
			if _, ok := c.Catalog().Lookup(arn); ok {
				r.ManagedPolicies = []string{arn}
			}
		}
		return tx.CreateServiceLinkedRole(r)
	})
	if err != nil {
		return nil, err
	}
	return createdRole(out), nil
}

// deleteServiceLinkedRole deletes the role at once (no resource of a real service uses
// it here; a role in an instance profile is in use and its task fails) and answers the
// deletion task's id in AWS's form.
func (a *API) deleteServiceLinkedRole(ctx context.Context, c *sts.Call) (any, error) {
	r, err := loadRole(ctx, c, "iam:DeleteServiceLinkedRole")
	if err != nil {
		return nil, err
	}
	task := "task" + r.Path + r.Name + "/" + c.RequestID
	return one("DeletionTaskId", task), update(ctx, c, func(tx *store.Tx) error {
		return tx.DeleteServiceLinkedRole(r.Name, task)
	})
}

type deletionReasonXML struct {
	Reason string `xml:"Reason"`
}

type deletionStatusResult struct {
	Status string             `xml:"Status"`
	Reason *deletionReasonXML `xml:"Reason,omitempty"`
}

// getServiceLinkedRoleDeletionStatus is authorized on the deleted role's ARN, which the
// task id names.
func (a *API) getServiceLinkedRoleDeletionStatus(ctx context.Context, c *sts.Call) (any, error) {
	task := c.Params.String("DeletionTaskId")
	rest, ok := strings.CutPrefix(task, "task"+account.ServiceLinkedPathPrefix)
	i := strings.LastIndexByte(rest, '/')
	j := strings.LastIndexByte(rest[:max(i, 0)], '/')
	if !ok || i < 0 || j < 0 {
		return nil, account.Errorf(account.InvalidInput, "DeletionTaskId %s is not valid: it must look like task/aws-service-role/SERVICE/ROLE/ID.", quoteName(task))
	}
	roleARN := account.RoleARN(c.AccountID(), account.ServiceLinkedPathPrefix+rest[:j+1], rest[j+1:i])
	if err := c.Authorize("iam:GetServiceLinkedRoleDeletionStatus", roleARN); err != nil {
		return nil, err
	}
	var status, reason string
	if err := view(ctx, c, func(tx *store.Tx) error {
		var err error
		status, reason, err = tx.ServiceLinkedRoleDeletionStatus(task)
		return err
	}); err != nil {
		return nil, err
	}
	out := &deletionStatusResult{Status: status}
	if reason != "" {
		out.Reason = &deletionReasonXML{Reason: reason}
	}
	return out, nil
}
