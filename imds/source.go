package imds

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Endpoint names the face a request arrived on.
type Endpoint uint8

const (
	// EndpointIMDS is the EC2 instance metadata service (IMDSv1/v2).
	EndpointIMDS Endpoint = iota + 1
	// EndpointContainer is the container credentials endpoint (ECS, EKS Pod
	// Identity, Lambda style).
	EndpointContainer
)

// String returns "imds" or "container".
func (e Endpoint) String() string {
	switch e {
	case EndpointIMDS:
		return "imds"
	case EndpointContainer:
		return "container"
	}
	return "unknown"
}

// Caller describes who asked, as far as HTTP can tell. The broker uses it to
// identify the peer process (for example by the socket's addresses); the
// request's context, which the Source also receives, carries whatever the
// broker attached to the connection with http.Server.ConnContext.
type Caller struct {
	// Remote is the peer's address and port; Local is the address the
	// connection arrived on (the listener's address, or the original
	// destination after a local redirect).
	Remote, Local netip.AddrPort
	// Endpoint is the face the request arrived on.
	Endpoint Endpoint
	// BoundRole is the role the container token was bound to (TokenSet.Add),
	// or "" when the token is not bound or on the IMDS endpoint.
	BoundRole string
	// UIDBound says the container token was issued to the user BoundUID
	// only (TokenSet.AddBinding, TokenSet.UserToken): the Source must refuse
	// it, with an error wrapping ErrNoRole, to a caller of any other uid or
	// one it cannot identify.
	UIDBound bool
	BoundUID uint32
}

// RoleInfo is the role a caller gets, as IMDS presents it.
type RoleInfo struct {
	// Name is the name listed under iam/security-credentials/.
	Name string
	// InstanceProfileARN and InstanceProfileID are served by iam/info.
	InstanceProfileARN string
	InstanceProfileID  string
}

// Credentials are one set of temporary credentials for a role.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expiration is when the credentials stop working; it must be set.
	Expiration time.Time
	// LastUpdated is when the credentials were obtained; zero means now.
	LastUpdated time.Time
	// AccountID and RoleARN are served where the SDKs take them (the
	// container endpoint and IMDS's extended credentials path).
	AccountID string
	RoleARN   string
}

// Source is what the endpoints need from the broker. Both methods must answer
// from what the source already holds, within the request context's deadline
// (a fraction of a second: the SDKs give IMDS 0.5–1 s in all): when a
// credential is not there yet, return ErrNotReady rather than wait for an
// upstream call. Errors must not contain secrets: their text is logged.
type Source interface {
	// Role returns the role of the caller, or an error wrapping ErrNoRole
	// when the caller has none.
	Role(ctx context.Context, c Caller) (RoleInfo, error)
	// Credentials returns current credentials of role for the caller. role
	// is the one Role returned for that caller, or c.BoundRole.
	Credentials(ctx context.Context, c Caller, role string) (Credentials, error)
}

// Errors a Source returns (wrapped or as is). Any other error is treated as
// ErrUpstream.
var (
	// ErrNoRole: the caller may have no role (or not the one it asked for).
	ErrNoRole = errors.New("no role for this caller")
	// ErrNotReady: the credentials are being fetched; the caller should retry.
	ErrNotReady = errors.New("credentials not ready yet")
	// ErrUpstream: obtaining the credentials failed (STS down, access denied).
	ErrUpstream = errors.New("upstream failed to provide credentials")
)

// credentialsJSON is the part of both endpoints' answers that carries the keys, in
// the order EC2 and ECS write it.
type credentialsJSON struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

// keyJSON is cr's keys as the endpoints write them, with its account id when
// withAccount (the container endpoint, IMDS's extended path).
func keyJSON(cr Credentials, withAccount bool) credentialsJSON {
	k := credentialsJSON{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, Token: cr.SessionToken,
		Expiration: cr.Expiration.UTC().Format(timeFormat)}
	if withAccount {
		k.AccountID = cr.AccountID
	}
	return k
}
