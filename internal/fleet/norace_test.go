//go:build !race

package fleet_test

// defaultSize is the fleet of an ordinary run: 1,000 brokers against 60
// AssumeRole/s, the full fleet's ratios in a tenth of its CPU time.
const defaultSize = 1000
