package console

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/internal/awserr"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
)

// rootPathName names the root user in console paths ("~" is not allowed in an IAM
// user name, so no user can shadow it).
const rootPathName = "~root"

// pageSize is how many entities a list page shows.
const pageSize = 100

// marker is where a list page starts: its "marker" query parameter, nil on the
// first page.
func marker(r *http.Request) *string {
	if m := r.URL.Query().Get("marker"); m != "" {
		return aws.String(m)
	}
	return nil
}

type listView struct {
	Items      any
	NextMarker string
	Groups     []types.Group
}

// usersPage lists the users, a page at a time (ListUsers with Marker).
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	out, err := cl.ListUsers(ctx, &iam.ListUsersInput{MaxItems: aws.Int32(pageSize), Marker: marker(r)})
	if err != nil {
		c.render(w, r, s, "users", "Users", nil, err)
		return
	}
	v := listView{Items: out.Users, NextMarker: aws.ToString(out.Marker)}
	if g, err := cl.ListGroups(ctx, &iam.ListGroupsInput{MaxItems: aws.Int32(pageSize)}); err == nil {
		v.Groups = g.Groups
	}
	c.render(w, r, s, "users", "Users", v, nil)
}

// secretView shows a new access key's secret, once.
type secretView struct {
	UserName        string
	AccessKeyID     string
	SecretAccessKey string
}

// createUser is CreateUser, then (as asked) CreateLoginProfile, AddUserToGroup and
// CreateAccessKey: each an IAM call of the signed-in principal.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, err := cl.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		c.render(w, r, s, "users", "Users", nil, err)
		return
	}
	if pw := r.PostFormValue("password"); pw != "" {
		if _, err := cl.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String(name),
			Password: aws.String(pw), PasswordResetRequired: r.PostFormValue("reset") == "on"}); err != nil {
			c.renderUser(w, r, s, name, nil, err)
			return
		}
	}
	for _, g := range r.PostForm["group"] {
		if _, err := cl.AddUserToGroup(ctx, &iam.AddUserToGroupInput{UserName: aws.String(name), GroupName: aws.String(g)}); err != nil {
			c.renderUser(w, r, s, name, nil, err)
			return
		}
	}
	if r.PostFormValue("accesskey") == "on" {
		k, err := cl.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
		if err != nil {
			c.renderUser(w, r, s, name, nil, err)
			return
		}
		c.renderUser(w, r, s, name, &secretView{UserName: name, AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId),
			SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}, nil)
		return
	}
	back(w, r, Prefix+"/users/"+url.PathEscape(name))
}

type userView struct {
	Name, PathName string
	Root           bool
	User           *types.User
	Groups         []types.Group
	AllGroups      []types.Group
	Attached       []types.AttachedPolicy
	Keys           []keyRow
	MFA            []types.MFADevice
	Console        bool
	ResetRequired  bool
	NewKey         *secretView
	Enroll         *enrollView
	Msg            string
}

func (v userView) notice() string { return v.Msg }

type keyRow struct {
	types.AccessKeyMetadata
	LastUsed *types.AccessKeyLastUsed
}

type enrollView struct {
	Serial, Seed, QR string
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderUser(w, r, s, r.PathValue("name"), nil, nil)
}

// apiName is the user name IAM calls take: the root user's for ~root.
func apiName(pathName string) (string, bool) {
	if pathName == rootPathName {
		return account.RootUserName, true
	}
	return pathName, false
}

// renderUser shows a user: its groups, policies, keys (with last use), MFA devices
// and console password. A failed read shows IAM's error in the page.
func (c *Console) renderUser(w http.ResponseWriter, r *http.Request, s *session, pathName string, key *secretView, shown error) {
	c.renderUserView(w, r, s, pathName, userView{NewKey: key}, shown)
}

func (c *Console) renderUserView(w http.ResponseWriter, r *http.Request, s *session, pathName string, v userView, shown error) {
	ctx, cl := callCtx(r), c.client(s)
	name, root := apiName(pathName)
	v.Name, v.PathName, v.Root = name, pathName, root
	if root {
		v.Name = "root user"
	}
	err := func() error {
		var n *string
		if !root {
			n = aws.String(name)
			u, err := cl.GetUser(ctx, &iam.GetUserInput{UserName: n})
			if err != nil {
				return err
			}
			v.User = u.User
			g, err := cl.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: n})
			if err != nil {
				return err
			}
			v.Groups = g.Groups
			if all, err := cl.ListGroups(ctx, &iam.ListGroupsInput{MaxItems: aws.Int32(pageSize)}); err == nil {
				v.AllGroups = all.Groups
			}
			a, err := cl.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: n})
			if err != nil {
				return err
			}
			v.Attached = a.AttachedPolicies
			lp, err := cl.GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: n})
			switch {
			case err == nil:
				v.Console, v.ResetRequired = true, lp.LoginProfile.PasswordResetRequired
			case awserr.Code(err) != "NoSuchEntity":
				return err
			}
		}
		keys, err := cl.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: n})
		if err != nil {
			return err
		}
		for _, k := range keys.AccessKeyMetadata {
			row := keyRow{AccessKeyMetadata: k}
			if lu, err := cl.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId}); err == nil {
				row.LastUsed = lu.AccessKeyLastUsed
			}
			v.Keys = append(v.Keys, row)
		}
		mfa, err := cl.ListMFADevices(ctx, &iam.ListMFADevicesInput{UserName: n})
		if err != nil {
			return err
		}
		v.MFA = mfa.MFADevices
		return nil
	}()
	c.render(w, r, s, "user", v.Name, v, cmp.Or(shown, err))
}

