package iamapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/url"
	"strings"

	"github.com/pquerna/otp"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// TOTP windows, in 30-second steps either side of now: EnableMFADevice takes two
// consecutive codes from the last minute or so; ResyncMFADevice looks further, for a
// device whose clock drifted.
const (
	enableSkew = 2
	resyncSkew = 20
	qrSize     = 256
)

// OTPAuthURI is the otpauth:// URI a virtual MFA device's QR code holds, in the form
// IAM documents: otpauth://totp/NAME@ACCOUNT?secret=BASE32 (ACCOUNT: the account's
// alias when it has one, else its id).
func OTPAuthURI(deviceName, accountName, base32Seed string) string {
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + deviceName + "@" + accountName}
	u.RawQuery = "secret=" + base32Seed
	return u.String()
}

// QRCodePNG renders uri as a QR code in a PNG image.
func QRCodePNG(uri string) ([]byte, error) {
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, err
	}
	img, err := k.Image(qrSize, qrSize)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type virtualMFAXML struct {
	SerialNumber     string           `xml:"SerialNumber"`
	Base32StringSeed string           `xml:"Base32StringSeed,omitempty"` // blob: base64
	QRCodePNG        string           `xml:"QRCodePNG,omitempty"`        // blob: base64
	User             *userXML         `xml:"User,omitempty"`
	EnableDate       *query.Timestamp `xml:"EnableDate,omitempty"`
	Tags             *members[tagXML] `xml:"Tags,omitempty"`
}

// createVirtualMFADevice makes a device with a random seed and returns the seed
// (Base32StringSeed) and its QR code (QRCodePNG), once: IAM never shows them again.
func (a *API) createVirtualMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	d := account.VirtualMFADevice{Name: c.Params.String("VirtualMFADeviceName"), Path: pathParam(c.Params), Tags: readTags(c.Params, "Tags")}
	arn := account.MFADeviceARN(c.AccountID(), d.Path, d.Name)
	if err := authorizeCreate(c, "iam:CreateVirtualMFADevice", "iam:TagMFADevice", arn, d.Tags); err != nil {
		return nil, err
	}
	accountName := c.AccountID()
	err := update(ctx, c, func(tx *store.Tx) error {
		acct, err := tx.Account()
		if err != nil {
			return err
		}
		if len(acct.Aliases) > 0 {
			accountName = acct.Aliases[0]
		}
		d, err = tx.CreateVirtualMFADevice(d)
		return err
	})
	if err != nil {
		return nil, err
	}
	seed := d.Base32Seed()
	qr, err := QRCodePNG(OTPAuthURI(d.Name, accountName, seed))
	if err != nil {
		return nil, fmt.Errorf("drawing the QR code of %s: %w", d.Serial, err)
	}
	return one("VirtualMFADevice", virtualMFAXML{
		SerialNumber:     d.Serial,
		Base32StringSeed: base64.StdEncoding.EncodeToString([]byte(seed)),
		QRCodePNG:        base64.StdEncoding.EncodeToString(qr),
		Tags:             optList(tagsXML(d.Tags)),
	}), nil
}

func errAuthCode() error {
	return query.NewError("InvalidAuthenticationCode", "Authentication code for device is not valid.")
}

// consecutiveCodes finds the time step s (within skew steps of now) at which code1 is
// the device's code and code2 the next one's.
func consecutiveCodes(seed []byte, code1, code2 string, now uint64, skew int) (uint64, bool) {
	return sts.MatchConsecutiveTOTP(seed, code1, code2, now, skew)
}

// checkCodes verifies two consecutive codes of the device serial and records the
// second so that neither is accepted again. assigned says whose the device must be:
// "" for an unassigned one (EnableMFADevice), else that user's id.
func checkCodes(tx *store.Tx, c *sts.Call, serial, assigned string, skew int) error {
	d, err := tx.VirtualMFADevice(serial)
	if err != nil {
		return err
	}
	if d.UserID != assigned {
		if assigned == "" {
			return account.Errorf(account.EntityAlreadyExists, "MFA Device is already in use.")
		}
		return account.Errorf(account.NoSuchEntity, "MFA Device with serial number %s not found for this user.", serial)
	}
	p := c.Params
	s, found := consecutiveCodes(d.Seed, p.String("AuthenticationCode1"), p.String("AuthenticationCode2"), sts.TOTPStep(c.Now), skew)
	if !found {
		return errAuthCode()
	}
	fresh, err := tx.AcceptMFAStep(d.Serial, s+1)
	if err != nil {
		return err
	}
	if !fresh {
		return errAuthCode()
	}
	return nil
}

