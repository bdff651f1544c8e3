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
	if err := groups.claim(tx, &g, func() error { return tx.checkAttachable(g.ManagedPolicies, "") }); err != nil {
		return account.Group{}, err
	}
	g.Created = tx.createdAt(g.Created)
	g.InlinePolicies = sortedInline(g.InlinePolicies)
	if err := insertAttached(tx, groups, &g, account.GroupRef(g.Name), &g.ManagedPolicies, nil); err != nil {
		return account.Group{}, err
	}
	return tx.Group(g.Name)
}

// Group returns the group called name (without regard to case).
func (tx *Tx) Group(name string) (account.Group, error) { return groups.byName(tx, name) }

// GroupByID returns the group with unique id id.
func (tx *Tx) GroupByID(id string) (account.Group, error) { return groups.byID(tx, id) }

// Groups lists groups whose path starts with pathPrefix, by name.
func (tx *Tx) Groups(pathPrefix string, p Page) ([]account.Group, string, error) {
	return listNamed(tx, groups, pathPrefix, p, listed)
}

// UpdateGroup renames and/or moves a group (IAM's UpdateGroup); "" leaves a field as is.
func (tx *Tx) UpdateGroup(name, newName, newPath string) (account.Group, error) {
	g, err := change(tx, tx.Group, name)
	if err != nil {
		return account.Group{}, err
	}
	if err := groups.move(tx, &g, newName, newPath, account.RuleGroupName, "newGroupName"); err != nil {
		return account.Group{}, err
	}
	return tx.GroupByID(g.ID)
}

// DeleteGroup deletes a group; it must have no members and no policies (DeleteConflict).
func (tx *Tx) DeleteGroup(name string) error {
	g, err := change(tx, tx.Group, name)
	if err != nil {
		return err
	}
	if n, err := tx.relCount(rGroupMember, g.ID); err != nil || n > 0 {
		return orErr(err, conflict("Cannot delete entity, must remove users from group first."))
	}
	if err := tx.dropPolicies(nGroup, g.ID, g.InlinePolicies, g.ManagedPolicies, ""); err != nil {
		return err
	}
	return groups.remove(tx, g)
}

// AddUserToGroup makes a user a member of a group (again: not an error).
func (tx *Tx) AddUserToGroup(groupName, userName string) error {
	g, u, err := changeBoth(tx, tx.Group, groupName, tx.User, userName)
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
	g, u, err := changeBoth(tx, tx.Group, groupName, tx.User, userName)
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
	out, err := related(tx, rUserGroup, u.ID, func(id string) (account.Group, error) {
		g, err := tx.GroupByID(id)
		if err != nil {
			return g, fmt.Errorf("group %s of user %s: %w", id, u.ID, err)
		}
		return g, nil
	})
	sortByName(out, func(g account.Group) string { return g.Name })
	return out, err
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
		u, ok, err := users.record(tx, string(k[len(prefix):]))
		if err != nil || !ok {
			return false, orErr(err, fmt.Errorf("member %s of group %s has no record", k[len(prefix):], g.ID))
		}
		out = append(out, u)
		return true, nil
	})
	return out, next, err
}
