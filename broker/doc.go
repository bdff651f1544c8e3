// Package broker decides which caller gets which role and hands out that
// role's cached session. It is the imds.Source behind both endpoints and the
// backend of the control socket; package broker/daemon runs it as a service.
//
// How one credential flows:
//
//  1. A process's SDK asks an endpoint (package imds) or the control socket
//     (credential-process, exec). The connection's peer is identified from
//     the kernel (package peer: the socket owner's uid through sock_diag,
//     SO_PEERCRED on the Unix socket; pid, executable and unit only when a
//     rule or the audit log asks).
//  2. The client rules (package rules) map the caller to a role, first match
//     wins; a caller no rule matches gets the default role or none (ErrNoRole:
//     404/403), never someone else's. A container token bound to a role by
//     `credbroker exec` carries its role.
//  3. The role's session comes from the cache (package session), one per
//     role and caller binding: a cache hit is an atomic load. A miss waits a
//     quarter second at most for the one fetch under way, then answers "not
//     ready" (the SDKs retry); the endpoints never wait on STS.
//  4. A fetch assumes the role through the upstream's aws-sdk-go-v2 STS
//     client (STSAPI), signed with the role's source: an IAM user's key from
//     the keyring (opened once per daemon start; while a just-rotated key is
//     not accepted yet, the previous one), an OIDC token (a file, GitHub
//     Actions' token endpoint, a GitLab id_tokens variable) through
//     AssumeRoleWithWebIdentity, or another role's session (chaining). A role
//     with mfa_serial is assumed with the MFA session `credbroker mfa` made
//     (GetSessionToken); without one it waits, reported in Status.
//  5. The upstream is a remote STS (NewSTSUpstream: AWS or any compatible
//     service) or the embedded core, called in-process through the same
//     SigV4-signed HTTP requests (NewEmbeddedUpstream, InProcessTransport).
//  6. Every credential handed out is one audit line (caller uid, pid,
//     executable, unit, role, session name, access key id, expiry; never a
//     secret), counted in the Prometheus metrics (Registry).
package broker
