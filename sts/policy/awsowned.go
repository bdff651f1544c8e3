package policy

import "strings"

// Refusal is AWS's answer to a customer who changes what AWS owns: the AWS
// managed policies (arn:aws:iam::aws:policy/...) and the service-linked roles
// (path /aws-service-role/). AWS refuses these changes whatever the caller's
// policies say; Decide then denies with ReasonAWSOwned and the API answers
// with the refusal's code and message.
type Refusal struct {
	// Code is the AWS error code: AccessDenied or UnmodifiableEntity.
	Code string
	// Message is AWS's message.
	Message string
}

// The codes of a Refusal.
const (
	CodeAccessDenied       = "AccessDenied"
	CodeUnmodifiableEntity = "UnmodifiableEntity"
)

// managedPolicyRefusals are IAM's answers to the changes of an AWS managed
// policy, by action name (lower case).
var managedPolicyRefusals = map[string]string{
	"deletepolicy":            "Cannot delete policies outside your own account.",
	"createpolicyversion":     "Cannot create versions for policies outside your own account.",
	"setdefaultpolicyversion": "Cannot update policies outside your own account.",
	"deletepolicyversion":     "Cannot delete policy versions for policies outside your own account.",
	"tagpolicy":               "Cannot update policies outside your own account.",
	"untagpolicy":             "Cannot update policies outside your own account.",
}

// serviceLinkedRoleActions are the IAM actions that change a role and that
// AWS refuses on a service-linked role (its service changes it, and
// DeleteServiceLinkedRole deletes it). Its description may be edited.
var serviceLinkedRoleActions = map[string]bool{
	"deleterole": true, "updateassumerolepolicy": true, "putrolepolicy": true, "deleterolepolicy": true,
	"attachrolepolicy": true, "detachrolepolicy": true, "putrolepermissionsboundary": true,
	"deleterolepermissionsboundary": true,
}

// AWSOwned reports whether AWS refuses action on resource to any customer,
// and with what. action is service:name in any case; resource an ARN.
func AWSOwned(action, resource string) (Refusal, bool) {
	svc, name, ok := strings.Cut(action, ":")
	if !ok || !strings.EqualFold(svc, "iam") {
		return Refusal{}, false
	}
	name = strings.ToLower(name)
	switch awsOwned(name, resource) {
	case ownedManagedPolicy:
		return Refusal{Code: CodeAccessDenied, Message: managedPolicyRefusals[name]}, true
	case ownedServiceLinkedRole:
		role := resource[strings.LastIndexByte(resource, '/')+1:]
		return Refusal{Code: CodeUnmodifiableEntity,
			Message: "Cannot perform the operation on the protected role '" + role + "' - this role is only modifiable by AWS"}, true
	}
	return Refusal{}, false
}

const (
	ownedNone = iota
	ownedManagedPolicy
	ownedServiceLinkedRole
)

// awsOwned says what of AWS's the lower-case IAM action name changes on
// resource; it does not allocate (Decide calls it).
func awsOwned(name, resource string) int {
	rest, ok := strings.CutPrefix(resource, "arn:")
	if !ok {
		return ownedNone
	}
	// partition:iam:region:account:resource
	var seg [4]string
	for i := range seg {
		var found bool
		if seg[i], rest, found = strings.Cut(rest, ":"); !found {
			return ownedNone
		}
	}
	if seg[1] != "iam" {
		return ownedNone
	}
	switch {
	case seg[3] == "aws" && strings.HasPrefix(rest, "policy/"):
		if _, ok := managedPolicyRefusals[name]; ok {
			return ownedManagedPolicy
		}
	case strings.HasPrefix(rest, "role/aws-service-role/") && serviceLinkedRoleActions[name]:
		return ownedServiceLinkedRole
	}
	return ownedNone
}
