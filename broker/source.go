package broker

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/broker/rules"
	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/imds"
)

// The broker is the Source of both endpoints.
var _ imds.Source = (*Broker)(nil)

// identifyPeer finds the caller from the connection the peer package put
// into the request's context (peer.Resolver.ConnContext).
func identifyPeer(ctx context.Context, _ imds.Caller) (Caller, error) {
	return peer.FromContext(ctx)
}

// endpoint indexes per-endpoint counters.
type endpoint int

const (
	viaControl endpoint = iota
	viaIMDS
	viaContainer
	numEndpoints
)

var endpointNames = [numEndpoints]string{"control", "imds", "container"}

func endpointOf(e imds.Endpoint) endpoint {
	if e == imds.EndpointContainer {
		return viaContainer
	}
	return viaIMDS
}

// decide runs the rules for c. A caller that cannot be identified, or
// whose rules cannot be evaluated, gets no role.
func (b *Broker) decide(st *state, c Caller) (rules.Decision, error) {
	d, err := st.rules.Match(c)
	if err != nil {
		return rules.Decision{}, fmt.Errorf("%w: uid %d: %v", imds.ErrNoRole, c.UID(), err)
	}
	return d, nil
}

// identify finds the caller of an endpoint request, and refuses a token
// bound to another uid than the caller's.
func (b *Broker) identify(ctx context.Context, ic imds.Caller) (Caller, error) {
	c, err := b.o.Identify(ctx, ic)
	if err != nil {
		return nil, fmt.Errorf("%w: the caller cannot be identified: %v", imds.ErrNoRole, err)
	}
	if ic.UIDBound && c.UID() != ic.BoundUID {
		return nil, fmt.Errorf("%w: uid %d presented a container token issued to uid %d", imds.ErrNoRole, c.UID(), ic.BoundUID)
	}
	return c, nil
}

// Role returns the role the rules give the caller (imds.Source).
func (b *Broker) Role(ctx context.Context, ic imds.Caller) (imds.RoleInfo, error) {
	c, err := b.identify(ctx, ic)
	if err != nil {
		return imds.RoleInfo{}, err
	}
	st := b.state.Load()
	d, err := b.decide(st, c)
	if err != nil {
		return imds.RoleInfo{}, err
	}
	r := st.roles[d.Role]
	if r == nil {
		return imds.RoleInfo{}, fmt.Errorf("%w: uid %d matches no client rule and there is no default_role", imds.ErrNoRole, c.UID())
	}
	return r.info, nil
}

// Credentials returns the caller's credentials of role from the cache
// (imds.Source). The role must be the caller's by the rules, or the one the
// container token it presented is bound to. It never waits for STS longer
// than the cache's miss wait: a session not fetched yet is ErrNotReady.
func (b *Broker) Credentials(ctx context.Context, ic imds.Caller, role string) (imds.Credentials, error) {
	c, err := b.identify(ctx, ic)
	if err != nil {
		return imds.Credentials{}, err
	}
	st := b.state.Load()
	var r *roleState
	if ic.BoundRole != "" && role == ic.BoundRole {
		// The token was issued for this role to a caller allowed it.
		if r = st.roles[role]; r == nil {
			return imds.Credentials{}, fmt.Errorf("%w: the token's role %q is no longer configured", imds.ErrNoRole, role)
		}
	} else if r, err = b.allowed(st, c, role); err != nil {
		return imds.Credentials{}, fmt.Errorf("%w: %v", imds.ErrNoRole, err)
	}
	bd := b.binding(st, r, c)
	r.stats.lookups.Add(1)
	creds, err := bd.sess.Get(ctx)
	if err != nil {
		return imds.Credentials{}, sourceErr(err)
	}
	out := bd.endpointCreds(creds, b.o.Now)
	r.stats.served[endpointOf(ic.Endpoint)].Add(1)
	b.auditor.served(endpointNames[endpointOf(ic.Endpoint)], c, ic.Remote, bd, creds)
	return out, nil
}

// allowed returns role if the caller's rules give it (its own role or one
// of its rule's allow_roles).
func (b *Broker) allowed(st *state, c Caller, role string) (*roleState, error) {
	d, err := b.decide(st, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	if !d.Allows(role) {
		if st.roles[role] == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownRole, role)
		}
		return nil, fmt.Errorf("%w: uid %d may not have role %q", ErrNotAllowed, c.UID(), role)
	}
	r := st.roles[role]
	if r == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownRole, role)
	}
	return r, nil
}

// sourceErr maps the cache's errors onto the endpoints' sentinels.
func sourceErr(err error) error {
	if errors.Is(err, session.ErrNotReady) || errors.Is(err, session.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w: %v", imds.ErrNotReady, err)
	}
	return fmt.Errorf("%w: %v", imds.ErrUpstream, err)
}

