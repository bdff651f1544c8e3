// Package console is the IAM console the core serves under /console on its listener,
// and the AWS-compatible federation endpoint at /federation.
//
// The console is a client of the core's own IAM API: every page reads, and every
// form changes, the account through IAM calls signed with the signed-in principal's
// temporary credentials and answered by the core in-process (the same SigV4
// verification, policy engine and audit trail as the AWS CLI's calls). A password
// sign-in gets its credentials from sts.Core.SignIn; a federation login gets them
// from the session the caller handed to getSigninToken.
//
// Console sessions live on the server (in the core's store, sealed, when
// Options.Store is set, so that a restart or another replica keeps them; else in
// memory): the browser holds a signed,
// HttpOnly, SameSite=Strict cookie naming one (Secure under TLS), every form carries
// the session's CSRF token, and signing out deletes the session. Pages are
// server-rendered html/template with a strict Content-Security-Policy and no
// framing.
package console
