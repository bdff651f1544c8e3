package store

import (
	"fmt"

	"github.com/credbroker/credbroker/sts/account"
)

// CreateGroup creates g (Name required; Path defaults to "/"; ID and Created set unless
// given). Attached policies must exist.
func (tx *Tx) CreateGroup(g account.Group) (account.Group, error) {
	if err := tx.checkWritable(); err != nil {
		return account.Group{}, err
	}
	if g.Path == "" {
		g.Path = "/"
	}
	if err := g.Validate(); err != nil {
		return account.Group{}, err
	}
	if id, err := tx.lookupName(nGroup, g.Name); err != nil || id != "" {
		return account.Group{}, orErr(err, exists("Group with name %s already exists.", g.Name))
	}
	if err := tx.checkAttachable(g.ManagedPolicies, ""); err != nil {
		return account.Group{}, err
	}
	var err error
	if g.ID, err = tx.newID(account.PrefixGroup, g.ID); err != nil {
		return account.Group{}, err
	}
	if dup, err := tx.kv.Get(bGroups, []byte(g.ID)); err != nil || dup != nil {
		return account.Group{}, orErr(err, exists("Group with id %s already exists.", g.ID))
	}
	g.Created = tx.createdAt(g.Created)
	g.InlinePolicies = sortedInline(g.InlinePolicies)
	managed := g.ManagedPolicies
	g.ManagedPolicies = nil
	if err := tx.put(bGroups, []byte(g.ID), g); err != nil {
		return account.Group{}, err
	}
	if err := tx.putRaw(bNames, nameKey(nGroup, g.Name), []byte(g.ID)); err != nil {
		return account.Group{}, err
	}
	if err := tx.attachAll(account.GroupRef(g.Name), managed, ""); err != nil {
		return account.Group{}, err
	}
	return tx.Group(g.Name)
}

// Group returns the group called name (without regard to case).
func (tx *Tx) Group(name string) (account.Group, error) {
	id, err := tx.lookupName(nGroup, name)
	if err != nil {
		return account.Group{}, err
	}
	if id == "" {
		return account.Group{}, notFound("The group with name %s cannot be found.", name)
	}
	return tx.GroupByID(id)
}

// GroupByID returns the group with unique id id.
func (tx *Tx) GroupByID(id string) (account.Group, error) {
	var g account.Group
	ok, err := tx.get(bGroups, []byte(id), &g)
	if err != nil {
		return g, err
	}
	if !ok {
		return g, notFound("The group with id %s cannot be found.", id)
	}
	g.ARN = account.GroupARN(tx.s.accountID, g.Path, g.Name)
	return g, nil
}

// Groups lists groups whose path starts with pathPrefix, by name.
func (tx *Tx) Groups(pathPrefix string, p Page) ([]account.Group, string, error) {
	var out []account.Group
	next, err := tx.listByName(nGroup, p, func(id string) (bool, error) {
		g, err := tx.GroupByID(id)
		if err != nil || !hasPathPrefix(g.Path, pathPrefix) {
			return false, err
		}
		out = append(out, g)
		return true, nil
	})
	return out, next, err
}

// UpdateGroup renames and/or moves a group (IAM's UpdateGroup); "" leaves a field as is.
func (tx *Tx) UpdateGroup(name, newName, newPath string) (account.Group, error) {
	if err := tx.checkWritable(); err != nil {
		return account.Group{}, err
	}
	g, err := tx.Group(name)
	if err != nil {
		return account.Group{}, err
	}
	var v account.Violations
	if newName != "" {
		v.Check(account.RuleGroupName, "newGroupName", newName)
	}
	if newPath != "" {
		v.Check(account.RulePath, "newPath", newPath)
	}
	if err := v.Err(); err != nil {
		return account.Group{}, err
	}
	if newName != "" && newName != g.Name {
		if other, err := tx.lookupName(nGroup, newName); err != nil || (other != "" && other != g.ID) {
			return account.Group{}, orErr(err, exists("Group with name %s already exists.", newName))
		}
		if err := tx.del(bNames, nameKey(nGroup, g.Name)); err != nil {
			return account.Group{}, err
		}
		if err := tx.putRaw(bNames, nameKey(nGroup, newName), []byte(g.ID)); err != nil {
			return account.Group{}, err
		}
		g.Name = newName
	}
	if newPath != "" {
		g.Path = newPath
	}
	if err := tx.put(bGroups, []byte(g.ID), g); err != nil {
		return account.Group{}, err
	}
	return tx.GroupByID(g.ID)
}

