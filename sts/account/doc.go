// Package account holds IAM's entities as the embedded core keeps them, and the rules
// AWS applies to them: names, paths, tags and descriptions are validated as IAM does
// (with IAM's ValidationError and InvalidInput messages), unique ids and access key ids
// are made in AWS's shape (AIDA…, AROA…, AKIA…, ASIA…, with the account id encoded the
// way AWS encodes it), and ARNs are built and parsed as IAM and STS print them.
//
// The package knows no storage and no HTTP: the store (package sts/store) persists these
// types, and the STS and IAM Query APIs render them. Errors that an API should pass to a
// client are *Error values carrying IAM's error code and message; test them with
// errors.Is against the Err… sentinels or read Error.Code.
//
// Passwords are kept as argon2id hashes in PHC string form (see Argon2id), never
// encrypted: a hash can only be checked, not read back.
package account
