// Package imds serves credentials to processes through the two HTTP endpoints
// every AWS SDK's default credential chain already knows, so applications pick
// up credbroker's credentials with no code change:
//
//   - EC2 emulates the EC2 instance metadata service, IMDSv2 (session tokens)
//     and, when allowed, IMDSv1: PUT /latest/api/token, the role list and role
//     credentials under /latest/meta-data/iam/security-credentials/ (and the
//     newer security-credentials-extended/ with AccountId), iam/info,
//     instance-id, placement/region and availability-zone, the instance
//     identity document, and the directory listings in between.
//     Point SDKs at it with AWS_EC2_METADATA_SERVICE_ENDPOINT.
//   - Container serves the container credentials endpoint (ECS, EKS Pod
//     Identity and Lambda style): GET with an Authorization token from a
//     TokenSet. Point SDKs at it with AWS_CONTAINER_CREDENTIALS_FULL_URI and
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (see WriteTokenFile).
//
// The package knows nothing of STS or of the broker: it asks a Source, which
// must answer from what it already holds (ErrNotReady rather than waiting on
// an upstream call, since the SDKs give these endpoints 0.5 to 2 seconds).
// When the source fails, IMDS answers 404 on the role path and the container
// endpoint 500 with a JSON {"code","message"}, as the real services do; the
// cause is logged once per failure streak and never sent to the client.
//
// Both handlers refuse peers that are not loopback (unless configured), Host
// headers that do not name the endpoint (DNS rebinding), oversized bodies,
// and recover from panics; Guard puts the same checks in front of any other
// handler. The caller owns the listeners: use NewServer for the recommended
// timeouts, a ConnLimiter to bound the connections of each peer (uid, told
// by a PeerIdentifier the caller provides) and in total, HopLimitListener on
// the IMDS listener for EC2's hop limit, and CheckContainerURL to decide
// whether the container endpoint needs TLS.
//
// Wire facts followed here come from the SDKs that consume them:
// aws-sdk-go-v2 (feature/ec2/imds, credentials/ec2rolecreds,
// credentials/endpointcreds) and botocore (InstanceMetadataFetcher,
// InstanceMetadataRegionFetcher, ContainerMetadataFetcher). Every timestamp is
// UTC without fractional seconds ("2006-01-02T15:04:05Z"), the only form
// botocore parses.
package imds
