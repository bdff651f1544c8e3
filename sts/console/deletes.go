package console

import (
	"context"
	"maps"
	"net/http"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/internal/awserr"
)

// The delete pages do what AWS's console does: IAM refuses to delete an entity
// that still has dependents (DeleteConflict), so the console removes them first,
// each with its own IAM call of the signed-in principal, then deletes the entity.
// The person confirms by typing the entity's name.

// deleteForm is what the "delete" template needs.
type deleteForm struct {
	Kind, Action, Name, CSRF, ARN string
	Removes                       string // what goes first, in words
}

// removes says, per kind, what a delete removes before the entity.
var removes = map[string]string{
	"user": "Deleting the user first removes its console password, access keys, signing certificates, SSH public keys, " +
		"service-specific credentials and MFA devices, takes it out of its groups, and deletes its inline and detaches its managed policies.",
	"group":  "Deleting the group first takes its users out of it, and deletes its inline and detaches its managed policies.",
	"role":   "Deleting the role first takes it out of its instance profiles (deleting the one of its own name), and deletes its inline and detaches its managed policies. Sessions of the role already issued last until they expire.",
	"policy": "Deleting the policy first detaches it from every user, group and role, and deletes its versions.",
}

// newDeleteForm is the template function behind {{template "delete" …}}.
func newDeleteForm(kind, action, name, csrf, arn string) deleteForm {
	return deleteForm{Kind: kind, Action: action, Name: name, CSRF: csrf, ARN: arn, Removes: removes[kind]}
}

// confirmed checks that the form's confirmation is the entity's name, as typed.
func confirmed(r *http.Request, kind, name string) error {
	if got := strings.TrimSpace(r.PostFormValue("confirm")); got == "" || got != name {
		return userError("Nothing was deleted: to confirm, type the " + kind + " name " + name + " exactly.")
	}
	return nil
}

// pager is an IAM SDK paginator.
type pager[O any] interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*iam.Options)) (O, error)
}

// forAll lists every item of p's pages first (deleting under a listing's marker
// could skip items), then calls fn on each in order.
func forAll[O, T any](ctx context.Context, p pager[O], items func(O) []T, fn func(T) error) error {
	var all []T
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		all = append(all, items(out)...)
	}
	for _, it := range all {
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// ignoreMissing treats NoSuchEntity (already gone) as done.
func ignoreMissing(err error) error {
	if awserr.Code(err) == "NoSuchEntity" {
		return nil
	}
	return err
}

// drop keeps only an IAM call's error.
func drop[T any](_ T, err error) error { return err }

// steps runs fns in order, stopping at the first error.
func steps(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// userDependents removes the user's password, access keys, signing certificates,
// SSH keys, service-specific credentials, MFA devices and group memberships.
func userDependents(ctx context.Context, cl *iam.Client, n *string) error {
	return steps(
		func() error {
			return ignoreMissing(drop(cl.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: n})))
		},
		func() error {
			return forAll(ctx, iam.NewListAccessKeysPaginator(cl, &iam.ListAccessKeysInput{UserName: n}), accessKeysOf, func(k types.AccessKeyMetadata) error {
				return drop(cl.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: n, AccessKeyId: k.AccessKeyId}))
			})
		},
		func() error {
			return forAll(ctx, iam.NewListSigningCertificatesPaginator(cl, &iam.ListSigningCertificatesInput{UserName: n}), certificatesOf, func(c types.SigningCertificate) error {
				return drop(cl.DeleteSigningCertificate(ctx, &iam.DeleteSigningCertificateInput{UserName: n, CertificateId: c.CertificateId}))
			})
		},
		func() error {
			return forAll(ctx, iam.NewListSSHPublicKeysPaginator(cl, &iam.ListSSHPublicKeysInput{UserName: n}), sshKeysOf, func(k types.SSHPublicKeyMetadata) error {
				return drop(cl.DeleteSSHPublicKey(ctx, &iam.DeleteSSHPublicKeyInput{UserName: n, SSHPublicKeyId: k.SSHPublicKeyId}))
			})
		},
		func() error {
			out, err := cl.ListServiceSpecificCredentials(ctx, &iam.ListServiceSpecificCredentialsInput{UserName: n})
			for i := 0; err == nil && i < len(out.ServiceSpecificCredentials); i++ {
				err = drop(cl.DeleteServiceSpecificCredential(ctx, &iam.DeleteServiceSpecificCredentialInput{UserName: n,
					ServiceSpecificCredentialId: out.ServiceSpecificCredentials[i].ServiceSpecificCredentialId}))
			}
			return err
		},
		func() error {
			return forAll(ctx, iam.NewListMFADevicesPaginator(cl, &iam.ListMFADevicesInput{UserName: n}), mfaDevicesOf, func(d types.MFADevice) error {
				err := drop(cl.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: n, SerialNumber: d.SerialNumber}))
				if err != nil || !strings.Contains(aws.ToString(d.SerialNumber), ":mfa/") {
					return err // a hardware or FIDO device: deactivated is all IAM does
				}
				return ignoreMissing(drop(cl.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: d.SerialNumber})))
			})
		},
		func() error {
			return forAll(ctx, iam.NewListGroupsForUserPaginator(cl, &iam.ListGroupsForUserInput{UserName: n}), groupsOf, func(g types.Group) error {
				return drop(cl.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{UserName: n, GroupName: g.GroupName}))
			})
		},
	)
}