// DeleteGroup deletes a group; it must have no members and no policies (DeleteConflict).
func (tx *Tx) DeleteGroup(name string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	g, err := tx.Group(name)
	if err != nil {
		return err
	}
	if n, err := tx.relCount(rGroupMember, g.ID); err != nil || n > 0 {
		return orErr(err, conflict("Cannot delete entity, must remove users from group first."))
	}
	if len(g.InlinePolicies) > 0 {
		return conflict("Cannot delete entity, must delete policies first.")
	}
	if len(g.ManagedPolicies) > 0 {
		return conflict("Cannot delete entity, must detach all policies first.")
	}
	if err := tx.del(bNames, nameKey(nGroup, g.Name)); err != nil {
		return err
	}
	return tx.del(bGroups, []byte(g.ID))
}

// AddUserToGroup makes a user a member of a group (again: not an error).
func (tx *Tx) AddUserToGroup(groupName, userName string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	g, err := tx.Group(groupName)
	if err != nil {
		return err
	}
	u, err := tx.User(userName)
	if err != nil {
		return err
	}
	if u.IsRoot() {
		return account.Errorf(account.InvalidInput, "The root user cannot be a member of a group.")
	}
	if in, err := tx.relHas(rGroupMember, g.ID, u.ID); err != nil || in {
		return err
	}
	if n, err := tx.relCount(rUserGroup, u.ID); err != nil || n >= account.MaxGroupsPerUser {
		return orErr(err, limitExceeded("Cannot exceed quota for GroupsPerUser: %d", account.MaxGroupsPerUser))
	}
	if err := tx.relAdd(rGroupMember, g.ID, u.ID); err != nil {
		return err
	}
	return tx.relAdd(rUserGroup, u.ID, g.ID)
}

// RemoveUserFromGroup ends a membership (NoSuchEntity when there is none).
func (tx *Tx) RemoveUserFromGroup(groupName, userName string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	g, err := tx.Group(groupName)
	if err != nil {
		return err
	}
	u, err := tx.User(userName)
	if err != nil {
		return err
	}
	if in, err := tx.relHas(rGroupMember, g.ID, u.ID); err != nil || !in {
		return orErr(err, notFound("The user with name %s cannot be found in group %s.", u.Name, g.Name))
	}
	if err := tx.relDel(rGroupMember, g.ID, u.ID); err != nil {
		return err
	}
	return tx.relDel(rUserGroup, u.ID, g.ID)
}

// GroupsForUser returns the groups a user is a member of, by name.
func (tx *Tx) GroupsForUser(userName string) ([]account.Group, error) {
	u, err := tx.User(userName)
	if err != nil {
		return nil, err
	}
	ids, err := tx.relList(rUserGroup, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]account.Group, 0, len(ids))
	for _, id := range ids {
		g, err := tx.GroupByID(id)
		if err != nil {
			return nil, fmt.Errorf("group %s of user %s: %w", id, u.ID, err)
		}
		out = append(out, g)
	}
	sortByName(out, func(g account.Group) string { return g.Name })
	return out, nil
}

// GroupMembers returns a group's members (in unique id order), a page at a time.
func (tx *Tx) GroupMembers(groupName string, p Page) ([]account.User, string, error) {
	g, err := tx.Group(groupName)
	if err != nil {
		return nil, "", err
	}
	prefix := relKey(rGroupMember, g.ID, "")
	var out []account.User
	next, err := tx.listIndex(bRel, prefix, p, func(k, _ []byte) (bool, error) {
		u, ok, err := tx.userRecord(string(k[len(prefix):]))
		if err != nil || !ok {
			return false, orErr(err, fmt.Errorf("member %s of group %s has no record", k[len(prefix):], g.ID))
		}
		out = append(out, u)
		return true, nil
	})
	return out, next, err
}