func (a *API) enableMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	serial := c.Params.String("SerialNumber")
	// A refused code must stay refused: the step is recorded only with the enablement.
	return changeLoaded(ctx, c, loadUserOrSelf, "iam:EnableMFADevice", func(tx *store.Tx, u account.User) error {
		if err := checkCodes(tx, c, serial, "", enableSkew); err != nil {
			return err
		}
		return tx.EnableMFADevice(u.Name, serial)
	})
}

func (a *API) resyncMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	serial := c.Params.String("SerialNumber")
	return changeLoaded(ctx, c, loadUserOrSelf, "iam:ResyncMFADevice",
		func(tx *store.Tx, u account.User) error { return checkCodes(tx, c, serial, u.ID, resyncSkew) })
}

func (a *API) deactivateMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	serial := c.Params.String("SerialNumber")
	return changeLoaded(ctx, c, loadUserOrSelf, "iam:DeactivateMFADevice",
		func(tx *store.Tx, u account.User) error { return tx.DeactivateMFADevice(u.Name, serial) })
}

type mfaDeviceXML struct {
	UserName     string          `xml:"UserName,omitempty"`
	SerialNumber string          `xml:"SerialNumber"`
	EnableDate   query.Timestamp `xml:"EnableDate"`
}

// mfaDeviceOf renders the device d of the user u.
func mfaDeviceOf(u account.User, d account.VirtualMFADevice) mfaDeviceXML {
	x := mfaDeviceXML{UserName: u.Name, SerialNumber: d.Serial, EnableDate: ts(d.Enabled)}
	if u.IsRoot() {
		x.UserName = ""
	}
	return x
}

func (a *API) listMFADevices(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:ListMFADevices")
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, "MFADevices", func(tx *store.Tx) ([]account.VirtualMFADevice, error) { return tx.MFADevices(u.Name) },
		func(d account.VirtualMFADevice) mfaDeviceXML { return mfaDeviceOf(u, d) })
}

func (a *API) listVirtualMFADevices(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:ListVirtualMFADevices", "*"); err != nil {
		return nil, err
	}
	status := c.Params.String("AssignmentStatus")
	var out []virtualMFAXML
	var next string
	err := view(ctx, c, func(tx *store.Tx) error {
		ds, n, err := tx.VirtualMFADevices(status, pageOf(c.Params))
		if err != nil {
			return err
		}
		next = n
		for _, d := range ds {
			x := virtualMFAXML{SerialNumber: d.Serial, Tags: optList(tagsXML(d.Tags))}
			if d.UserID != "" {
				u, err := tx.UserByID(d.UserID)
				if err != nil {
					return err
				}
				ux := listedUser(u)
				x.User, x.EnableDate = &ux, optTS(d.Enabled)
			}
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return listOf("VirtualMFADevices", out, pageResult(next)), nil
}

func (a *API) deleteVirtualMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadMFA, "iam:DeleteVirtualMFADevice",
		func(tx *store.Tx, d account.VirtualMFADevice) error { return tx.DeleteVirtualMFADevice(d.Serial) })
}

// getMFADevice answers the device SerialNumber assigned to UserName (default: the
// caller), authorized on the user as ListMFADevices is.
func (a *API) getMFADevice(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:GetMFADevice")
	if err != nil {
		return nil, err
	}
	serial := c.Params.String("SerialNumber")
	ds, err := viewed(ctx, c, func(tx *store.Tx) ([]account.VirtualMFADevice, error) { return tx.MFADevices(u.Name) })
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if strings.EqualFold(d.Serial, serial) {
			out := mfaDeviceOf(u, d)
			return &out, nil
		}
	}
	return nil, account.Errorf(account.NoSuchEntity, "MFA Device with serial number %s does not exist for user %s.", serial, u.Name)
}
