// Package session seals and opens the core's stateless session tokens: the
// X-Amz-Security-Token that AssumeRole, GetSessionToken and GetFederationToken hand out
// with an ASIA… access key id and its secret.
//
// The name says what it holds: an STS session, sealed into its token. It sits under
// signer because the token is signing material: it proves the session, and the
// session's secret access key is derived from it.
//
// # Use
//
//	sealer, err := session.New(session.Key{ID: "2024-01", Secret: key32},
//		func(o *session.Options) { o.VerifyKeys = previousKeys })
//	token, secret, err := sealer.Seal(&claims) // mint: return claims.AccessKeyID, secret, token
//	claims, secret, err := sealer.Lookup(accessKeyID, token) // each request: the KeyLookup
//
// Nothing per session is stored. The token carries the claims (kind, account, principal
// and identity ARNs, unique id, access key id, issue and expiry times, session policy
// and managed policy ARNs, tags and transitive tag keys, source identity, MFA time,
// role chaining, the caller's ARN), and the session's secret access key is derived,
// never stored: HMAC-SHA256 of the server key over the access key id and the expiry,
// the first 30 bytes in base64 (40 characters, AWS's shape).
//
// Each server Key yields two keys by HMAC with distinct labels, one that signs tokens
// and one that derives secrets. The signing key's id goes in the token's kid header;
// Options.VerifyKeys keeps older keys' tokens (and their secrets) valid across a
// rotation. A token that is malformed, altered, or sealed by a key not configured fails
// with signer.InvalidToken (InvalidClientTokenId, "The security token included in the
// request is invalid."); a genuine token past its expiry with signer.ExpiredToken
// (ExpiredToken, "The security token included in the request is expired"). The
// signature is checked before anything in the token is read, expiry after.
//
// # HMAC-SHA256, not Ed25519
//
// The core seals and opens its own tokens: one process holds the key either way, so a
// public-key signature buys nothing, and every request signed with a session pays the
// open. Measured in one run on this project's shared 2-core machine (go test -bench,
// -count 5, medians), with the typical claims of TestTypicalTokenSize:
//
//	BenchmarkOpen           HS256, this package             5.7 µs
//	BenchmarkOpenEd25519    same claims, EdDSA             75.5 µs
//	BenchmarkVerifyEd25519  the Ed25519 signature alone    55.0 µs
//	BenchmarkLookupCached   a session's later requests      0.5 µs
//
// Ed25519's verification alone costs ten times a whole HS256 open. Lookup keeps opened
// sessions by access key id, so a session pays the open once.
//
// # The codec
//
// A token is a standard JWS JWT (HS256, header {"alg":"HS256","kid":…,"typ":"JWT"},
// base64url segments), signed and verified with golang-jwt's SigningMethodHS256;
// golang-jwt's generic parser accepts it (TestTokenIsStandardJWT). The claim set is
// written and read by a fixed-schema codec instead of golang-jwt's reflective path,
// which costs three times as much for these claims (a map-decoded header, then
// encoding/json's validation pass and reflection over a 1 KiB claim set):
//
//	BenchmarkSealOpen            typical claims, this codec  11.1 µs
//	BenchmarkSealOpenGenericJWT  same claims, golang-jwt     36.8 µs
//	BenchmarkSealOpenPlain       no policy, tags or source    4.0 µs
//
// Open accepts only the headers this package writes (by exact match against each
// configured key's) and strict base64, so a token has one spelling; the decoder
// refuses unknown and repeated claims (FuzzDecodeClaims, FuzzOpen).
//
// # Size
//
// Claim names are three or four letters. A typical role session (a session policy of
// about 500 characters, three tags, a source identity) seals to about 1.6 KiB
// (TestTypicalTokenSize keeps it under 2 KiB); the broker's everyday session, with none
// of those, to about 530 bytes. A compact policy over 1 KiB is deflated: AWS's 2048
// character limit still seals under 3 KiB.
package session
