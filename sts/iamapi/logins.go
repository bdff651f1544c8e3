package iamapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

type loginProfileXML struct {
	UserName              string          `xml:"UserName,omitempty"`
	CreateDate            query.Timestamp `xml:"CreateDate"`
	PasswordResetRequired bool            `xml:"PasswordResetRequired"`
}

func loginOf(lp account.LoginProfile) *element {
	x := loginProfileXML{UserName: lp.UserName, CreateDate: ts(lp.Created), PasswordResetRequired: lp.PasswordResetRequired}
	if x.UserName == account.RootUserName {
		x.UserName = ""
	}
	return one("LoginProfile", x)
}

// passwordPolicy reads the account's password policy (nil: AWS's default rules).
func passwordPolicy(ctx context.Context, c *sts.Call) (*account.PasswordPolicy, error) {
	return viewed(ctx, c, passwordPolicyIn)
}

// passwordPolicyIn is passwordPolicy in the transaction tx.
func passwordPolicyIn(tx *store.Tx) (*account.PasswordPolicy, error) {
	acct, err := tx.Account()
	return acct.PasswordPolicy, err
}

// hashPassword checks password against the account's policy and hashes it (slowly:
// outside any transaction).
func (a *API) hashPassword(ctx context.Context, c *sts.Call, password string) (string, *account.PasswordPolicy, error) {
	pp, err := passwordPolicy(ctx, c)
	if err != nil {
		return "", nil, err
	}
	if err := account.CheckPassword(pp, password); err != nil {
		return "", nil, err
	}
	h, err := a.o.Argon2id.Hash(password, c.Rand())
	if err != nil {
		return "", nil, fmt.Errorf("hashing a password: %w", err)
	}
	return h, pp, nil
}

// keep is how many previous passwords a login profile remembers.
func keep(pp *account.PasswordPolicy) int {
	if pp == nil {
		return 0
	}
	return pp.PasswordReusePrevention
}

func (a *API) createLoginProfile(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:CreateLoginProfile")
	if err != nil {
		return nil, err
	}
	hash, _, err := a.hashPassword(ctx, c, c.Params.String("Password"))
	if err != nil {
		return nil, err
	}
	reset, _ := c.Params.Bool("PasswordResetRequired")
	lp, err := updated(ctx, c, func(tx *store.Tx) (account.LoginProfile, error) {
		return tx.CreateLoginProfile(account.LoginProfile{UserName: u.Name, PasswordHash: hash, PasswordResetRequired: reset})
	})
	if err != nil {
		return nil, err
	}
	lp.UserName = u.Name
	return loginOf(lp), nil
}

func (a *API) getLoginProfile(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:GetLoginProfile")
	if err != nil {
		return nil, err
	}
	lp, err := viewed(ctx, c, func(tx *store.Tx) (account.LoginProfile, error) { return tx.LoginProfile(u.Name) })
	if err != nil {
		return nil, err
	}
	return loginOf(lp), nil
}

// updateLoginProfile is an administrator's change: a new password (checked against
// the policy, not against the user's history) and/or PasswordResetRequired.
func (a *API) updateLoginProfile(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:UpdateLoginProfile")
	if err != nil {
		return nil, err
	}
	var hash string
	var pp *account.PasswordPolicy
	if pw, given := c.Params.Lookup("Password"); given {
		if hash, pp, err = a.hashPassword(ctx, c, pw); err != nil {
			return nil, err
		}
	}
	reset, setReset := c.Params.Bool("PasswordResetRequired")
	now := c.Now
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateLoginProfile(u.Name, func(lp *account.LoginProfile) error {
			if hash != "" {
				lp.SetPassword(hash, now, keep(pp))
			}
			if setReset {
				lp.PasswordResetRequired = reset
			}
			return nil
		})
		return err
	}))
}

func (a *API) deleteLoginProfile(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadUserOrSelf, "iam:DeleteLoginProfile", func(tx *store.Tx, u account.User) error { return tx.DeleteLoginProfile(u.Name) })
}