// userOp runs one change of a user's page.
func (c *Console) userOp(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cl := callCtx(r), c.client(s)
	pathName := r.PathValue("name")
	name, root := apiName(pathName)
	n := aws.String(name)
	if root {
		n = nil
	}
	f := func(k string) *string { return aws.String(r.PostFormValue(k)) }
	var err error
	switch r.PathValue("op") {
	case "keys":
		var k *iam.CreateAccessKeyOutput
		if k, err = cl.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: n}); err == nil {
			c.renderUser(w, r, s, pathName, &secretView{UserName: name, AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId),
				SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}, nil)
			return
		}
	case "key-rotate":
		// A new key, shown once, and the old one deactivated (not deleted: it can be
		// activated again until the applications have moved).
		var k *iam.CreateAccessKeyOutput
		if k, err = cl.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: n}); err == nil {
			if _, err = cl.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: n, AccessKeyId: f("id"), Status: types.StatusTypeInactive}); err == nil {
				c.renderUser(w, r, s, pathName, &secretView{UserName: name, AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId),
					SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}, nil)
				return
			}
		}
	case "key-status":
		_, err = cl.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: n, AccessKeyId: f("id"), Status: types.StatusType(r.PostFormValue("status"))})
	case "key-delete":
		_, err = cl.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: n, AccessKeyId: f("id")})
	case "mfa-start":
		var e *enrollView
		if e, err = c.startEnroll(r, cl, name, root); err == nil {
			c.renderUserView(w, r, s, pathName, userView{Enroll: e}, nil)
			return
		}
	case "mfa-enable":
		if root {
			// No IAM action enables the root user's MFA: AWS's console does it on
			// its own, and so does this one (the core checks the session is root's).
			cr := sts.SessionCredentials{AccessKeyID: s.creds.AccessKeyID, SecretAccessKey: s.creds.SecretAccessKey, SessionToken: s.creds.SessionToken}
			err = c.core.EnableRootMFA(ctx, cr, r.PostFormValue("serial"), r.PostFormValue("code1"), r.PostFormValue("code2"), clientIP(r))
			break
		}
		_, err = cl.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String(name), SerialNumber: f("serial"),
			AuthenticationCode1: f("code1"), AuthenticationCode2: f("code2")})
	case "mfa-deactivate":
		_, err = cl.DeactivateMFADevice(ctx, &iam.DeactivateMFADeviceInput{UserName: aws.String(name), SerialNumber: f("serial")})
	case "group-add", "group-remove":
		err = changeMembership(ctx, cl, n, f("group"), r.PathValue("op") == "group-add")
	case "policy-attach":
		_, err = cl.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: n, PolicyArn: f("arn")})
	case "policy-detach":
		_, err = cl.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: n, PolicyArn: f("arn")})
	case "password":
		in := &iam.UpdateLoginProfileInput{UserName: n, Password: f("password"), PasswordResetRequired: aws.Bool(r.PostFormValue("reset") == "on")}
		if _, err = cl.UpdateLoginProfile(ctx, in); awserr.Code(err) == "NoSuchEntity" {
			_, err = cl.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: n, Password: in.Password, PasswordResetRequired: *in.PasswordResetRequired})
		}
	case "password-delete":
		_, err = cl.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{UserName: n})
	case "delete":
		if root {
			err = userError("The root user cannot be deleted.")
		} else if err = confirmed(r, "user", name); err == nil {
			err = deletePrincipal(ctx, cl, "user", name)
		}
	default:
		err = errNoOp
	}
	opDone(w, r, err, Prefix+"/users", Prefix+"/users/"+url.PathEscape(pathName), func(err error) { c.renderUser(w, r, s, pathName, nil, err) })
}

// startEnroll creates a virtual MFA device for the user (replacing an unassigned one
// of the same name left by an abandoned enrollment) and returns its QR code.
func (c *Console) startEnroll(r *http.Request, cl *iam.Client, name string, root bool) (*enrollView, error) {
	ctx := callCtx(r)
	dev := name
	if root {
		dev = "root-account-mfa-device"
	}
	in := &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: aws.String(dev)}
	out, err := cl.CreateVirtualMFADevice(ctx, in)
	if awserr.Code(err) == "EntityAlreadyExists" {
		serial := "arn:aws:iam::" + c.core.AccountID() + ":mfa/" + dev
		if _, derr := cl.DeleteVirtualMFADevice(ctx, &iam.DeleteVirtualMFADeviceInput{SerialNumber: aws.String(serial)}); derr != nil {
			return nil, err
		}
		out, err = cl.CreateVirtualMFADevice(ctx, in)
	}
	if err != nil {
		return nil, err
	}
	d := out.VirtualMFADevice
	return &enrollView{Serial: aws.ToString(d.SerialNumber), Seed: string(d.Base32StringSeed),
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(d.QRCodePNG)}, nil
}
