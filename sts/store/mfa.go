package store

import (
	"io"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// mfaRecord is a virtual MFA device as stored: its seed sealed.
type mfaRecord struct {
	account.VirtualMFADevice
	SealedSeed []byte `json:"seed"`
}

const (
	purposeMFASeed = "mfa-seed"
	mfaSeedSize    = 20 // 160 bits, as RFC 4226 recommends
)

// mfaKey is a device's key: serials are unique without regard to case.
func mfaKey(serial string) []byte { return []byte(strings.ToLower(serial)) }

// CreateVirtualMFADevice creates a virtual MFA device from d.Name, d.Path (default "/")
// and d.Tags, with a new random seed unless d.Seed is given (an import). The result
// carries the seed, for CreateVirtualMFADevice's Base32StringSeed and QR code.
func (tx *Tx) CreateVirtualMFADevice(d account.VirtualMFADevice) (account.VirtualMFADevice, error) {
	if err := tx.checkWritable(); err != nil {
		return account.VirtualMFADevice{}, err
	}
	if d.Path == "" {
		d.Path = "/"
	}
	d.Serial = account.MFADeviceARN(tx.s.accountID, d.Path, d.Name)
	if err := d.Validate(); err != nil {
		return account.VirtualMFADevice{}, err
	}
	if dup, err := tx.kv.Get(bMFA, mfaKey(d.Serial)); err != nil || dup != nil {
		return account.VirtualMFADevice{}, orErr(err, exists("MFADevice entity at the same path and name already exists."))
	}
	if d.Seed == nil {
		d.Seed = make([]byte, mfaSeedSize)
		if _, err := io.ReadFull(tx.s.o.Rand, d.Seed); err != nil {
			return account.VirtualMFADevice{}, err
		}
	}
	d.Created = tx.createdAt(d.Created)
	d.UserID, d.UserName, d.Enabled, d.LastStep = "", "", d.Enabled.UTC(), 0
	sealed, err := tx.s.sealer.seal(purposeMFASeed, strings.ToLower(d.Serial), d.Seed)
	if err != nil {
		return account.VirtualMFADevice{}, err
	}
	return d, tx.put(bMFA, mfaKey(d.Serial), mfaRecord{VirtualMFADevice: d, SealedSeed: sealed})
}

func (tx *Tx) mfaRecord(serial string) (mfaRecord, error) {
	var rec mfaRecord
	ok, err := tx.get(bMFA, mfaKey(serial), &rec)
	if err != nil || !ok {
		return rec, orErr(err, notFound("VirtualMFADevice with serial number %s doesn't exist.", serial))
	}
	if rec.UserID != "" {
		u, err := tx.UserByID(rec.UserID)
		if err != nil {
			return rec, err
		}
		rec.UserName = u.Name
	}
	return rec, nil
}

// saveMFA writes a device's record.
func (tx *Tx) saveMFA(rec mfaRecord) error { return tx.put(bMFA, mfaKey(rec.Serial), rec) }

// VirtualMFADevice returns the device serial with its seed (for TOTP checks).
func (tx *Tx) VirtualMFADevice(serial string) (account.VirtualMFADevice, error) {
	rec, err := tx.mfaRecord(serial)
	if err != nil {
		return account.VirtualMFADevice{}, err
	}
	seed, err := tx.s.sealer.open(purposeMFASeed, strings.ToLower(rec.Serial), rec.SealedSeed)
	if err != nil {
		return account.VirtualMFADevice{}, err
	}
	d := rec.VirtualMFADevice
	d.Seed = seed
	return d, nil
}

// MFA assignment filters for VirtualMFADevices (IAM's AssignmentStatus).
const (
	MFAAssigned   = "Assigned"
	MFAUnassigned = "Unassigned"
	MFAAny        = "Any"
)

// VirtualMFADevices lists devices (without seeds) by serial; status is MFAAssigned,
// MFAUnassigned or MFAAny ("" is MFAAny).
func (tx *Tx) VirtualMFADevices(status string, p Page) ([]account.VirtualMFADevice, string, error) {
	var out []account.VirtualMFADevice
	next, err := tx.listIndex(bMFA, nil, p, func(k, _ []byte) (bool, error) {
		rec, err := tx.mfaRecord(string(k))
		if err != nil {
			return false, err
		}
		if (status == MFAAssigned && rec.UserID == "") || (status == MFAUnassigned && rec.UserID != "") {
			return false, nil
		}
		out = append(out, rec.VirtualMFADevice)
		return true, nil
	})
	return out, next, err
}

// EnableMFADevice assigns the device serial to a user (or root) from now; the caller has
// checked two consecutive codes. A user has at most eight devices.
func (tx *Tx) EnableMFADevice(userName, serial string) error {
	u, rec, err := changeBoth(tx, tx.User, userName, tx.mfaRecord, serial)
	if err != nil {
		return err
	}
	if rec.UserID != "" {
		return exists("MFA Device is already in use.")
	}
	if n, err := tx.relCount(rUserMFA, u.ID); err != nil || n >= account.MaxMFADevicesPerUser {
		return orErr(err, limitExceeded("Cannot exceed quota for MFADevicesPerUser: %d", account.MaxMFADevicesPerUser))
	}
	rec.UserID, rec.Enabled = u.ID, tx.s.now()
	if err := tx.relAdd(rUserMFA, u.ID, strings.ToLower(rec.Serial)); err != nil {
		return err
	}
	return tx.saveMFA(rec)
}

// DeactivateMFADevice unassigns the device serial from a user; the device remains.
func (tx *Tx) DeactivateMFADevice(userName, serial string) error {
	u, rec, err := changeBoth(tx, tx.User, userName, tx.mfaRecord, serial)
	if err != nil {
		return err
	}
	if rec.UserID != u.ID {
		return notFound("MFA Device with serial number %s not found for user %s.", serial, u.Name)
	}
	if err := tx.relDel(rUserMFA, u.ID, strings.ToLower(rec.Serial)); err != nil {
		return err
	}
	rec.UserID, rec.UserName, rec.Enabled, rec.LastStep = "", "", time.Time{}, 0
	return tx.saveMFA(rec)
}

// DeleteVirtualMFADevice deletes an unassigned device.
func (tx *Tx) DeleteVirtualMFADevice(serial string) error {
	rec, err := change(tx, tx.mfaRecord, serial)
	if err != nil {
		return err
	}
	if rec.UserID != "" {
		return conflict("MFA Device is still in use.")
	}
	return tx.del(bMFA, mfaKey(rec.Serial))
}

// MFADevices returns the devices assigned to a user (without seeds).
func (tx *Tx) MFADevices(userName string) ([]account.VirtualMFADevice, error) {
	u, err := tx.User(userName)
	if err != nil {
		return nil, err
	}
	return related(tx, rUserMFA, u.ID, func(serial string) (account.VirtualMFADevice, error) {
		rec, err := tx.mfaRecord(serial)
		return rec.VirtualMFADevice, err
	})
}

// AcceptMFAStep records that a code of TOTP time step step was accepted for the device,
// and reports false when step is not after the last accepted one: a code is good once.
// It does not move the generation.
func (tx *Tx) AcceptMFAStep(serial string, step uint64) (bool, error) {
	rec, err := change(tx, tx.mfaRecord, serial)
	if err != nil {
		return false, err
	}
	if step <= rec.LastStep {
		return false, nil
	}
	rec.LastStep = step
	return true, tx.putQuiet(bMFA, mfaKey(rec.Serial), rec)
}