// changePassword is an IAM user changing its own password: allowed by its policies, or
// by the password policy's AllowUsersToChangePassword (unless explicitly denied). The
// old password must match; the new one must satisfy the policy and not be one of the
// last PasswordReusePrevention; with HardExpiry an expired password cannot be changed
// by its user.
func (a *API) changePassword(ctx context.Context, c *sts.Call) (any, error) {
	if c.Caller == nil || !c.Caller.IsUser() {
		return nil, query.NewError("InvalidUserType", "Only IAM users can change their password with ChangePassword.")
	}
	name := c.Caller.Principal.Username
	var u account.User
	var pp *account.PasswordPolicy
	lp, err := viewed(ctx, c, func(tx *store.Tx) (account.LoginProfile, error) {
		var err error
		if u, err = tx.User(name); err != nil {
			return account.LoginProfile{}, err
		}
		if pp, err = passwordPolicyIn(tx); err != nil {
			return account.LoginProfile{}, err
		}
		return tx.LoginProfile(u.Name)
	})
	if err != nil && !errors.Is(err, account.ErrNoSuchEntity) {
		return nil, err
	}
	d, derr := c.Decide("iam:ChangePassword", u.ARN, tagOpts(u.Tags)...)
	if derr != nil {
		return nil, derr
	}
	if d.Result != policy.Allowed && (pp == nil || !pp.AllowUsersToChangePassword || d.Result == policy.ExplicitlyDenied) {
		return nil, c.Authorize("iam:ChangePassword", u.ARN, tagOpts(u.Tags)...)
	}
	if err != nil {
		return nil, err
	}
	okOld, err := account.VerifyPassword(lp.PasswordHash, c.Params.String("OldPassword"))
	if err != nil {
		return nil, fmt.Errorf("verifying the password of %s: %w", u.Name, err)
	}
	if !okOld {
		return nil, query.NewError(query.CodeAccessDenied, "The old password you provided is not valid.")
	}
	if pp != nil && pp.HardExpiry && pp.MaxPasswordAge > 0 &&
		c.Now.After(lp.PasswordChanged.Add(time.Duration(pp.MaxPasswordAge)*24*time.Hour)) {
		return nil, query.NewError("EntityTemporarilyUnmodifiable",
			"The password has expired and the password policy sets HardExpiry: an administrator must reset it (UpdateLoginProfile).")
	}
	newPW := c.Params.String("NewPassword")
	if n := keep(pp); n > 0 {
		reused, err := account.PasswordReused(append([]string{lp.PasswordHash}, lp.History...)[:min(n, len(lp.History)+1)], newPW)
		if err != nil {
			return nil, fmt.Errorf("checking the password history of %s: %w", u.Name, err)
		}
		if reused {
			return nil, account.Errorf(account.PasswordPolicyViolation, "Password should not be one of your %d previous passwords.", n)
		}
	}
	hash, pp, err := a.hashPassword(ctx, c, newPW)
	if err != nil {
		return nil, err
	}
	now := c.Now
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateLoginProfile(u.Name, func(lp *account.LoginProfile) error {
			lp.SetPassword(hash, now, keep(pp))
			lp.PasswordResetRequired = false
			return nil
		})
		return err
	}))
}

type passwordPolicyXML struct {
	MinimumPasswordLength      int  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool `xml:"RequireSymbols"`
	RequireNumbers             bool `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool `xml:"ExpirePasswords"`
	MaxPasswordAge             int  `xml:"MaxPasswordAge,omitempty"`
	PasswordReusePrevention    int  `xml:"PasswordReusePrevention,omitempty"`
	HardExpiry                 bool `xml:"HardExpiry,omitempty"`
}

// updateAccountPasswordPolicy replaces the policy: members not given take IAM's
// defaults (minimum length 6, everything else off), as UpdateAccountPasswordPolicy does.
func (a *API) updateAccountPasswordPolicy(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:UpdateAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	p := c.Params
	pp := account.PasswordPolicy{MinimumPasswordLength: 6}
	if n, ok := p.Int("MinimumPasswordLength"); ok {
		pp.MinimumPasswordLength = int(n)
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"RequireSymbols", &pp.RequireSymbols}, {"RequireNumbers", &pp.RequireNumbers},
		{"RequireUppercaseCharacters", &pp.RequireUppercaseCharacters}, {"RequireLowercaseCharacters", &pp.RequireLowercaseCharacters},
		{"AllowUsersToChangePassword", &pp.AllowUsersToChangePassword}, {"HardExpiry", &pp.HardExpiry}} {
		*b.dst, _ = p.Bool(b.name)
	}
	if n, ok := p.Int("MaxPasswordAge"); ok {
		pp.MaxPasswordAge = int(n)
	}
	if n, ok := p.Int("PasswordReusePrevention"); ok {
		pp.PasswordReusePrevention = int(n)
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetPasswordPolicy(&pp) }))
}

func (a *API) getAccountPasswordPolicy(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:GetAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	pp, err := passwordPolicy(ctx, c)
	if err != nil {
		return nil, err
	}
	if pp == nil {
		return nil, account.Errorf(account.NoSuchEntity, "The Password Policy with domain name %s cannot be found.", c.AccountID())
	}
	return one("PasswordPolicy", passwordPolicyXML{
		MinimumPasswordLength: pp.MinimumPasswordLength, RequireSymbols: pp.RequireSymbols, RequireNumbers: pp.RequireNumbers,
		RequireUppercaseCharacters: pp.RequireUppercaseCharacters, RequireLowercaseCharacters: pp.RequireLowercaseCharacters,
		AllowUsersToChangePassword: pp.AllowUsersToChangePassword, ExpirePasswords: pp.ExpirePasswords(),
		MaxPasswordAge: pp.MaxPasswordAge, PasswordReusePrevention: pp.PasswordReusePrevention, HardExpiry: pp.HardExpiry,
	}), nil
}

func (a *API) deleteAccountPasswordPolicy(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:DeleteAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.SetPasswordPolicy(nil) }))
}
