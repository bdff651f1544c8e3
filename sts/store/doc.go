// Package store keeps one AWS account's IAM entities — users, groups, roles, managed
// and inline policies, instance profiles, access keys, login profiles, virtual MFA
// devices, OIDC providers, the password policy and aliases — and the core's own secrets,
// in one embedded, crash-safe file (or in memory for `serve --dev`).
//
// # Shape
//
// A Store runs transactions: View for reads, Update for changes, both handing fn a *Tx
// whose methods speak in sts/account types and answer IAM's errors (*account.Error with
// NoSuchEntity, EntityAlreadyExists, DeleteConflict, LimitExceeded, … and AWS's
// messages). An IAM action that needs several steps (check, then change) does them in
// one Update and is atomic. The store enforces what IAM enforces on the entities
// themselves: names unique without regard to case, at most two access keys per user, five
// versions per policy, one role per instance profile, twenty attached policies, no delete
// while something depends on the entity. The API layers enforce the rest (authorization,
// policy grammar through the policy engine, TOTP codes, the password policy).
//
// Underneath is kv.DB, five methods of ordered buckets, with a bbolt file and a memory
// implementation; secondary indexes (names, access key → owner, group members,
// attachments, role → instance profiles, user → MFA devices) are records in that same
// KV, kept by the Tx methods in the transaction that changes the entity. A networked
// backend would implement kv.DB only. Consumers (the STS and IAM APIs) declare the few
// methods they need as their own interfaces; their tests use OpenMemory instead of fakes.
//
// # Durability
//
// Update returns after bbolt has committed and fsynced the transaction; a process killed
// at any point reopens the file at its last committed transaction (TestCrash proves it by
// killing a writer with SIGKILL at random points). The file is created 0600 in a 0700
// directory.
//
// # Secrets at rest
//
// Access-key secrets, MFA seeds and the named secrets of PutSecret (the core's
// session-token signing keys) are sealed with AES-256-GCM under a data key; the
// additional data binds each ciphertext to its record (purpose and id) and store, so a
// sealed value moved to another record does not open. The data key is itself sealed
// under the master key, which never enters the file: it comes from a KeySource — a
// systemd credential (CredentialKey, for LoadCredential=), a key file (FileKey), memory
// (MemoryKey, for --dev) or the broker's OS keyring layer. Changing the master key needs
// only the data key to be re-wrapped. Console passwords are not encrypted but hashed
// (argon2id, see account.Argon2id): a hash can be verified, never read back, so it needs
// no key.
//
// # Hot paths
//
// LookupAccessKey (SigV4 verification of long-term keys) reads one record and decrypts
// one secret; it does not decode the user. PoliciesFor returns what the policy engine
// evaluates for a principal in one read. Generation is a counter that moves with every
// committed change that can affect authorization, and Changed a channel closed at the
// next one, so the core compiles policies once and recompiles only after a change.
// "Last used" data (access keys, roles, passwords) is recorded in memory and written in
// batches (FlushUsage), so serving requests costs no disk writes and moves no generation.
//
// Import and export in the JSON of `aws iam get-account-authorization-details` live in
// package sts/gaad.
package store
