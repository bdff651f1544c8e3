package sts_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/sts"
)

// TestThrottle: the STS calls that issue credentials share the core's token bucket
// and, once it is empty, get AWS's throttling error, which the Go SDK recognises
// and retries; the bucket refills with the core's clock; other calls are not
// counted.
func TestThrottle(t *testing.T) {
	f := newFixture(t, func(o *sts.Options) { o.Throttle = sts.Throttle{Rate: 2, Burst: 3} })
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	role := f.role("app", trustAccount, time.Hour, nil)
	in := func() *awssts.AssumeRoleInput {
		return &awssts.AssumeRoleInput{RoleArn: aws.String(role.ARN), RoleSessionName: aws.String("sess")}
	}
	noRetry := f.client(alice)

	// The full bucket admits Burst at once: AssumeRole and GetSessionToken draw on it.
	for range 2 {
		if _, err := noRetry.AssumeRole(f.ctx, in()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := noRetry.GetSessionToken(f.ctx, &awssts.GetSessionTokenInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := noRetry.AssumeRole(f.ctx, in())
	assertAPIError(t, err, "Throttling", "Rate exceeded", 400)
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not take %v for throttling", err)
	}
	// Calls that issue nothing are not counted.
	if _, err := noRetry.GetCallerIdentity(f.ctx, &awssts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity with an empty bucket: %v", err)
	}
	if !strings.Contains(f.logs.String(), `"error":"Throttling"`) {
		t.Error("the audit line does not say Throttling")
	}

	// The SDK's standard retryer backs off and retries; its backoff here moves the
	// core's clock by half a second (one token at 2/s), so the retry is admitted.
	var retried []string
	sdk := awssts.NewFromConfig(f.c.Config(alice), func(o *awssts.Options) {
		o.RetryMaxAttempts = 0 // the retryer's own
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Backoff = retry.BackoffDelayerFunc(func(_ int, err error) (time.Duration, error) {
				var ae smithy.APIError
				if errors.As(err, &ae) {
					retried = append(retried, ae.ErrorCode())
				}
				f.clock.Advance(500 * time.Millisecond)
				return 0, nil
			})
		})
	})
	out, err := sdk.AssumeRole(f.ctx, in())
	if err != nil {
		t.Fatalf("AssumeRole with the SDK's retries: %v", err)
	}
	if len(retried) != 1 || retried[0] != "Throttling" {
		t.Errorf("the SDK retried after %q, want one Throttling", retried)
	}
	if out.Credentials == nil {
		t.Fatal("no credentials after the retry")
	}
	// The retry took the refilled token: the bucket is empty again.
	_, err = noRetry.AssumeRole(f.ctx, in())
	assertAPIError(t, err, "Throttling", "Rate exceeded", 400)
	// A second on, two more.
	f.clock.Advance(time.Second)
	for range 2 {
		if _, err := noRetry.AssumeRole(f.ctx, in()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestThrottleOff: the zero Throttle admits everything.
func TestThrottleOff(t *testing.T) {
	f := newFixture(t)
	alice := f.user("alice", map[string]string{"assume": allowAssumeAll})
	role := f.role("app", trustAccount, time.Hour, nil)
	c := f.client(alice)
	for i := range 50 {
		if _, err := c.AssumeRole(f.ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(role.ARN), RoleSessionName: aws.String("sess")}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
