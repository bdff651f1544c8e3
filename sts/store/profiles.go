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
	rec := profileRecord{InstanceProfile: p}
	if err := profiles.claim(tx, &rec, nil); err != nil {
		return account.InstanceProfile{}, err
	}
	rec.Created = tx.createdAt(rec.Created)
	rec.Roles = nil
	if err := profiles.insert(tx, rec); err != nil {
		return account.InstanceProfile{}, err
	}
	return tx.InstanceProfile(rec.Name)
}

// resolveProfile is the instance profile rec with its roles.
func (tx *Tx) resolveProfile(rec profileRecord) (account.InstanceProfile, error) {
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
	rec, err := profiles.byName(tx, name)
	if err != nil {
		return account.InstanceProfile{}, err
	}
	return tx.resolveProfile(rec)
}

// InstanceProfiles lists instance profiles whose path starts with pathPrefix, by name.
func (tx *Tx) InstanceProfiles(pathPrefix string, p Page) ([]account.InstanceProfile, string, error) {
	return listNamed(tx, profiles, pathPrefix, p, func(rec profileRecord) (account.InstanceProfile, bool, error) {
		ip, err := tx.resolveProfile(rec)
		return ip, err == nil, err
	})
}

// DeleteInstanceProfile deletes an instance profile that holds no role.
func (tx *Tx) DeleteInstanceProfile(name string) error {
	rec, err := change(tx, profiles.named(tx), name)
	if err != nil {
		return err
	}
	if len(rec.RoleIDs) > 0 {
		return conflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	return profiles.remove(tx, rec)
}

// AddRoleToInstanceProfile puts a role in an instance profile (which holds at most one).
func (tx *Tx) AddRoleToInstanceProfile(profileName, roleName string) error {
	rec, r, err := changeBoth(tx, profiles.named(tx), profileName, tx.Role, roleName)
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
	return profiles.save(tx, rec)
}

// RemoveRoleFromInstanceProfile takes a role out of an instance profile.
func (tx *Tx) RemoveRoleFromInstanceProfile(profileName, roleName string) error {
	rec, r, err := changeBoth(tx, profiles.named(tx), profileName, tx.Role, roleName)
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
	return profiles.save(tx, rec)
}

// InstanceProfilesForRole returns the instance profiles that hold a role, by name.
func (tx *Tx) InstanceProfilesForRole(roleName string) ([]account.InstanceProfile, error) {
	r, err := tx.Role(roleName)
	if err != nil {
		return nil, err
	}
	out, err := related(tx, rRoleProfile, r.ID, func(id string) (account.InstanceProfile, error) {
		rec, err := profiles.byID(tx, id)
		if err != nil {
			return account.InstanceProfile{}, err
		}
		return tx.resolveProfile(rec)
	})
	sortByName(out, func(p account.InstanceProfile) string { return p.Name })
	return out, err
}
