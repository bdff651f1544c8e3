package rules

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/peer"
)

var _ Caller = (*peer.Caller)(nil)

// caller is a fake Caller; proc counts process lookups.
type caller struct {
	uid   uint32
	gids  []uint32
	unit  string
	exe   string
	err   error
	procs *int
}

func (c caller) UID() uint32 { return c.uid }
func (c caller) GIDs() ([]uint32, error) {
	c.count()
	return c.gids, c.err
}
func (c caller) Unit() (string, error) {
	c.count()
	return c.unit, c.err
}
func (c caller) Exe() (string, error) {
	c.count()
	return c.exe, c.err
}
func (c caller) count() {
	if c.procs != nil {
		*c.procs++
	}
}

var names = map[string]uint32{"alice": 1000, "bob": 1001, "ops": 500, "ci": 600}

func lookup(name string) (uint32, error) {
	if id, ok := names[name]; ok {
		return id, nil
	}
	return 0, errors.New("unknown")
}

const roles = `
source "keyring" "k" {}
role "admin"    {
  arn = "arn:aws:iam::123456789012:role/admin"
  source = "k"
}
role "dev"      {
  arn = "arn:aws:iam::123456789012:role/dev"
  source = "k"
}
role "ci"       {
  arn = "arn:aws:iam::123456789012:role/ci"
  source = "k"
}
role "readonly" {
  arn = "arn:aws:iam::123456789012:role/readonly"
  source = "k"
}
`

func compile(t *testing.T, src string) *Set {
	t.Helper()
	cfg, err := config.Parse([]byte(roles+src), "rules.hcl", func(o *config.LoadOptions) {
		o.Getenv = func(string) string { return "" }
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg.Clients, cfg.DefaultRole, func(o *Options) { o.LookupUser, o.LookupGroup = lookup, lookup })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const ruleSet = `
client "terraform-ops" {
  users  = ["alice", "bob"]
  groups = ["ops"]
  exes   = ["/usr/bin/terraform", "/opt/tf/*/terraform"]
  role   = "admin"
}
client "ci" {
  units = ["ci-*.service"]
  role  = "ci"
}
client "alice" {
  uids        = [1000]
  role        = "dev"
  allow_roles = ["readonly"]
}
`

func TestMatch(t *testing.T) {
	withDefault := compile(t, ruleSet+`default_role = "readonly"`)
	noDefault := compile(t, ruleSet)
	for name, tc := range map[string]struct {
		set      *Set
		c        caller
		role     string
		rule     string
		errPart  string
		maxProcs int
	}{
		"alice, terraform, in ops": {withDefault, caller{uid: 1000, gids: []uint32{1000, 500}, exe: "/usr/bin/terraform"}, "admin", "terraform-ops", "", 3},
		"bob, versioned terraform": {withDefault, caller{uid: 1001, gids: []uint32{500}, exe: "/opt/tf/1.9/terraform"}, "admin", "terraform-ops", "", 3},
		"alice, not in ops":        {withDefault, caller{uid: 1000, gids: []uint32{1000}, exe: "/usr/bin/terraform"}, "dev", "alice", "", 3},
		"alice, other exe":         {withDefault, caller{uid: 1000, gids: []uint32{500}, exe: "/usr/bin/python3"}, "dev", "alice", "", 3},
		"ci unit":                  {withDefault, caller{uid: 600, unit: "ci-runner.service"}, "ci", "ci", "", 1},
		"unit not matching":        {withDefault, caller{uid: 600, unit: "web.service"}, "readonly", "", "", 1},
		"no unit":                  {withDefault, caller{uid: 600}, "readonly", "", "", 1},
		"stranger gets default":    {withDefault, caller{uid: 4242}, "readonly", "", "", 1},
		"stranger gets nothing":    {noDefault, caller{uid: 4242}, "", "", "", 1},
		// A process that cannot be read stops evaluation: no fall-through
		// to the broader rule "alice".
		"alice, process unknown": {withDefault, caller{uid: 1000, err: peer.ErrNoProcess}, "", "", `client rule "terraform-ops"`, 1},
		// Another user's rule never needs the process (uid first).
		"bob elsewhere": {noDefault, caller{uid: 1001, gids: []uint32{1}, unit: "x.service"}, "", "", "", 2},
	} {
		t.Run(name, func(t *testing.T) {
			procs := 0
			tc.c.procs = &procs
			d, err := tc.set.Match(tc.c)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) || d.Role != "" {
					t.Fatalf("decision %+v err %v, want error with %q and no role", d, err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Role != tc.role || d.Rule != tc.rule {
				t.Errorf("role %q by rule %q, want %q by %q", d.Role, d.Rule, tc.role, tc.rule)
			}
			if procs > tc.maxProcs {
				t.Errorf("%d process lookups, want at most %d", procs, tc.maxProcs)
			}
		})
	}
}

func TestAllows(t *testing.T) {
	s := compile(t, ruleSet)
	d, err := s.Match(caller{uid: 1000, gids: []uint32{1000}})
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]bool{"dev": true, "readonly": true, "admin": false, "ci": false, "": false} {
		if d.Allows(role) != want {
			t.Errorf("Allows(%q) = %v", role, !want)
		}
	}
	none, _ := s.Match(caller{uid: 9})
	if none.Allows("dev") || none.Allows("") {
		t.Error("a caller without a role is allowed one")
	}
}

func TestNeedsProcess(t *testing.T) {
	if compile(t, `client "a" {
  users = ["alice"]
  role = "dev"
}`).NeedsProcess() {
		t.Error("uid-only rules need no process")
	}
	if !compile(t, ruleSet).NeedsProcess() {
		t.Error("exe rules need the process")
	}
}

func TestUnknownNames(t *testing.T) {
	cfg, err := config.Parse([]byte(roles+`client "x" {
  users = ["mallory"]
  role = "dev"
}
client "y" {
  groups = ["wheel2"]
  role = "dev"
}`), "rules.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(cfg.Clients, "", func(o *Options) { o.LookupUser, o.LookupGroup = lookup, lookup })
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Diags) != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`rules.hcl:20:11: Unknown user: client "x": user "mallory"`, `rules.hcl:24:12: Unknown group`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestRealUserDatabase(t *testing.T) {
	// root exists everywhere this runs; os/user reads /etc/passwd.
	cfg, err := config.Parse([]byte(roles+`client "root" {
  users = ["root"]
  groups = ["root"]
  role = "admin"
}`), "rules.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg.Clients, "")
	if err != nil {
		t.Skipf("no root user here: %v", err)
	}
	d, err := s.Match(caller{uid: 0, gids: []uint32{0}})
	if err != nil || d.Role != "admin" {
		t.Errorf("root: %+v %v", d, err)
	}
}

func ExampleSet_Match() {
	cfg, err := config.Parse([]byte(`
source "keyring" "k" {}
role "dev" {
  arn    = "arn:aws:iam::123456789012:role/dev"
  source = "k"
}
client "devs" {
  uids = [1000]
  role = "dev"
}
`), "example.hcl", func(o *config.LoadOptions) { o.Getenv = func(string) string { return "" } })
	if err != nil {
		fmt.Println(err)
		return
	}
	set, err := Compile(cfg.Clients, cfg.DefaultRole)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, uid := range []uint32{1000, 1001} {
		d, _ := set.Match(peer.NewCaller(uid, 0))
		fmt.Printf("uid %d: role %q\n", uid, d.Role)
	}
	// Output:
	// uid 1000: role "dev"
	// uid 1001: role ""
}
