package iamapi_test

import (
	"encoding/base32"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
)

// selfKeys lets a user manage its own keys, MFA and password, as AWS's
// documentation's "manage your own credentials" policies do.
const selfService = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[
 "iam:CreateAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed",
 "iam:GetUser","iam:ChangePassword","iam:GetLoginProfile","iam:ListMFADevices","iam:EnableMFADevice",
 "iam:ResyncMFADevice","iam:DeactivateMFADevice"],
 "Resource":"arn:aws:iam::*:user/${aws:username}"},
 {"Effect":"Allow","Action":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice"],"Resource":"arn:aws:iam::*:mfa/${aws:username}"}]}`

func TestAccessKeys(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	creds := f.inlineUser("dana", selfService)
	self := f.client(creds)
	f.user("erin")

	// Without UserName, the caller's own keys.
	list := must[*iam.ListAccessKeysOutput](t)(self.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}))
	if len(list.AccessKeyMetadata) != 1 || aws.ToString(list.AccessKeyMetadata[0].AccessKeyId) != creds.AccessKeyID ||
		list.AccessKeyMetadata[0].Status != types.StatusTypeActive || aws.ToString(list.AccessKeyMetadata[0].UserName) != "dana" {
		t.Fatalf("ListAccessKeys = %+v", list.AccessKeyMetadata)
	}
	k2 := must[*iam.CreateAccessKeyOutput](t)(self.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})).AccessKey
	if len(aws.ToString(k2.SecretAccessKey)) != 40 || aws.ToString(k2.AccessKeyId)[:4] != "AKIA" || aws.ToString(k2.UserName) != "dana" {
		t.Errorf("CreateAccessKey = %s %s", aws.ToString(k2.AccessKeyId), aws.ToString(k2.UserName))
	}
	_, err := self.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: 2")

	// Someone else's keys are out of reach, and another user's key id is "not found".
	_, err = self.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("erin")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "User: arn:aws:iam::123456789012:user/dana is not authorized to perform: iam:ListAccessKeys on resource: arn:aws:iam::123456789012:user/erin because no identity-based policy allows the iam:ListAccessKeys action")
	erinKeys := must[*iam.ListAccessKeysOutput](t)(f.rootClient().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("erin")}))
	_, err = self.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{AccessKeyId: erinKeys.AccessKeyMetadata[0].AccessKeyId, Status: types.StatusTypeInactive})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "cannot be found")

	// Used keys say when and where.
	f.clock.Advance(time.Minute)
	lu := must[*iam.GetAccessKeyLastUsedOutput](t)(self.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(creds.AccessKeyID)}))
	if aws.ToString(lu.UserName) != "dana" || lu.AccessKeyLastUsed.LastUsedDate == nil ||
		aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "iam" || aws.ToString(lu.AccessKeyLastUsed.Region) != "us-east-1" {
		t.Errorf("GetAccessKeyLastUsed = %+v %+v", aws.ToString(lu.UserName), lu.AccessKeyLastUsed)
	}
	never := must[*iam.GetAccessKeyLastUsedOutput](t)(self.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k2.AccessKeyId}))
	if never.AccessKeyLastUsed.LastUsedDate != nil || aws.ToString(never.AccessKeyLastUsed.ServiceName) != "N/A" {
		t.Errorf("unused key = %+v", never.AccessKeyLastUsed)
	}

	// Rotation as the guides describe: the new key works, the old one is made
	// inactive (and stops working at once), then deleted.
	newKey := aws.Credentials{AccessKeyID: aws.ToString(k2.AccessKeyId), SecretAccessKey: aws.ToString(k2.SecretAccessKey)}
	withNew := f.client(newKey)
	check(t, ignore(withNew.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{AccessKeyId: aws.String(creds.AccessKeyID), Status: types.StatusTypeInactive})))
	_, err = self.GetUser(ctx, &iam.GetUserInput{})
	wantErr(t, err, "InvalidClientTokenId", http.StatusForbidden, "The security token included in the request is invalid.")
	check(t, ignore(withNew.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{AccessKeyId: aws.String(creds.AccessKeyID), Status: types.StatusTypeActive})))
	check(t, ignore(self.GetUser(ctx, &iam.GetUserInput{})))
	check(t, ignore(withNew.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(creds.AccessKeyID)})))
	_, err = self.GetUser(ctx, &iam.GetUserInput{})
	wantErr(t, err, "InvalidClientTokenId", http.StatusForbidden, "")
	_, err = f.rootClient().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(creds.AccessKeyID)})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	// A caller allowed only its own user does not learn whether a key exists.
	_, err = withNew.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(creds.AccessKeyID)})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "")
}