// endpointCreds returns creds in the endpoints' form, converting (and
// stamping LastUpdated) only when they changed.
func (bd *binding) endpointCreds(creds aws.Credentials, now func() time.Time) imds.Credentials {
	if p := bd.last.Load(); p != nil && p.AccessKeyID == creds.AccessKeyID && p.SessionToken == creds.SessionToken &&
		p.SecretAccessKey == creds.SecretAccessKey {
		return *p
	}
	ic := &imds.Credentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
		Expiration: creds.Expires, LastUpdated: now().UTC().Truncate(time.Second),
		AccountID: bd.role.accountID, RoleARN: bd.role.cfg.ARN,
	}
	bd.last.Store(ic)
	return *ic
}

// CredentialsFor returns the caller's credentials of role for the control
// socket (credential-process): like Credentials, but it waits (up to ctx)
// for a first fetch instead of answering "not ready".
func (b *Broker) CredentialsFor(ctx context.Context, c Caller, role string) (aws.Credentials, error) {
	st := b.state.Load()
	r, err := b.allowed(st, c, role)
	if err != nil {
		return aws.Credentials{}, err
	}
	bd := b.binding(st, r, c)
	r.stats.lookups.Add(1)
	creds, err := bd.sess.Get(ctx)
	if errors.Is(err, session.ErrNotReady) {
		if err = bd.sess.Warm(ctx); err == nil {
			creds, err = bd.sess.Get(ctx)
		}
	}
	if err != nil {
		return aws.Credentials{}, err
	}
	r.stats.served[viaControl].Add(1)
	b.auditor.served(endpointNames[viaControl], c, netip.AddrPort{}, bd, creds)
	return creds, nil
}

// IssueToken returns a new container endpoint token bound to role and to
// the caller's uid, for a caller its rules allow that role (`credbroker exec
// ROLE`), and starts fetching the role's session. The token is withdrawn
// by RevokeToken, or when the caller's process exits however it ends
// (SIGKILL included): the broker watches it through a pidfd. A caller
// whose process cannot be watched gets no token.
func (b *Broker) IssueToken(ctx context.Context, c Caller, role string) (string, error) {
	st := b.state.Load()
	r, err := b.allowed(st, c, role)
	if err != nil {
		return "", err
	}
	pid, err := c.PID()
	if err != nil {
		return "", fmt.Errorf("a container token is withdrawn when its process exits, and the process of uid %d cannot be found: %w", c.UID(), err)
	}
	tok, err := imds.NewToken(nil)
	if err != nil {
		return "", err
	}
	key := sha256.Sum256([]byte(tok))
	if err := b.execs.reserve(key, c.UID()); err != nil {
		return "", err
	}
	if err := b.o.Tokens.AddBinding(tok, imds.Binding{Role: role, UIDBound: true, UID: c.UID()}); err != nil {
		b.execs.take(key)
		return "", err
	}
	stop, err := b.o.WatchExit(pid, func() {
		if b.execs.take(key) && b.o.Tokens.Remove(tok) {
			b.log.Info("container token withdrawn: its process exited", "role", role, "uid", c.UID(), "pid", pid)
		}
	})
	if err != nil {
		b.execs.take(key)
		b.o.Tokens.Remove(tok)
		return "", err
	}
	if !b.execs.started(key, stop) { // exited already: gone withdrew it
		stop()
		return "", fmt.Errorf("the process %d of uid %d exited before its container token was issued", pid, c.UID())
	}
	bd := b.binding(st, r, c)
	if err := bd.sess.Warm(ctx); err != nil {
		b.RevokeToken(tok)
		return "", err
	}
	b.log.Info("container token issued", "role", role, "uid", c.UID(), "pid", pid)
	return tok, nil
}

// RevokeToken stops accepting a token IssueToken returned (tokens bound to
// a role only: the daemon's own container token stays).
func (b *Broker) RevokeToken(tok string) bool {
	if role, ok := b.o.Tokens.Lookup(tok); !ok || role == "" {
		return false
	}
	b.execs.take(sha256.Sum256([]byte(tok)))
	return b.o.Tokens.Remove(tok)
}

// UserToken returns the container token of the caller's uid (`credbroker
// env`): bound to that uid, to no role (the caller gets the role its rules
// give, as from IMDS), and the same every time for as long as the
// daemon's container token stays. A caller the rules give no role gets an
// error that says so.
func (b *Broker) UserToken(c Caller) (string, error) {
	st := b.state.Load()
	d, err := b.decide(st, c)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	if d.Role == "" || st.roles[d.Role] == nil {
		return "", fmt.Errorf("%w: uid %d matches no client rule and there is no default_role", ErrNotAllowed, c.UID())
	}
	return b.o.Tokens.UserToken(c.UID())
}
