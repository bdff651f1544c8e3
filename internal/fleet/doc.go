// Package fleet holds the fleet simulation (issue 18), a test only: thousands
// of brokers, each a real broker.Broker with its own IAM user, refreshing one
// role against the embedded core throttling at AWS's per-account STS quota,
// through a start-up storm, steady refreshes, an outage of the core and the
// recovery after it. See fleet_test.go.
package fleet
