package broker

import (
	"time"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/session"
)

// Status is what `credbroker status` shows (its --output json form).
type Status struct {
	Config   string       `json:"config,omitempty"`
	Upstream string       `json:"upstream"`
	Started  time.Time    `json:"started"`
	Roles    []RoleStatus `json:"roles"`
}

// RoleStatus is one configured role and its sessions.
type RoleStatus struct {
	Role   string `json:"role"`
	ARN    string `json:"arn"`
	Source string `json:"source"`
	// PerCaller: the role has one session per caller, fetched at its
	// first call (its session name or tags name the caller).
	PerCaller bool            `json:"per_caller"`
	MFASerial string          `json:"mfa_serial,omitempty"`
	Sessions  []SessionStatus `json:"sessions"`
}

// SessionStatus is one session of a role.
type SessionStatus struct {
	// Caller is the user of a per-caller session ("" when shared).
	Caller      string     `json:"caller,omitempty"`
	State       string     `json:"state"`
	AccessKeyID string     `json:"access_key_id,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	LastRefresh *time.Time `json:"last_refresh,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	Refreshing  bool       `json:"refreshing,omitempty"`
	// BelowFloor: served with less than 15 minutes left, because the
	// upstream has not renewed it.
	BelowFloor bool `json:"below_floor"`
	// NeedsHuman: waiting for a person (run `credbroker mfa ROLE`, unlock
	// the keyring, or `credbroker login SOURCE` for a SAML sign-in that is
	// missing or ends within 30 minutes).
	NeedsHuman    bool       `json:"needs_human"`
	Failures      int        `json:"failures,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	LastErrorCode string     `json:"last_error_code,omitempty"`
	LastErrorAt   *time.Time `json:"last_error_at,omitempty"`
}

// sessionNeedsHuman reports whether a session waits for a person: its last
// fetch failed for want of one, or its role is of a saml source whose
// sign-in is missing or nearly over.
func (b *Broker) sessionNeedsHuman(st session.Status) bool {
	if r := b.state.Load().roles[st.Role]; r != nil && r.src != nil && r.src.Kind == config.SourceSAML {
		return b.samlNeedsHuman(st.Role)
	}
	return st.LastError != nil && st.Failures > 0 && st.State != session.StateReady &&
		(st.LastError.Code == CodeMFARequired || st.LastError.Code == CodeKeyringLocked)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Second)
	return &t
}

// Status returns every configured role with its sessions.
func (b *Broker) Status() Status {
	st := b.state.Load()
	out := Status{Config: st.cfg.Filename, Upstream: st.up.Name, Started: b.started.UTC().Truncate(time.Second), Roles: []RoleStatus{}}
	byRole := map[string][]session.Status{}
	for _, s := range b.cache.Status() {
		byRole[s.Role] = append(byRole[s.Role], s)
	}
	for _, name := range st.names {
		r := st.roles[name]
		rs := RoleStatus{Role: name, ARN: r.cfg.ARN, Source: describeSource(r.src), PerCaller: r.perCaller,
			MFASerial: r.cfg.MFASerial, Sessions: []SessionStatus{}}
		for _, s := range byRole[name] {
			ss := SessionStatus{
				Caller: callerOf(s.Binding), State: string(s.State), AccessKeyID: s.AccessKeyID,
				Expires: timePtr(s.Expires), LastRefresh: timePtr(s.LastRefresh), NextAttempt: timePtr(s.NextAttempt),
				Refreshing: s.Refreshing, BelowFloor: s.BelowFloor, NeedsHuman: b.sessionNeedsHuman(s), Failures: s.Failures,
			}
			// Only a failure that is still the last word: after a good
			// refresh (say, once `credbroker mfa` made the MFA session) an
			// old error would send the reader after a fault that is gone.
			if s.LastError != nil && s.Failures > 0 {
				ss.LastError, ss.LastErrorCode, ss.LastErrorAt = s.LastError.Message, s.LastError.Code, timePtr(s.LastErrorAt)
			}
			rs.Sessions = append(rs.Sessions, ss)
		}
		out.Roles = append(out.Roles, rs)
	}
	return out
}
