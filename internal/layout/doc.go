// Package layout holds the test of the project's import rules: which package
// may depend on which. It has no code; `go test ./internal/layout` reads the
// import graph with `go list` and fails on an arrow a rule forbids.
//
// The first three rules are on what a package builds with (go list's Deps:
// its tests are free to use the shared test doubles); the last is on every
// import, tests' included. The rules:
//   - imds imports nothing of the project (it declares what it needs; its
//     tests may use the shared test doubles, internal/clocktest);
//   - broker/... never imports sts/... (the broker reaches the embedded core
//     through its own small interfaces; cmd wires them);
//   - signer/... imports no IAM entity package (nothing of sts/...): the core
//     hands it keys through signer.KeyLookup;
//   - nothing imports cmd/... (tests included).
package layout
