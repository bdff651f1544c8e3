// Package signer verifies AWS Signature Version 4, as AWS's STS and IAM endpoints do,
// for the embedded IAM/STS core; KeyGenerator makes access key ids and secrets in AWS's
// shapes, and package signer/session seals the stateless session tokens.
//
// # Verifying
//
// A Verifier is built once with the core's KeyLookup (long-term keys from the store,
// temporary keys from their session token) and called for every request, after the
// handler has read the body with its own size limit:
//
//	v := signer.New(lookup, func(o *signer.Options) { o.Services = []string{"sts", "iam"} })
//	res, err := v.Verify(ctx, r, body)
//	// res.AccessKeyID, res.SessionToken, res.Scope (date, region, service),
//	// res.SigningTime, res.Presigned; or err, an *Error with AWS's code and message.
//
// Both forms are verified: the Authorization header (AWS4-HMAC-SHA256 Credential=…,
// SignedHeaders=…, Signature=…), and presigned URLs (X-Amz-Algorithm, X-Amz-Credential,
// X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature,
// X-Amz-Security-Token), for GET and form-encoded POST alike.
//
// # Canonicalization
//
// The canonical request is built as AWS builds it: the path as the client sent it (the
// server's request-target, not Go's decoded URL.Path), dot segments and empty segments
// removed and URI-encoded once more, for every service but S3; the query split on '&',
// each key and value decoded and re-encoded with upper-case hex, sorted by key then
// value; each signed header's values trimmed, runs of spaces folded, duplicates joined
// by commas, host taken from the request; the SHA-256 of the body (and an
// X-Amz-Content-Sha256 header, when sent, must equal it).
//
// Where AWS's own clients read the rules differently, the verifier accepts what each
// of them signs, and tries the other readings only when the first does not match and
// the request has something they disagree on:
//   - the path as sent, not normalized (the SDKs for Go and Java do not normalize;
//     botocore and the CRT do);
//   - header values with tabs folded too (botocore folds all white space);
//   - a presigned URL whose X-Amz-Security-Token was added after signing (the CRT's
//     omit_session_token; Options.RequireSignedSessionToken refuses it).
//
// All of AWS's signing test suite (testdata/aws-signing-test-suite, from aws-c-auth)
// passes, at the level of canonical request, string to sign and signature and as whole
// requests; so do random requests signed by aws-sdk-go-v2 and by botocore.
//
// # Failures
//
// A failure is an *Error whose Code and Message are AWS's. The usual HTTP statuses
// (AWS's common errors) are 403 for MissingAuthenticationToken, InvalidClientTokenId
// and SignatureDoesNotMatch, and 400 for IncompleteSignature, RequestExpired and
// ExpiredToken; the core's renderer decides. On SignatureDoesNotMatch the Error also
// carries the canonical request (session token shown as REDACTED) and string to sign
// the server expected, for debug logs; Error() never includes them. Messages never
// echo secrets, session tokens, or an Authorization header of another scheme.
//
// The signing time must be within 15 minutes of the Verifier's clock either way
// ("Signature expired: … (… - 15 min.)"); a presigned URL is good from 15 minutes
// before its X-Amz-Date to X-Amz-Expires after it ("Request has expired.").
//
// # Cost
//
// Signatures are compared in constant time. Derived signing keys are cached by access
// key id and scope; the secret is kept in the entry and compared on every hit, never
// used as a map key. A header-signed STS request verifies without allocating, in less
// time than aws-sdk-go-v2 takes to sign it (BenchmarkVerifyHeaderAuth against
// BenchmarkSDKSignSameRequest, same run).
//
// The core's handler must not sit behind http.ServeMux path patterns that clean paths
// (they redirect "//" and "..") if clients may sign such paths; the STS and IAM Query
// APIs only use "/".
package signer
