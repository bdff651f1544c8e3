package policy

// Simulated is one decision of IAM's policy simulator (the EvaluationResult of
// SimulatePrincipalPolicy and SimulateCustomPolicy): the set's decision, the
// statements that made it, and whether the permissions boundary alone allows
// the request. `credbroker policy simulate` and the IAM API both render it.
type Simulated struct {
	// Action and Resource are the request's (EvalActionName, EvalResourceName).
	Action, Resource string
	// Decision is the set's; Decision.Result.EvalDecision() is EvalDecision.
	Decision Decision
	// Matched are the deciding statements, in Decision.Statements' order.
	Matched []MatchedStatement
	// AllowedByBoundary is nil when the set has no permissions boundary, else
	// whether the boundary on its own allows the request
	// (PermissionsBoundaryDecisionDetail).
	AllowedByBoundary *bool
}

// MatchedStatement is a deciding statement with what the simulator reports of
// it.
type MatchedStatement struct {
	Match
	Sid        string
	Effect     Effect
	Start, End Position
}

// Simulate decides r against s as IAM's policy simulator does. buf is Decide's
// buffer (it may be nil).
func Simulate(s *Set, r *Request, buf []Match) Simulated {
	d := s.Decide(r, buf)
	out := Simulated{Action: r.Action, Resource: r.Resource.ARN, Decision: d, Matched: make([]MatchedStatement, 0, len(d.Statements))}
	for _, m := range d.Statements {
		st := m.Policy.statements[m.Statement]
		out.Matched = append(out.Matched, MatchedStatement{Match: m, Sid: st.Sid, Effect: st.Effect, Start: st.Start, End: st.End})
	}
	if s.Boundary != nil {
		alone := Set{Identity: []*Policy{s.Boundary}}
		rest := d.Statements[len(d.Statements):] // what is left of buf: d keeps its statements
		allowed := alone.Decide(r, rest).Result == Allowed
		out.AllowedByBoundary = &allowed
	}
	return out
}
