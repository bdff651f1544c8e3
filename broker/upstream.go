package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/credbroker/credbroker/internal/inprocess"
)

// STSAPI is what the broker needs of an STS client. *sts.Client satisfies
// it, whether it talks to AWS, to another STS-compatible service, or to the
// embedded core in-process (see NewEmbeddedUpstream).
type STSAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
	GetSessionToken(ctx context.Context, in *sts.GetSessionTokenInput, optFns ...func(*sts.Options)) (*sts.GetSessionTokenOutput, error)
	AssumeRoleWithSAML(ctx context.Context, in *sts.AssumeRoleWithSAMLInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error)
}

// Upstream is where the broker assumes roles.
type Upstream struct {
	// Client makes the calls; each call is signed with the credentials of
	// the role's source, passed per call.
	Client STSAPI
	// Name describes the upstream for status and logs.
	Name string
	// Probe checks that the upstream answers at all (any HTTP response
	// will do); the daemon says READY only after it succeeds. nil means
	// always reachable (the embedded core, in-process).
	Probe func(ctx context.Context) error
	// Profiles, when set, knows the instance profile that holds a role (the
	// embedded core does); IMDS iam/info reports it. Without it, iam/info
	// reports a profile named after the role.
	Profiles InstanceProfileLookup
	// RolesAnywhereEndpoint and RolesAnywhereHTTP are where x509 sources send
	// CreateSession when they name no endpoint of their own: the upstream's own
	// endpoint (the core serves Roles Anywhere on it), or, for AWS's STS ("" here),
	// AWS's Roles Anywhere of the source's region.
	RolesAnywhereEndpoint string
	RolesAnywhereHTTP     *http.Client
}

// InstanceProfileLookup finds the instance profile holding the role roleARN,
// for IMDS iam/info. An embedded core implements it; a remote STS cannot.
type InstanceProfileLookup interface {
	InstanceProfileForRole(ctx context.Context, roleARN string) (arn, id string, found bool, err error)
}

// UpstreamOptions configure NewSTSUpstream and NewEmbeddedUpstream.
type UpstreamOptions struct {
	// Endpoint is the STS URL; "" means AWS's regional endpoint.
	Endpoint string
	// HTTPClient carries the requests. Default: the SDK's.
	HTTPClient *http.Client
	// RetryMaxAttempts is the SDK's attempts per call (2: the session
	// cache retries with its own backoff).
	RetryMaxAttempts int
}

// NewSTSUpstream returns an upstream that calls a remote STS (AWS's
// regional endpoint of region, or optFns' Endpoint) through aws-sdk-go-v2.
// Nothing is read from the environment or ~/.aws: every call carries its
// source's credentials.
func NewSTSUpstream(region string, optFns ...func(*UpstreamOptions)) *Upstream {
	o := UpstreamOptions{RetryMaxAttempts: 2}
	for _, fn := range optFns {
		fn(&o)
	}
	so := sts.Options{Region: region, RetryMaxAttempts: o.RetryMaxAttempts}
	if o.Endpoint != "" {
		so.BaseEndpoint = aws.String(o.Endpoint)
	}
	if o.HTTPClient != nil {
		so.HTTPClient = o.HTTPClient
	}
	probeURL := o.Endpoint
	name := "sts " + o.Endpoint
	if probeURL == "" {
		probeURL = regionalEndpoint(region)
		name = "sts " + probeURL + " (AWS)"
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Upstream{Client: sts.New(so), Name: name, Probe: func(ctx context.Context) error { return probe(ctx, hc, probeURL) },
		RolesAnywhereEndpoint: o.Endpoint, RolesAnywhereHTTP: hc}
}

// regionalEndpoint is AWS STS's regional endpoint of region.
func regionalEndpoint(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// probe sends an unsigned GET to url: any HTTP answer (STS answers 4xx to
// it) proves the upstream reachable.
func probe(ctx context.Context, hc *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probing the upstream %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the upstream %s cannot be reached: %w", url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return nil
}

// Core is the embedded IAM/STS core as the daemon needs it: the STS and
// IAM Query APIs as one SigV4-authenticated http.Handler (served on the
// core listener for the AWS CLI, and called in-process by the broker's STS
// client), and Close for its store.
type Core interface {
	http.Handler
	Close() error
}

// NewEmbeddedUpstream returns an upstream whose aws-sdk-go-v2 STS client
// calls core's handler in-process: the same SigV4-signed requests as over
// the network, without a socket. region is the region requests are signed
// for.
func NewEmbeddedUpstream(core http.Handler, region string) *Upstream {
	hc := &http.Client{Transport: InProcessTransport(core)}
	u := NewSTSUpstream(region, func(o *UpstreamOptions) {
		o.Endpoint = "http://core.credbroker.internal"
		o.HTTPClient = hc
		o.RetryMaxAttempts = 1
	})
	u.Name, u.Probe = "embedded core", nil
	if p, ok := core.(InstanceProfileLookup); ok {
		u.Profiles = p
	}
	return u
}

// InProcessTransport returns an http.RoundTripper that answers every
// request by calling h in the same process, as an http.Server would: the
// request arrives with its Host, RequestURI and a loopback RemoteAddr.
func InProcessTransport(h http.Handler) http.RoundTripper { return inprocess.Transport(h) }

// signedWith makes one STS call sign with creds.
func signedWith(creds aws.Credentials) func(*sts.Options) {
	return func(o *sts.Options) {
		o.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	}
}

// ErrNoCore is returned when the config's upstream is "core" but the daemon was
// started without a way to open the embedded core (daemon.Options.OpenCore).
var ErrNoCore = errors.New(`upstream "core" needs the embedded IAM/STS core, and this daemon was started without one: use upstream "sts" { endpoint = "..." } instead`)