func TestLoginProfilesAndPasswordPolicy(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	creds := f.inlineUser("dana", selfService)
	self := f.client(creds)

	_, err := c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Password Policy with domain name 123456789012 cannot be found.")
	// Without a policy, AWS's default rules.
	_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dana"), Password: aws.String("short")})
	wantErr(t, err, "PasswordPolicyViolation", http.StatusBadRequest, "Password should have a minimum length of 8")

	check(t, ignore(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(12), RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true,
		RequireLowercaseCharacters: true, AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(90), PasswordReusePrevention: aws.Int32(3),
	})))
	pp := must[*iam.GetAccountPasswordPolicyOutput](t)(c.GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})).PasswordPolicy
	if aws.ToInt32(pp.MinimumPasswordLength) != 12 || !pp.ExpirePasswords || aws.ToInt32(pp.MaxPasswordAge) != 90 ||
		aws.ToInt32(pp.PasswordReusePrevention) != 3 || !pp.RequireSymbols || pp.HardExpiry != nil && *pp.HardExpiry {
		t.Errorf("GetAccountPasswordPolicy = %+v", pp)
	}
	_, err = c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(200)})
	wantErr(t, err, "ValidationError", http.StatusBadRequest, "minimumPasswordLength")

	weak := map[string]string{
		"Sh0rt!":          "Password should have a minimum length of 12",
		"alllowercase1!x": "Password should have at least one uppercase letter",
		"NoDigitsHere!!x": "Password should have at least one number",
		"NoSymbolsHere12": "Password should have at least one symbol",
	}
	for pw, msg := range weak {
		_, err := c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dana"), Password: aws.String(pw)})
		wantErr(t, err, "PasswordPolicyViolation", http.StatusBadRequest, msg)
	}
	lp := must[*iam.CreateLoginProfileOutput](t)(c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{
		UserName: aws.String("dana"), Password: aws.String("Correct-Horse-1"), PasswordResetRequired: true})).LoginProfile
	if aws.ToString(lp.UserName) != "dana" || !lp.PasswordResetRequired {
		t.Errorf("CreateLoginProfile = %+v", lp)
	}
	_, err = c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("dana"), Password: aws.String("Correct-Horse-2")})
	wantErr(t, err, "EntityAlreadyExists", http.StatusConflict, "")

	// The user changes its own password: old one checked, history kept.
	_, err = self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("wrong"), NewPassword: aws.String("Battery-Staple-2")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "old password")
	_, err = self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Correct-Horse-1"), NewPassword: aws.String("weak")})
	wantErr(t, err, "PasswordPolicyViolation", http.StatusBadRequest, "minimum length of 12")
	check(t, ignore(self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Correct-Horse-1"), NewPassword: aws.String("Battery-Staple-2")})))
	_, err = self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Battery-Staple-2"), NewPassword: aws.String("Correct-Horse-1")})
	wantErr(t, err, "PasswordPolicyViolation", http.StatusBadRequest, "previous passwords")
	got := must[*iam.GetLoginProfileOutput](t)(self.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})).LoginProfile
	if got.PasswordResetRequired {
		t.Errorf("PasswordResetRequired still set after ChangePassword")
	}
	_, err = c.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("x"), NewPassword: aws.String("Battery-Staple-3")})
	wantErr(t, err, "InvalidUserType", http.StatusBadRequest, "")

	// Hard expiry: an expired password can only be reset by an administrator.
	check(t, ignore(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(12), AllowUsersToChangePassword: true, MaxPasswordAge: aws.Int32(1), HardExpiry: aws.Bool(true)})))
	f.update(func(tx *storeTx) error { // changed two days ago
		_, err := tx.UpdateLoginProfile("dana", func(lp *account.LoginProfile) error {
			lp.PasswordChanged = f.clock.Now().Add(-49 * time.Hour)
			return nil
		})
		return err
	})
	_, err = self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Battery-Staple-2"), NewPassword: aws.String("Battery-Staple-3")})
	wantErr(t, err, "EntityTemporarilyUnmodifiable", http.StatusConflict, "HardExpiry")
	check(t, ignore(c.UpdateLoginProfile(ctx, &iam.UpdateLoginProfileInput{UserName: aws.String("dana"), Password: aws.String("Admin-Reset-99"), PasswordResetRequired: aws.Bool(true)})))
	check(t, ignore(self.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Admin-Reset-99"), NewPassword: aws.String("Battery-Staple-3")})))

	// Without AllowUsersToChangePassword, a user needs iam:ChangePassword itself.
	f.user("frank")
	check(t, ignore(c.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("frank"), Password: aws.String("Frank-Pass-001")})))
	check(t, ignore(c.UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(12)})))
	frank := f.client(f.keyOf("frank"))
	_, err = frank.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("Frank-Pass-001"), NewPassword: aws.String("Frank-Pass-002")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "iam:ChangePassword")

	check(t, ignore(c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})))
	_, err = c.DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")
	check(t, ignore(c.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: aws.String("dana")})))
	_, err = c.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("dana")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "Login Profile for User dana cannot be found.")
}

