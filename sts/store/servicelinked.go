package store

import (
	"github.com/credbroker/credbroker/sts/account"
)

// Service-linked roles are created and deleted for a service by AWS (here: by
// CreateServiceLinkedRole and DeleteServiceLinkedRole). That customers cannot change
// them through the ordinary role calls is the policy engine's rule (policy.AWSOwned).

// CreateServiceLinkedRole creates r (its path under /aws-service-role/, its trust
// policy and policies set by the caller) as AWS does for a service.
func (tx *Tx) CreateServiceLinkedRole(r account.Role) (account.Role, error) {
	if !account.IsServiceLinkedPath(r.Path) {
		return account.Role{}, account.Errorf(account.InvalidInput, "A service-linked role's path must start with %s.", account.ServiceLinkedPathPrefix)
	}
	return tx.CreateRole(r)
}

const bTasks = "tasks" // service-linked role deletion tasks

// serviceLinkedTask is a deletion task of a service-linked role.
type serviceLinkedTask struct {
	Status  string `json:"status"`
	RoleARN string `json:"role"`
	Reason  string `json:"reason,omitempty"`
}

// DeleteServiceLinkedRole deletes the service-linked role name with its policies, as
// the service does once it no longer uses the role, and records the deletion task
// taskID as SUCCEEDED; a role still in an instance profile is in use: the task is
// FAILED with the reason and the role stays. A role that is not service-linked is
// InvalidInput.
func (tx *Tx) DeleteServiceLinkedRole(name, taskID string) error {
	r, err := change(tx, tx.Role, name)
	if err != nil {
		return err
	}
	if !account.IsServiceLinkedRole(r) {
		return account.Errorf(account.InvalidInput, "Role %s is not a service-linked role.", r.Name)
	}
	if n, err := tx.relCount(rRoleProfile, r.ID); err != nil || n > 0 {
		if err != nil {
			return err
		}
		return tx.put(bTasks, []byte(taskID), serviceLinkedTask{Status: "FAILED", RoleARN: r.ARN,
			Reason: "The role is in use: remove it from its instance profiles first."})
	}
	for _, arn := range r.ManagedPolicies {
		if err := tx.DetachPolicy(account.RoleRef(r.Name), arn); err != nil {
			return err
		}
	}
	for _, p := range r.InlinePolicies {
		if err := tx.DeleteInlinePolicy(account.RoleRef(r.Name), p.Name); err != nil {
			return err
		}
	}
	if err := tx.DeleteRole(r.Name); err != nil {
		return err
	}
	return tx.put(bTasks, []byte(taskID), serviceLinkedTask{Status: "SUCCEEDED", RoleARN: r.ARN})
}

// ServiceLinkedRoleDeletionStatus returns the status of a deletion task (SUCCEEDED or
// FAILED) and, for a failed one, why.
func (tx *Tx) ServiceLinkedRoleDeletionStatus(taskID string) (status, reason string, err error) {
	var t serviceLinkedTask
	ok, err := tx.get(bTasks, []byte(taskID), &t)
	if err != nil || !ok {
		return "", "", orErr(err, notFound("Deletion task %s cannot be found.", taskID))
	}
	return t.Status, t.Reason, nil
}
