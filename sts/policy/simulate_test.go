package policy_test

import (
	"testing"

	"github.com/credbroker/credbroker/sts/policy"
)

func mustParse(t *testing.T, doc string, kind policy.Kind) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSimulate(t *testing.T) {
	allowS3 := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, policy.KindIdentity)
	denyPut := mustParse(t, `{"Version":"2012-10-17","Statement":[
  {"Sid":"NoPut","Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}`, policy.KindIdentity)
	boundary := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`, policy.KindBoundary)
	user := policy.Principal{Type: policy.PrincipalUser, ARN: "arn:aws:iam::123456789012:user/alice", Account: "123456789012", Username: "alice"}
	cases := map[string]struct {
		set      policy.Set
		action   string
		decision string
		sids     []string
		bound    *bool
	}{
		"allowed":              {policy.Set{Identity: []*policy.Policy{allowS3}}, "s3:GetObject", "allowed", []string{"Read"}, nil},
		"explicit deny":        {policy.Set{Identity: []*policy.Policy{allowS3, denyPut}}, "s3:PutObject", "explicitDeny", []string{"NoPut"}, nil},
		"implicit deny":        {policy.Set{Identity: []*policy.Policy{allowS3}}, "ec2:RunInstances", "implicitDeny", nil, nil},
		"boundary allows":      {policy.Set{Identity: []*policy.Policy{allowS3}, Boundary: boundary}, "s3:GetObject", "allowed", nil, ptr(true)},
		"outside the boundary": {policy.Set{Identity: []*policy.Policy{allowS3}, Boundary: boundary}, "s3:ListBucket", "implicitDeny", nil, ptr(false)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			req := policy.Request{Principal: user, Action: c.action, Resource: policy.Resource{ARN: "arn:aws:s3:::b/k", Account: "123456789012"}}
			for _, buf := range [][]policy.Match{nil, make([]policy.Match, 0, 1), make([]policy.Match, 0, 16)} {
				sim := policy.Simulate(&c.set, &req, buf)
				if sim.Action != c.action || sim.Resource != "arn:aws:s3:::b/k" || sim.Decision.Result.EvalDecision() != c.decision {
					t.Fatalf("%+v, want %s", sim, c.decision)
				}
				if len(sim.Matched) != len(sim.Decision.Statements) {
					t.Fatalf("%d matched statements, %d deciding", len(sim.Matched), len(sim.Decision.Statements))
				}
				for i, m := range sim.Matched {
					if m.Match.Policy != sim.Decision.Statements[i].Policy || m.Start.Line == 0 || m.End.Line < m.Start.Line {
						t.Errorf("matched %d: %+v", i, m)
					}
				}
				if c.sids != nil {
					var sids []string
					for _, m := range sim.Matched {
						sids = append(sids, m.Sid)
					}
					if len(sids) != len(c.sids) || sids[0] != c.sids[0] {
						t.Errorf("sids %v, want %v", sids, c.sids)
					}
				}
				if (sim.AllowedByBoundary == nil) != (c.bound == nil) || (c.bound != nil && *sim.AllowedByBoundary != *c.bound) {
					t.Errorf("AllowedByBoundary = %v, want %v", sim.AllowedByBoundary, c.bound)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
