// Package iamapi is the IAM Query API (Version 2010-05-08) of credbroker's embedded
// core: what the IAM guides walk an administrator through — users, groups, roles and
// instance profiles, managed policies with versions, inline policies, permissions
// boundaries, access keys, console passwords and the password policy, virtual MFA
// devices, OpenID Connect providers, account aliases, and the review tools
// (GetAccountAuthorizationDetails, the credential report, GetAccountSummary, the
// policy simulator) — so that the unchanged `aws iam …` CLI and the SDKs manage the
// core's account (AWS_ENDPOINT_URL_IAM).
//
// # Serving
//
// Register adds the API to an sts.Core; requests signed for service "iam" reach it on
// the core's one endpoint:
//
//	core, _ := sts.New(ctx, st)
//	if _, err := iamapi.Register(core); err != nil { … }
//	http.ListenAndServe("127.0.0.1:8913", core.Handler())
//
// Requests are validated against botocore's IAM model (model_iam.json.gz, made by
// sts/query/internal/modelgen) before a handler runs; results are IAM's XML shapes,
// policy documents URL-encoded as IAM returns them (the CLI and boto3 decode them,
// the Go SDK hands them over encoded). Lists page with Marker, MaxItems and
// IsTruncated: the store's own markers where the store pages (users, groups, roles,
// instance profiles, policies, group members, MFA devices), opaque offsets for the
// short lists read whole (tags, keys, versions, attachments), and a section marker
// for ListPolicies (AWS managed, then the account's) and GetAccountAuthorizationDetails
// (users, groups, roles, policies), so that a page costs the same however large the
// account.
//
// # Authorization
//
// Every action is decided by the policy engine for the caller (sts.Call.Authorize),
// with the resource IAM names: the entity's ARN (iam:CreateUser on
// arn:aws:iam::ACCOUNT:user/PATH/NAME, iam:AttachRolePolicy on the role, …); for lists,
// the type and path prefix (iam:ListUsers on arn:aws:iam::ACCOUNT:user/); "*" for the
// account's settings (password policy, aliases, summary, credential report). An
// entity that does not exist is authorized as the ARN it would have at path "/"
// before NoSuchEntity is answered, so that only callers allowed to act on it learn
// that it does not exist. Condition keys: aws:ResourceTag/* and iam:ResourceTag/* (the
// entity's tags), aws:RequestTag/* and aws:TagKeys (tags a request adds; creating
// with tags also needs iam:Tag…), iam:PermissionsBoundary (set or being set, for the
// actions IAM lists), iam:PolicyARN (Attach/Detach…Policy), and iam:PassRole with
// iam:PassedToService ec2.amazonaws.com for AddRoleToInstanceProfile. Root is allowed
// everything; denials are AccessDenied in IAM's words, with the reason.
//
// Actions on one's own credentials (GetUser, Create/List/Update/DeleteAccessKey,
// login profiles, MFA) default UserName to the calling user, or answer
// ValidationError for a role session, as IAM does. ChangePassword is allowed by the
// caller's policies or, unless explicitly denied, by the password policy's
// AllowUsersToChangePassword.
//
// # Passwords and MFA
//
// Passwords are checked against the account's password policy (AWS's default rules
// without one: eight characters, three character classes), hashed with argon2id and
// never kept; ChangePassword refuses the last PasswordReusePrevention passwords and,
// with HardExpiry, an expired one. CreateVirtualMFADevice returns the seed
// (Base32StringSeed) and a PNG QR code of otpauth://totp/NAME@ACCOUNT?secret=SEED
// (ACCOUNT: the alias, else the id), once; EnableMFADevice and ResyncMFADevice take two
// consecutive RFC 6238 codes (from the last two steps, or within ten minutes for a
// resync), each good once.
//
// # The simulator
//
// SimulatePrincipalPolicy and SimulateCustomPolicy decide every action on every
// resource with the policy engine. The principal's policies are those the core
// enforces (a user's with its groups', and its boundary); PolicyInputList adds identity
// policies, PermissionsBoundaryPolicyInputList replaces the boundary, ResourcePolicy
// adds a resource-based policy (ResourceOwner another account makes it cross-account).
// The request context holds only the ContextEntries and the simulated principal's own
// keys (aws:username, aws:userid, aws:PrincipalArn, tags): as in IAM's simulator,
// aws:CurrentTime or aws:SourceIp must be given. MatchedStatements name their policy
// (SourcePolicyId: the policy's name, PolicyInputList.N, ResourcePolicy) and type
// (user, group, role, user-managed, aws-managed, resource, none) and locate the
// statement; MissingContextValues lists the condition keys and policy variables of
// the statements naming the action that the context lacks.
//
// # Keys, certificates and other credentials
//
// UploadSSHPublicKey takes an OpenSSH line (ssh-rsa of 2048 bits or more, ssh-ed25519)
// or a PEM public key, parsed with golang.org/x/crypto/ssh; the fingerprint is the MD5
// one (colon-separated hex, as `ssh-keygen -l -E md5` prints it) and GetSSHPublicKey
// answers the SSH or the PKIX PEM encoding. Signing certificates are one PEM X.509
// certificate valid at upload. UploadServerCertificate checks that each certificate of
// the chain signed the one before it and that the private key (PKCS #1, SEC 1 or
// PKCS #8, unencrypted) is the certificate's; the key is sealed by the store and no call
// returns it. Service-specific credentials are CodeCommit's and Amazon Keyspaces' user
// name and password, and Amazon Bedrock's API keys (alias, secret, CredentialAgeDays);
// the secret is sealed at rest and shown only by Create and Reset. IAM's quotas hold:
// five SSH keys and two signing certificates per user, two credentials per user and
// service, twenty server certificates; DeleteUser refuses while any remains.
//
// # Service-linked roles
//
// CreateServiceLinkedRole makes the service's role (AWSServiceRoleFor…, at
// /aws-service-role/SERVICE/, trusted by the service, with the service's AWS managed
// policy when the catalog has it) for the services of a built-in table;
// DeleteServiceLinkedRole deletes it at once with its policies and its task is
// SUCCEEDED (FAILED, with the reason, while the role is in an instance profile). The
// ordinary role calls cannot change or delete it: the policy engine refuses them
// (policy.AWSOwned).
//
// # Last-accessed data
//
// The core records, for each request it allows, the IAM user or role, the action, the
// time and the region. GenerateServiceLastAccessedDetails reports, for a user, group
// (its members), role or managed policy (the users and roles it is attached to), each
// service its policies allow (wildcards and NotAction cover the services of a built-in
// table and those used) with the last use, and each action at ACTION_LEVEL. Reports are
// made at once and kept in memory for four hours.
//
// # Calls that need an organization or a partner
//
// The core's account is in no organization: the centralized root access calls answer
// OrganizationNotFoundException, an Organizations access report job completes FAILED
// with AWSOrganizationsNotInUseException, delegation requests do not exist (CreateDelegationRequest
// is InvalidInput), and GetHumanReadableSummary answers NOT_SUPPORTED. Outbound web
// identity federation is enabled with an issuer in AWS's form kept on the account.
//
// # Choices where IAM's behaviour is not documented
//
// The credential report is made at once (the first GenerateCredentialReport answers
// STARTED, as IAM's), kept in memory for four hours (ReportExpired after), and lost on
// restart (ReportNotPresent); so are last-accessed and Organizations reports. A wrong
// OldPassword is AccessDenied. AWS managed policies have stable made-up ids (ANPA…).
// GetAccountAuthorizationDetails lists the AWS managed policies in use (all of the
// core's with Filter AWSManagedPolicy). Signing certificate ids are 32 random base32
// characters; the SSH fingerprint is 47 characters although the model says 48; an
// unknown job id is NoSuchEntity; a service without a service-linked role in the table
// is InvalidInput ("Unrecognized service principal provided: …"); the wording of the
// key and certificate refusals (InvalidPublicKey, MalformedCertificate, KeyPairMismatch,
// DuplicateSSHPublicKey) and of DeleteUser's conflicts for the new credential kinds is
// the core's own, as IAM does not document it.
//
// # Performance
//
// On an account of 10,000 users and 2,000 roles in a bbolt file, over loopback, one
// keep-alive client (BenchmarkLoopback, two shared cores, same-run yardstick of a
// trivial handler answering the same bytes): Get calls p99 0.3–0.4 ms (yardstick
// 0.15), 100-item lists p99 1.4–2.4 ms (yardstick 0.6), a 100-item
// GetAccountAuthorizationDetails page p99 2.9 ms, a 50-action × 10-resource
// SimulatePrincipalPolicy (500 results, one page) p99 2.6 ms (yardstick 1.0).
package iamapi
