package sts

import (
	"context"
	"fmt"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// The demo account of `credbroker serve --dev`.
const (
	DevAccountID = "123456789012"
	DevUserName  = "dev"
	DevRoleName  = "dev-admin"
)

// DevAccount is what SeedDev made. SecretAccessKey is the only copy of the user's
// secret outside the store: hand it to the broker's key source; String and GoString
// leave it out, so that logging a DevAccount never prints it.
type DevAccount struct {
	AccountID          string
	UserName, UserARN  string
	AccessKeyID        string
	SecretAccessKey    string
	RoleName, RoleARN  string
	InstanceProfileARN string
}

// String describes the account without the secret.
func (d DevAccount) String() string {
	return fmt.Sprintf("dev account %s: user %s (key %s), role %s", d.AccountID, d.UserARN, d.AccessKeyID, d.RoleARN)
}

// GoString is String, for %#v.
func (d DevAccount) GoString() string { return d.String() }

// devTrust lets the account (its identities whose own policies allow it) and the user
// dev assume dev-admin, with session tags and a source identity.
const devTrust = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam::%[1]s:root", "arn:aws:iam::%[1]s:user/dev"]},
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
  }]
}`

// devUserPolicy is dev's own permission to assume dev-admin.
const devUserPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "AssumeDevAdmin",
    "Effect": "Allow",
    "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    "Resource": "arn:aws:iam::%s:role/dev-admin"
  }]
}`

// SeedDev creates the demo account's entities in st, which must hold account
// DevAccountID and no user dev yet: the IAM user dev with one access key (returned,
// never logged), allowed to assume the role dev-admin; the role dev-admin
// (AdministratorAccess, sessions of up to 12 hours) with a trust policy naming the
// account and dev, and an instance profile of the same name holding it.
func SeedDev(ctx context.Context, st Store) (DevAccount, error) {
	acct := st.AccountID()
	if acct != DevAccountID {
		return DevAccount{}, fmt.Errorf("dev account: the store holds account %s, not %s", acct, DevAccountID)
	}
	d := DevAccount{AccountID: acct, UserName: DevUserName, RoleName: DevRoleName}
	err := st.Update(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(account.User{Name: DevUserName,
			Tags: account.Tags{{Key: "credbroker", Value: "dev"}}})
		if err != nil {
			return err
		}
		d.UserARN = u.ARN
		if err := tx.PutInlinePolicy(account.UserRef(DevUserName), "assume-dev-admin", fmt.Sprintf(devUserPolicy, acct)); err != nil {
			return err
		}
		k, err := tx.CreateAccessKey(DevUserName)
		if err != nil {
			return err
		}
		d.AccessKeyID, d.SecretAccessKey = k.ID, k.Secret
		r, err := tx.CreateRole(account.Role{Name: DevRoleName, AssumeRolePolicy: fmt.Sprintf(devTrust, acct),
			MaxSessionDuration: account.MaxSessionDuration, Description: "credbroker serve --dev: administrator of the demo account"})
		if err != nil {
			return err
		}
		d.RoleARN = r.ARN
		if err := tx.AttachPolicy(account.RoleRef(DevRoleName), "arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
			return err
		}
		ip, err := tx.CreateInstanceProfile(account.InstanceProfile{Name: DevRoleName})
		if err != nil {
			return err
		}
		d.InstanceProfileARN = ip.ARN
		return tx.AddRoleToInstanceProfile(DevRoleName, DevRoleName)
	})
	if err != nil {
		return DevAccount{}, fmt.Errorf("dev account: %w", err)
	}
	return d, nil
}

// OpenDev returns a new memory store holding the demo account, seeded by SeedDev. The
// caller closes the store (after the Core that serves it).
func OpenDev(ctx context.Context, optFns ...func(*store.Options)) (*store.Store, DevAccount, error) {
	st, err := store.OpenMemory(ctx, DevAccountID, optFns...)
	if err != nil {
		return nil, DevAccount{}, fmt.Errorf("dev account: %w", err)
	}
	d, err := SeedDev(ctx, st)
	if err != nil {
		st.Close()
		return nil, DevAccount{}, err
	}
	return st, d, nil
}
