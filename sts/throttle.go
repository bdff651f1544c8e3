package sts

import (
	"math"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/credbroker/credbroker/sts/query"
)

// DefaultThrottleRate is AWS STS's default request quota per account and region,
// in requests per second: the rate credbroker's daemon gives its core unless the
// config says otherwise.
const DefaultThrottleRate = 600

// Throttle limits the rate of the STS actions that issue credentials (those marked
// Action.Throttled: AssumeRole, AssumeRoleWithWebIdentity, AssumeRoleWithSAML,
// GetSessionToken, GetFederationToken), as AWS's per-account request quota does.
// Like AWS's, it is a token bucket: Burst requests may come at once, refilled at Rate
// per second; a request finding the bucket empty is answered AWS's throttling error
// (Throttling, "Rate exceeded", HTTP 400), which the SDKs retry with backoff.
//
// The core serves one account, so the account's bucket is the core's. The bucket
// lives in the process: replicas each have their own (give each the account's rate
// divided by their number), so the warm path never waits on the database.
type Throttle struct {
	// Rate is the requests per second admitted; 0 (the zero value) admits every
	// request.
	Rate float64
	// Burst is how many requests the full bucket admits at once (default: one
	// second's worth, Rate rounded up).
	Burst int
}

// throttle is the core's bucket; a nil *throttle admits everything.
type throttle struct{ lim *rate.Limiter }

func newThrottle(t Throttle) *throttle {
	if t.Rate <= 0 {
		return nil
	}
	burst := t.Burst
	if burst <= 0 {
		burst = int(math.Ceil(t.Rate))
	}
	return &throttle{lim: rate.NewLimiter(rate.Limit(t.Rate), burst)}
}

// admit takes a token at now, or returns the throttling error.
func (t *throttle) admit(now time.Time) error {
	if t == nil || t.lim.AllowN(now, 1) {
		return nil
	}
	return &query.Error{Code: query.CodeThrottling, Message: "Rate exceeded", Status: http.StatusBadRequest}
}