// roleDependents takes the role out of its instance profiles, deleting the one of
// the role's own name (as AWS's console, which made it, does).
func roleDependents(ctx context.Context, cl *iam.Client, n *string) error {
	return forAll(ctx, iam.NewListInstanceProfilesForRolePaginator(cl, &iam.ListInstanceProfilesForRoleInput{RoleName: n}), profilesOf, func(p types.InstanceProfile) error {
		err := drop(cl.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: p.InstanceProfileName, RoleName: n}))
		if err != nil || aws.ToString(p.InstanceProfileName) != aws.ToString(n) {
			return err
		}
		return ignoreMissing(drop(cl.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: p.InstanceProfileName})))
	})
}

// deletePrincipal deletes a user, group or role (kind) as AWS's console does: its
// own dependents first (see userDependents, roleDependents; a group's users), then
// its inline policies, its managed policies' attachments, and itself.
func deletePrincipal(ctx context.Context, cl *iam.Client, kind, name string) error {
	n := aws.String(name)
	switch kind {
	case "user":
		return deleteFamily(ctx, "UserName", n, func() error { return userDependents(ctx, cl, n) },
			cl.ListUserPolicies, cl.ListAttachedUserPolicies, cl.DeleteUserPolicy, cl.DetachUserPolicy, cl.DeleteUser)
	case "group":
		return deleteFamily(ctx, "GroupName", n, func() error { return groupDependents(ctx, cl, n) },
			cl.ListGroupPolicies, cl.ListAttachedGroupPolicies, cl.DeleteGroupPolicy, cl.DetachGroupPolicy, cl.DeleteGroup)
	}
	return deleteFamily(ctx, "RoleName", n, func() error { return roleDependents(ctx, cl, n) },
		cl.ListRolePolicies, cl.ListAttachedRolePolicies, cl.DeleteRolePolicy, cl.DetachRolePolicy, cl.DeleteRole)
}

// call is an IAM operation of the SDK's client.
type call[I, O any] func(context.Context, *I, ...func(*iam.Options)) (*O, error)

// deleteFamily is deletePrincipal for one family of IAM's calls (users', groups'
// or roles'), alike but for their types and the name's field: the principal's
// dependents (before), its inline policies, its attachments, then itself.
func deleteFamily[LI, LO, AI, AO, DI, DO, XI, XO, RI, RO any](ctx context.Context, field string, n *string, before func() error,
	inline call[LI, LO], attached call[AI, AO], del call[DI, DO], detach call[XI, XO], remove call[RI, RO]) error {
	own := map[string]*string{field: n}
	return steps(before,
		func() error {
			names, err := listAll[LI, LO, string](ctx, inline, own, "PolicyNames")
			for i := 0; err == nil && i < len(names); i++ {
				err = drop(del(ctx, input[DI](map[string]*string{field: n, "PolicyName": &names[i]})))
			}
			return err
		},
		func() error {
			pols, err := listAll[AI, AO, types.AttachedPolicy](ctx, attached, own, "AttachedPolicies")
			for i := 0; err == nil && i < len(pols); i++ {
				err = drop(detach(ctx, input[XI](map[string]*string{field: n, "PolicyArn": pols[i].PolicyArn})))
			}
			return err
		},
		func() error { return drop(remove(ctx, input[RI](own))) },
	)
}

