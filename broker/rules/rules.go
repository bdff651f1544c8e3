// Package rules decides which role a caller gets: the client rules of the
// configuration, compiled once (user and group names resolved to ids),
// evaluated first match wins, with an optional default role.
//
// A caller no rule matches gets the default role, or no role at all: never
// someone else's. A rule that cannot be evaluated (the caller's process
// vanished, or /proc is not readable) stops the evaluation with an error
// rather than fall through to a later, possibly broader, rule.
package rules

import (
	"errors"
	"fmt"
	"os/user"
	"path"
	"slices"
	"strconv"

	"github.com/hashicorp/hcl/v2"

	"github.com/credbroker/credbroker/broker/config"
)

// Caller is what the rules need to know about a caller; *peer.Caller
// satisfies it. The process-based methods are only called when a rule
// needs them.
type Caller interface {
	UID() uint32
	// GIDs are the process's effective gid and supplementary groups.
	GIDs() ([]uint32, error)
	Unit() (string, error)
	Exe() (string, error)
}

// Options configure Compile.
type Options struct {
	// LookupUser and LookupGroup resolve names to ids (default: the
	// passwd and group databases through os/user).
	LookupUser  func(name string) (uint32, error)
	LookupGroup func(name string) (uint32, error)
}

// Set is a compiled list of rules. It is immutable and safe for concurrent
// use.
type Set struct {
	rules       []rule
	defaultRole string
	needsProc   bool
}

type rule struct {
	name  string
	uids  []uint32 // uids ∪ users; nil = any
	gids  []uint32 // gids ∪ groups; nil = any
	units []string
	exes  []string
	role  string
	allow []string
}

// Decision is the outcome of Match.
type Decision struct {
	// Role is the caller's role; "" means none.
	Role string
	// Rule is the name of the rule that matched; "" when the default role
	// applied or nothing matched.
	Rule string
	// allow are further roles the caller may ask for by name.
	allow []string
}

// Allows reports whether the caller may have role: its own, or one of the
// matching rule's allow_roles.
func (d Decision) Allows(role string) bool {
	return role != "" && (role == d.Role || slices.Contains(d.allow, role))
}

// Compile builds a Set from the configuration's client rules and default
// role. Names of users and groups are resolved now; an unknown one is an
// error that names the file, line and fix.
func Compile(clients []config.Client, defaultRole string, optFns ...func(*Options)) (*Set, error) {
	o := Options{LookupUser: lookupUser, LookupGroup: lookupGroup}
	for _, fn := range optFns {
		fn(&o)
	}
	s := &Set{defaultRole: defaultRole}
	var diags hcl.Diagnostics
	for _, c := range clients {
		r := rule{name: c.Name, role: c.Role, allow: c.AllowRoles, units: c.Units, exes: c.Exes}
		var d hcl.Diagnostics
		r.uids, d = resolveIDs(c, "user", c.UIDs, c.Users, o.LookupUser)
		diags = append(diags, d...)
		r.gids, d = resolveIDs(c, "group", c.GIDs, c.Groups, o.LookupGroup)
		diags = append(diags, d...)
		s.needsProc = s.needsProc || r.gids != nil || r.units != nil || r.exes != nil
		s.rules = append(s.rules, r)
	}
	if len(diags) > 0 {
		return nil, &config.Error{Diags: diags}
	}
	return s, nil
}

// resolveIDs is a client's ids of one kind (what: "user" or "group"): ids and those of
// names, looked up on this host; nil (any) when the client gives neither. An unknown
// name is a diagnostic at the names' attribute ("users", "groups").
func resolveIDs(c config.Client, what string, ids []uint32, names []string, lookup func(string) (uint32, error)) ([]uint32, hcl.Diagnostics) {
	out := append([]uint32(nil), ids...) // nil when ids is empty, even non-nil
	var diags hcl.Diagnostics
	for _, name := range names {
		id, err := lookup(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown " + what,
				Detail:  fmt.Sprintf("client %q: %s %q is not known on this host (%v); create it, fix the name, or use %sids.", c.Name, what, name, err, what[:1]),
				Subject: c.Pos.Of(what + "s")})
			continue
		}
		out = append(out, id)
	}
	return out, diags
}

// NeedsProcess reports whether some rule looks at the caller's process
// (groups, unit, executable), which costs a /proc scan per connection.
func (s *Set) NeedsProcess() bool { return s.needsProc }

// Match finds the caller's role: the first rule whose every criterion
// matches, else the default role, else none. An error means a rule could
// not be evaluated; the caller then gets no role.
func (s *Set) Match(c Caller) (Decision, error) {
	uid := c.UID()
	for i := range s.rules {
		r := &s.rules[i]
		ok, err := r.matches(c, uid)
		if err != nil {
			return Decision{}, fmt.Errorf("client rule %q: %w", r.name, err)
		}
		if ok {
			return Decision{Role: r.role, Rule: r.name, allow: r.allow}, nil
		}
	}
	return Decision{Role: s.defaultRole}, nil
}

// matches evaluates the cheap criterion (uid) first, so that a rule for
// another user never needs the caller's process.
func (r *rule) matches(c Caller, uid uint32) (bool, error) {
	if r.uids != nil && !slices.Contains(r.uids, uid) {
		return false, nil
	}
	if r.gids != nil {
		gids, err := c.GIDs()
		if err != nil {
			return false, err
		}
		found := false
		for _, g := range gids {
			if slices.Contains(r.gids, g) {
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	if r.units != nil {
		unit, err := c.Unit()
		if err != nil {
			return false, err
		}
		if unit == "" || !anyMatch(r.units, unit) {
			return false, nil
		}
	}
	if r.exes != nil {
		exe, err := c.Exe()
		if err != nil {
			return false, err
		}
		if !anyMatch(r.exes, exe) {
			return false, nil
		}
	}
	return true, nil
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func lookupUser(name string) (uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	return parseID(u.Uid)
}

func lookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return parseID(g.Gid)
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("not a numeric id: " + s)
	}
	return uint32(n), nil
}
