package account

import (
	"strings"
)

// Partition is the AWS partition the core's ARNs are in.
const Partition = "aws"

// AWSAccount is the account field of AWS managed policy ARNs (arn:aws:iam::aws:policy/…).
const AWSAccount = "aws"

// Resource types of IAM ARNs, as in arn:aws:iam::ACCOUNT:TYPE/PATH/NAME.
const (
	ResourceUser            = "user"
	ResourceGroup           = "group"
	ResourceRole            = "role"
	ResourcePolicy          = "policy"
	ResourceInstanceProfile = "instance-profile"
	ResourceMFA             = "mfa"
	ResourceOIDCProvider    = "oidc-provider"
	ResourceAssumedRole     = "assumed-role"   // in the sts service
	ResourceFederatedUser   = "federated-user" // in the sts service
)

// ARN is an Amazon Resource Name split into its fields:
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// ParseARN splits s into its fields. The resource may itself contain colons. The error is
// IAM's InvalidInput for a malformed ARN.
func ParseARN(s string) (ARN, error) {
	bad := Errorf(InvalidInput, "ARN %s is not valid.", quoteForMessage(s, 2048))
	if len(s) > 2048 || !strings.HasPrefix(s, "arn:") {
		return ARN{}, bad
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, bad
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}

// String returns the ARN in its usual colon-separated form.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// SplitResource splits an IAM resource such as "role/service/app/web" into its type
// ("role"), path ("/service/app/") and name ("web"). A resource without a slash has
// path "" and name "" (as "root"); one with a single slash has path "/".
func (a ARN) SplitResource() (typ, path, name string) {
	typ, rest, ok := strings.Cut(a.Resource, "/")
	if !ok {
		return typ, "", ""
	}
	i := strings.LastIndexByte(rest, '/')
	return typ, "/" + rest[:i+1], rest[i+1:]
}

func iamARN(accountID, typ, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:" + Partition + ":iam::" + accountID + ":" + typ + path + name
}

// RootARN is the ARN of the account's root user.
func RootARN(accountID string) string { return "arn:" + Partition + ":iam::" + accountID + ":root" }

// UserARN is arn:aws:iam::ACCOUNT:user/PATH/NAME (path "" counts as "/").
func UserARN(accountID, path, name string) string {
	return iamARN(accountID, ResourceUser, path, name)
}

// GroupARN is arn:aws:iam::ACCOUNT:group/PATH/NAME.
func GroupARN(accountID, path, name string) string {
	return iamARN(accountID, ResourceGroup, path, name)
}

// RoleARN is arn:aws:iam::ACCOUNT:role/PATH/NAME.
func RoleARN(accountID, path, name string) string {
	return iamARN(accountID, ResourceRole, path, name)
}

// PolicyARN is arn:aws:iam::ACCOUNT:policy/PATH/NAME; with accountID AWSAccount it is an
// AWS managed policy's ARN.
func PolicyARN(accountID, path, name string) string {
	return iamARN(accountID, ResourcePolicy, path, name)
}

// InstanceProfileARN is arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME.
func InstanceProfileARN(accountID, path, name string) string {
	return iamARN(accountID, ResourceInstanceProfile, path, name)
}

// MFADeviceARN is a virtual MFA device's serial number, arn:aws:iam::ACCOUNT:mfa/PATH/NAME.
func MFADeviceARN(accountID, path, name string) string {
	return iamARN(accountID, ResourceMFA, path, name)
}

// OIDCProviderARN is arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH for the issuer URL
// (the scheme is dropped, as IAM does).
func OIDCProviderARN(accountID, url string) string {
	return "arn:" + Partition + ":iam::" + accountID + ":" + ResourceOIDCProvider + "/" + trimScheme(url)
}

// AssumedRoleARN is arn:aws:sts::ACCOUNT:assumed-role/ROLENAME/SESSION. It has no role
// path, as AWS prints it.
func AssumedRoleARN(accountID, roleName, sessionName string) string {
	return "arn:" + Partition + ":sts::" + accountID + ":" + ResourceAssumedRole + "/" + roleName + "/" + sessionName
}

// FederatedUserARN is arn:aws:sts::ACCOUNT:federated-user/NAME.
func FederatedUserARN(accountID, name string) string {
	return "arn:" + Partition + ":sts::" + accountID + ":" + ResourceFederatedUser + "/" + name
}

// IsAWSManagedPolicyARN reports whether arn names an AWS managed policy
// (arn:aws:iam::aws:policy/…).
func IsAWSManagedPolicyARN(arn string) bool {
	return strings.HasPrefix(arn, "arn:"+Partition+":iam::"+AWSAccount+":"+ResourcePolicy+"/")
}

func trimScheme(url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		return url[i+3:]
	}
	return url
}
