package store

import (
	"fmt"
	"slices"

	"github.com/credbroker/credbroker/sts/account"
)

// profileRecord is an instance profile as stored: its roles by unique id.
type profileRecord struct {
	account.InstanceProfile
	RoleIDs []string `json:"role_ids,omitempty"`
}

// CreateInstanceProfile creates p without roles (Name required; Path defaults to "/"; ID
// and Created set unless given); add its role with AddRoleToInstanceProfile.
func (tx *Tx) CreateInstanceProfile(p account.InstanceProfile) (account.InstanceProfile, error) {
	if err := tx.checkWritable(); err != nil {
		return account.InstanceProfile{}, err
	}
	if p.Path == "" {
		p.Path = "/"
	}
	if err := p.Validate(); err != nil {
		return account.InstanceProfile{}, err
	}
	if id, err := tx.lookupName(nProfile, p.Name); err != nil || id != "" {
		return account.InstanceProfile{}, orErr(err, exists("Instance Profile %s already exists.", p.Name))
	}
	var err error
	if p.ID, err = tx.newID(account.PrefixInstanceProfile, p.ID); err != nil {
		return account.InstanceProfile{}, err
	}
	if dup, err := tx.kv.Get(bProfiles, []byte(p.ID)); err != nil || dup != nil {
		return account.InstanceProfile{}, orErr(err, exists("Instance Profile with id %s already exists.", p.ID))
	}
	p.Created = tx.createdAt(p.Created)
	p.Roles = nil
	if err := tx.put(bProfiles, []byte(p.ID), profileRecord{InstanceProfile: p}); err != nil {
		return account.InstanceProfile{}, err
	}
	if err := tx.putRaw(bNames, nameKey(nProfile, p.Name), []byte(p.ID)); err != nil {
		return account.InstanceProfile{}, err
	}
	return tx.InstanceProfile(p.Name)
}

func (tx *Tx) profileRecord(name string) (*profileRecord, error) {
	id, err := tx.lookupName(nProfile, name)
	if err != nil || id == "" {
		return nil, orErr(err, notFound("Instance Profile %s cannot be found.", name))
	}
	return tx.profileRecordByID(id)
}

func (tx *Tx) profileRecordByID(id string) (*profileRecord, error) {
	var rec profileRecord
	ok, err := tx.get(bProfiles, []byte(id), &rec)
	if err != nil || !ok {
		return nil, orErr(err, notFound("Instance Profile with id %s cannot be found.", id))
	}
	rec.ARN = account.InstanceProfileARN(tx.s.accountID, rec.Path, rec.Name)
	return &rec, nil
}

func (tx *Tx) resolveProfile(rec *profileRecord) (account.InstanceProfile, error) {
	p := rec.InstanceProfile
	p.Roles = nil
	for _, id := range rec.RoleIDs {
		r, err := tx.RoleByID(id)
		if err != nil {
			return p, fmt.Errorf("role %s of instance profile %s: %w", id, p.ID, err)
		}
		p.Roles = append(p.Roles, r)
	}
	return p, nil
}

// InstanceProfile returns the instance profile called name, with its role.
func (tx *Tx) InstanceProfile(name string) (account.InstanceProfile, error) {
	rec, err := tx.profileRecord(name)
	if err != nil {
		return account.InstanceProfile{}, err
	}
	return tx.resolveProfile(rec)
}

// InstanceProfiles lists instance profiles whose path starts with pathPrefix, by name.
func (tx *Tx) InstanceProfiles(pathPrefix string, p Page) ([]account.InstanceProfile, string, error) {
	var out []account.InstanceProfile
	next, err := tx.listByName(nProfile, p, func(id string) (bool, error) {
		rec, err := tx.profileRecordByID(id)
		if err != nil || !hasPathPrefix(rec.Path, pathPrefix) {
			return false, err
		}
		ip, err := tx.resolveProfile(rec)
		if err != nil {
			return false, err
		}
		out = append(out, ip)
		return true, nil
	})
	return out, next, err
}

// DeleteInstanceProfile deletes an instance profile that holds no role.
func (tx *Tx) DeleteInstanceProfile(name string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	rec, err := tx.profileRecord(name)
	if err != nil {
		return err
	}
	if len(rec.RoleIDs) > 0 {
		return conflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	if err := tx.del(bNames, nameKey(nProfile, rec.Name)); err != nil {
		return err
	}
	return tx.del(bProfiles, []byte(rec.ID))
}

// AddRoleToInstanceProfile puts a role in an instance profile (which holds at most one).
func (tx *Tx) AddRoleToInstanceProfile(profileName, roleName string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	rec, err := tx.profileRecord(profileName)
	if err != nil {
		return err
	}
	r, err := tx.Role(roleName)
	if err != nil {
		return err
	}
	if len(rec.RoleIDs) >= account.MaxRolesPerProfile {
		return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d", account.MaxRolesPerProfile)
	}
	rec.RoleIDs = append(rec.RoleIDs, r.ID)
	if err := tx.relAdd(rRoleProfile, r.ID, rec.ID); err != nil {
		return err
	}
	return tx.put(bProfiles, []byte(rec.ID), rec)
}

// RemoveRoleFromInstanceProfile takes a role out of an instance profile.
func (tx *Tx) RemoveRoleFromInstanceProfile(profileName, roleName string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	rec, err := tx.profileRecord(profileName)
	if err != nil {
		return err
	}
	r, err := tx.Role(roleName)
	if err != nil {
		return err
	}
	i := slices.Index(rec.RoleIDs, r.ID)
	if i < 0 {
		return notFound("Role %s in Instance Profile %s cannot be found.", r.Name, rec.Name)
	}
	rec.RoleIDs = slices.Delete(rec.RoleIDs, i, i+1)
	if err := tx.relDel(rRoleProfile, r.ID, rec.ID); err != nil {
		return err
	}
	return tx.put(bProfiles, []byte(rec.ID), rec)
}

// InstanceProfilesForRole returns the instance profiles that hold a role, by name.
func (tx *Tx) InstanceProfilesForRole(roleName string) ([]account.InstanceProfile, error) {
	r, err := tx.Role(roleName)
	if err != nil {
		return nil, err
	}
	ids, err := tx.relList(rRoleProfile, r.ID)
	if err != nil {
		return nil, err
	}
	out := make([]account.InstanceProfile, 0, len(ids))
	for _, id := range ids {
		rec, err := tx.profileRecordByID(id)
		if err != nil {
			return nil, err
		}
		ip, err := tx.resolveProfile(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, ip)
	}
	sortByName(out, func(p account.InstanceProfile) string { return p.Name })
	return out, nil
}
