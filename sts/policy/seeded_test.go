package policy

import (
	"math/rand/v2"
	"testing"
)

// The differential test must be able to fail: seed the engine with the
// NotPrincipal bugs issue 13 describes and check that the comparison with the
// reference evaluator catches each within the cases TestDifferential runs.

// mutated returns a copy of set whose compiled statements are changed by bug.
func mutated(set *Set, bug func(*cstatement)) *Set {
	mut := func(p *Policy) *Policy {
		if p == nil {
			return nil
		}
		q := *p
		q.compiled = append([]cstatement(nil), p.compiled...)
		for i := range q.compiled {
			bug(&q.compiled[i])
		}
		return &q
	}
	out := &Set{Boundary: mut(set.Boundary)}
	for _, p := range set.Identity {
		out.Identity = append(out.Identity, mut(p))
	}
	for _, p := range set.Session {
		out.Session = append(out.Session, mut(p))
	}
	for _, p := range set.Resource {
		out.Resource = append(out.Resource, mut(p))
	}
	for _, l := range set.SCP {
		var ml []*Policy
		for _, p := range l {
			ml = append(ml, mut(p))
		}
		out.SCP = append(out.SCP, ml)
	}
	return out
}

func TestDifferentialCatchesSeededNotPrincipalBugs(t *testing.T) {
	bugs := map[string]func(*cstatement){
		// NotPrincipal read as Principal: Allow NotPrincipal X allows X,
		// Deny NotPrincipal X denies X.
		"NotPrincipal read as Principal": func(cs *cstatement) { cs.notPrincipal = false },
		// NotPrincipal ignored: the statement names no principal.
		"NotPrincipal ignored": func(cs *cstatement) {
			if cs.notPrincipal {
				cs.principal, cs.notPrincipal = nil, false
			}
		},
		// Allow with NotPrincipal granting (AWS's older text: everyone
		// but the listed), here to everyone.
		"Allow with NotPrincipal grants": func(cs *cstatement) {
			if cs.notPrincipal && cs.effect == Allow {
				cs.principal, cs.notPrincipal = &cprincipals{anyone: true}, false
			}
		},
	}
	for name, bug := range bugs {
		t.Run(name, func(t *testing.T) {
			for i := 0; i < 4000; i++ {
				g := &gen{src: rand.New(rand.NewPCG(7, uint64(i)))}
				set := g.set(t)
				bad := mutated(set, bug)
				for k := 0; k < 5; k++ {
					r := g.request()
					if bad.Decide(r, nil).Result != refDecide(set, r).result {
						t.Logf("caught after %d policy sets", i+1)
						return
					}
				}
			}
			t.Fatal("the differential comparison did not catch the seeded bug")
		})
	}
}
