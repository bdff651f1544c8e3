//go:build race

package fleet_test

// defaultSize under the race detector, which slows every request tenfold and
// allows at most 8,128 live goroutines: a fleet of 200 (the same ratios).
const defaultSize = 200