// input returns a new input of an IAM operation with the string fields named in
// fields set.
func input[I any](fields map[string]*string) *I {
	in := new(I)
	v := reflect.ValueOf(in).Elem()
	for name, s := range fields {
		v.FieldByName(name).Set(reflect.ValueOf(s))
	}
	return in
}

// listAll calls list page after page (Marker, IsTruncated) and returns the items
// of every page (the output's field items).
func listAll[I, O, T any](ctx context.Context, list call[I, O], fields map[string]*string, items string) ([]T, error) {
	var all []T
	var marker *string
	for {
		in := maps.Clone(fields)
		in["Marker"] = marker
		out, err := list(ctx, input[I](in))
		if err != nil {
			return nil, err
		}
		v := reflect.ValueOf(out).Elem()
		all = append(all, v.FieldByName(items).Interface().([]T)...)
		if !v.FieldByName("IsTruncated").Bool() {
			return all, nil
		}
		marker = v.FieldByName("Marker").Interface().(*string)
	}
}

// groupDependents takes the group's users out of it.
func groupDependents(ctx context.Context, cl *iam.Client, n *string) error {
	return forAll(ctx, iam.NewGetGroupPaginator(cl, &iam.GetGroupInput{GroupName: n}), usersOf, func(u types.User) error {
		return drop(cl.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: n, UserName: u.UserName}))
	})
}

// deletePolicy detaches the managed policy from every group, user and role,
// deletes its versions but the default, then the policy.
func deletePolicy(ctx context.Context, cl *iam.Client, arn string) error {
	a := aws.String(arn)
	return steps(
		func() error {
			return forAll(ctx, iam.NewListEntitiesForPolicyPaginator(cl, &iam.ListEntitiesForPolicyInput{PolicyArn: a}), entitiesOf, func(e policyEntity) error {
				switch {
				case e.group != nil:
					return drop(cl.DetachGroupPolicy(ctx, &iam.DetachGroupPolicyInput{PolicyArn: a, GroupName: e.group}))
				case e.user != nil:
					return drop(cl.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{PolicyArn: a, UserName: e.user}))
				}
				return drop(cl.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{PolicyArn: a, RoleName: e.role}))
			})
		},
		func() error {
			return forAll(ctx, iam.NewListPolicyVersionsPaginator(cl, &iam.ListPolicyVersionsInput{PolicyArn: a}), versionsOf, func(v types.PolicyVersion) error {
				if v.IsDefaultVersion {
					return nil
				}
				return drop(cl.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: a, VersionId: v.VersionId}))
			})
		},
		func() error { return drop(cl.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: a})) },
	)
}

// policyEntity is one group, user or role a managed policy is attached to.
type policyEntity struct{ group, user, role *string }

// What each listing holds.
func accessKeysOf(o *iam.ListAccessKeysOutput) []types.AccessKeyMetadata { return o.AccessKeyMetadata }
func certificatesOf(o *iam.ListSigningCertificatesOutput) []types.SigningCertificate {
	return o.Certificates
}
func sshKeysOf(o *iam.ListSSHPublicKeysOutput) []types.SSHPublicKeyMetadata { return o.SSHPublicKeys }
func mfaDevicesOf(o *iam.ListMFADevicesOutput) []types.MFADevice            { return o.MFADevices }
func groupsOf(o *iam.ListGroupsForUserOutput) []types.Group                 { return o.Groups }
func usersOf(o *iam.GetGroupOutput) []types.User                            { return o.Users }
func profilesOf(o *iam.ListInstanceProfilesForRoleOutput) []types.InstanceProfile {
	return o.InstanceProfiles
}
func versionsOf(o *iam.ListPolicyVersionsOutput) []types.PolicyVersion { return o.Versions }

func entitiesOf(o *iam.ListEntitiesForPolicyOutput) []policyEntity {
	var out []policyEntity
	for _, g := range o.PolicyGroups {
		out = append(out, policyEntity{group: g.GroupName})
	}
	for _, u := range o.PolicyUsers {
		out = append(out, policyEntity{user: u.UserName})
	}
	for _, r := range o.PolicyRoles {
		out = append(out, policyEntity{role: r.RoleName})
	}
	return out
}