func TestVirtualMFA(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	self := f.client(f.inlineUser("dana", selfService))
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(self.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("dana")})).VirtualMFADevice
	serial := aws.ToString(dev.SerialNumber)
	if serial != "arn:aws:iam::123456789012:mfa/dana" {
		t.Errorf("SerialNumber = %s", serial)
	}
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(string(dev.Base32StringSeed))
	if err != nil || len(seed) != 20 {
		t.Fatalf("Base32StringSeed %q: %v", dev.Base32StringSeed, err)
	}
	if string(dev.QRCodePNG[:8]) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("QRCodePNG is not a PNG: % x", dev.QRCodePNG[:8])
	}
	code := func(offset int) string {
		c, err := sts.TOTPCode(seed, uint64(int64(sts.TOTPStep(f.clock.Now()))+int64(offset)))
		check(t, err)
		return c
	}
	_, err = self.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("dana"), SerialNumber: &serial, AuthenticationCode1: aws.String(code(0)), AuthenticationCode2: aws.String(code(0))})
	wantErr(t, err, "InvalidAuthenticationCode", http.StatusForbidden, "Authentication code for device is not valid.")
	check(t, ignore(self.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("dana"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(code(-1)), AuthenticationCode2: aws.String(code(0))})))

	list := must[*iam.ListMFADevicesOutput](t)(self.ListMFADevices(ctx, &iam.ListMFADevicesInput{}))
	if len(list.MFADevices) != 1 || aws.ToString(list.MFADevices[0].SerialNumber) != serial || aws.ToString(list.MFADevices[0].UserName) != "dana" {
		t.Errorf("ListMFADevices = %+v", list.MFADevices)
	}
	root := f.rootClient()
	assigned := must[*iam.ListVirtualMFADevicesOutput](t)(root.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeAssigned}))
	if len(assigned.VirtualMFADevices) != 1 || assigned.VirtualMFADevices[0].User == nil || aws.ToString(assigned.VirtualMFADevices[0].User.UserName) != "dana" ||
		assigned.VirtualMFADevices[0].Base32StringSeed != nil {
		t.Errorf("ListVirtualMFADevices Assigned = %+v", assigned.VirtualMFADevices)
	}
	unassigned := must[*iam.ListVirtualMFADevicesOutput](t)(root.ListVirtualMFADevices(ctx, &iam.ListVirtualMFADevicesInput{AssignmentStatus: types.AssignmentStatusTypeUnassigned}))
	if len(unassigned.VirtualMFADevices) != 0 {
		t.Errorf("unassigned = %+v", unassigned.VirtualMFADevices)
	}

	// A device in use cannot be deleted, nor enabled twice; codes are good once.
	_, err = self.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "MFA Device is still in use.")
	_, err = self.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("dana"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(code(-1)), AuthenticationCode2: aws.String(code(0))})
	wantErr(t, err, "InvalidAuthenticationCode", http.StatusForbidden, "")
	f.clock.Advance(5 * time.Minute) // a device whose clock drifted: resync accepts codes further out
	check(t, ignore(self.ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("dana"), SerialNumber: &serial,
		AuthenticationCode1: aws.String(code(6)), AuthenticationCode2: aws.String(code(7))})))

	// A user with the device can be deleted only once it is deactivated.
	_, err = root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("dana"), AccessKeyId: aws.String(f.keyOf("dana").AccessKeyID)})
	check(t, err)
	check(t, ignore(root.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("dana"), PolicyName: aws.String("p")})))
	_, err = root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dana")})
	wantErr(t, err, "DeleteConflict", http.StatusConflict, "must delete MFA device first")
	check(t, ignore(root.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String("dana"), SerialNumber: &serial})))
	check(t, ignore(root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})))
	check(t, ignore(root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("dana")})))
	_, err = root.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: &serial})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")

	// Root's own device (AWS enables it in the console only: here, in the store).
	rd := must[*iam.CreateVirtualMFADeviceOutput](t)(root.CreateVirtualMFADevice(ctx, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String("root-account-mfa-device")})).VirtualMFADevice
	f.update(func(tx *storeTx) error {
		return tx.EnableMFADevice(account.RootUserName, aws.ToString(rd.SerialNumber))
	})
	rootDevs := must[*iam.ListMFADevicesOutput](t)(root.ListMFADevices(ctx, &iam.ListMFADevicesInput{}))
	if len(rootDevs.MFADevices) != 1 || rootDevs.MFADevices[0].UserName != nil {
		t.Errorf("root's ListMFADevices = %+v", rootDevs.MFADevices)
	}
	sum := must[*iam.GetAccountSummaryOutput](t)(root.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{}))
	if sum.SummaryMap["AccountMFAEnabled"] != 1 || sum.SummaryMap["MFADevicesInUse"] != 1 {
		t.Errorf("summary after root MFA = %v", sum.SummaryMap)
	}
}

// keyOf returns the first access key of a user made by the fixture, with its secret.
func (f *fixture) keyOf(user string) aws.Credentials {
	f.t.Helper()
	var out aws.Credentials
	f.update(func(tx *storeTx) error {
		keys, err := tx.AccessKeys(user)
		if err != nil || len(keys) == 0 {
			return err
		}
		k, err := tx.AccessKey(keys[0].ID)
		out = aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
		return err
	})
	return out
}
