package imds

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// containerHosts are the link-local addresses the SDKs accept for the
// container endpoint over plain HTTP (ECS, EKS Pod Identity IPv4 and IPv6).
var containerHosts = []string{"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"}

// PlainHTTPAllowed reports whether every SDK accepts a container credentials
// endpoint on host over plain http: a loopback IP literal, 169.254.170.2,
// 169.254.170.23, fd00:ec2::23 (with or without brackets) or "localhost".
// Other hosts need https (botocore refuses them otherwise; the Go SDK
// resolves names, botocore does not, so names other than localhost are
// refused here).
func PlainHTTPAllowed(host string) bool {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return false
	}
	if a.Is4In6() { // botocore's ipaddress does not see ::ffff:127.0.0.1 as loopback
		return false
	}
	if a.IsLoopback() {
		return true
	}
	for _, c := range containerHosts[:3] {
		if a == netip.MustParseAddr(c) {
			return true
		}
	}
	return false
}

// CheckContainerURL checks that the SDKs will accept rawURL as
// AWS_CONTAINER_CREDENTIALS_FULL_URI: https anywhere, http only on the hosts
// of PlainHTTPAllowed. The error names the fix.
func CheckContainerURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("container endpoint URL %q does not parse: %w", rawURL, err)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("container endpoint URL %q has no host", rawURL)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if PlainHTTPAllowed(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("container endpoint %s: SDKs accept plain http only on loopback, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]: listen on one of those or serve TLS", u.Host)
	}
	return fmt.Errorf("container endpoint URL %q: scheme must be http or https", rawURL)
}
