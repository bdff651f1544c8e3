package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// IAM's checks of actions, resources and date values, as IAM answers them.
// The rules are recorded in testdata/conformance/grammar, case by case.

// checkAction returns IAM's message for an action it refuses: one without a
// vendor, with more than one colon, or whose vendor is not letters, digits,
// '-' and '.' (or the wildcards '*' and '?', which match service prefixes).
// The action name itself is not checked.
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	parts := strings.Split(a, ":")
	switch {
	case len(parts) == 1:
		return msgVendor
	case len(parts) > 2:
		return msgOneColon
	}
	vendor := parts[0]
	if vendor == "*" {
		return ""
	}
	for i := 0; i < len(vendor); i++ {
		c := vendor[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '*' || c == '?') {
			return fmt.Sprintf(msgVendorInvalid, vendor)
		}
	}
	return ""
}

// partitions are the partitions a resource ARN may name.
var partitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true, "aws-iso": true, "aws-iso-b": true,
	"aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

// iamResourceTypes are the resource types an IAM ARN may name.
var iamResourceTypes = []string{"user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
	"server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/"}

// s3RegionalTypes are the S3 resource types whose ARNs carry a region
// (access points, batch jobs, Storage Lens); buckets and objects do not.
var s3RegionalTypes = []string{"accesspoint/", "accesspoint:", "job/", "storage-lens/", "storage-lens-group/",
	"access-grants/", "async-request/", "*"}

// withoutVariables replaces each policy variable ${...} with "*", so that the
// colons inside variables such as ${aws:username} do not count as segments.
func withoutVariables(r string) string {
	for {
		i := strings.Index(r, "${")
		if i < 0 {
			return r
		}
		j := strings.IndexByte(r[i:], '}')
		if j < 0 {
			return r
		}
		r = r[:i] + "*" + r[i+j+1:]
	}
}

// checkResource returns IAM's message for a resource it refuses: one that is
// not "*" and has no colon, an unknown partition, no service, a region in an
// IAM ARN or an S3 bucket or object ARN, an IAM resource of an unknown type.
// The first segment is not read: IAM takes "aws:s3:::b" for an ARN of
// partition "s3". Percent-encoded characters are plain text.
func checkResource(r string) string {
	if r == "*" {
		return ""
	}
	v := withoutVariables(r)
	_, rest, found := strings.Cut(v, ":")
	if !found {
		return fmt.Sprintf(msgResourceARN, r)
	}
	part, rest, found := strings.Cut(rest, ":")
	if !partitions[part] && !strings.ContainsAny(part, "*?") {
		return partitionMessage(part, rest, found)
	}
	if !found {
		return msgResourceVendor
	}
	service, rest, hasRegion := strings.Cut(rest, ":")
	region, rest, _ := strings.Cut(rest, ":")
	_, resource, _ := strings.Cut(rest, ":")
	switch service {
	case "iam":
		if !hasRegion || region != "" {
			return fmt.Sprintf(msgIAMRegion, r)
		}
		// "root" is the account's root user (arn:aws:iam::ACCOUNT:root), which AWS's
		// own policies name (the root-task policies' NotResource).
		if resource == "*" || resource == "root" || strings.ContainsAny(strings.SplitN(resource, "/", 2)[0], "*?") {
			return ""
		}
		for _, t := range iamResourceTypes {
			if strings.HasPrefix(resource, t) {
				return ""
			}
		}
		return msgIAMPath
	case "s3":
		if (!hasRegion || region != "") && !hasAnyPrefix(resource, s3RegionalTypes) {
			return fmt.Sprintf(msgS3Region, r)
		}
	}
	return ""
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// partitionMessage words IAM's refusal of partition part, naming the resource
// as IAM rebuilds it: the four segments after the partition, "*" for those
// missing, the fourth holding the rest.
func partitionMessage(part, rest string, found bool) string {
	segs := []string{"*", "*", "*", "*"}
	if found {
		parts := strings.Split(rest, ":")
		for i := 0; i < 3 && i < len(parts); i++ {
			segs[i] = parts[i]
		}
		if len(parts) == 1 && parts[0] == "" {
			segs[0] = "*"
		}
		if len(parts) > 3 {
			segs[3] = strings.Join(parts[3:], ":")
		}
	}
	return fmt.Sprintf(msgPartition, part, part, segs[0], segs[1], segs[2], segs[3])
}

// legacyResourceFault reports whether IAM's legacy parser refuses a resource
// that passed the format checks: an empty service segment, or fewer than six
// segments with an empty one among them.
func legacyResourceFault(r string) bool {
	if r == "*" {
		return false
	}
	v := withoutVariables(r)
	if strings.Count(v, ":") < 5 && strings.Contains(v, "::") {
		return true
	}
	parts := strings.SplitN(v, ":", 4)
	return len(parts) < 3 || parts[2] == ""
}

// isDate reports whether the operator compares dates.
func (op operator) isDate() bool { return op.base == opDate }

// legacyDateOK reports whether IAM's legacy parser reads v as a date: an
// ISO 8601 date and time (checked field by field, in any case) when it holds a
// 't' or a '-', else a count of seconds from 0 to 2^63-1. A value holding a
// policy variable is read when the request is.
func legacyDateOK(v string) bool {
	if strings.Contains(v, "${") {
		return true
	}
	lower := strings.ToLower(v)
	if !strings.ContainsAny(lower, "t-") {
		n, err := strconv.ParseInt(v, 10, 64)
		return err == nil && n >= 0
	}
	date, clock, _ := strings.Cut(lower, "t")
	return legacyDatePartOK(date) && legacyClockOK(clock)
}

func inRange(s string, lo, hi int64) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= lo && n <= hi
}

func legacyDatePartOK(date string) bool {
	neg := strings.HasPrefix(date, "-")
	if neg {
		date = date[1:]
	}
	parts := strings.Split(date, "-")
	year := parts[0]
	if neg {
		year = "-" + year
	}
	if len(parts) > 3 || !inRange(year, -292275054, 292278993) {
		return false
	}
	if len(parts) > 1 && !inRange(parts[1], 1, 12) {
		return false
	}
	return len(parts) < 3 || inRange(parts[2], 1, 31)
}

func legacyClockOK(clock string) bool {
	parts := strings.Split(clock, ":")
	if parts[0] != "" && !inRange(parts[0], 0, 23) {
		return false
	}
	if len(parts) > 1 && !inRange(parts[1], 0, 59) {
		return false
	}
	if len(parts) < 3 {
		return true
	}
	secs := parts[2]
	if before, after, ok := strings.Cut(secs, "z"); ok {
		if after != "" {
			return false
		}
		secs = before
	} else if i := strings.IndexAny(secs, "+-"); i >= 0 {
		before, zone := secs[:i], secs[i+1:]
		secs = before
		// parts[3], when present, is the zone's minutes.
		if len(zone) != 2 || !inRange(zone, 0, 23) {
			return false
		}
		if len(parts) > 3 && (len(parts[3]) != 2 || !inRange(parts[3], 0, 59)) {
			return false
		}
	}
	whole, frac, hasFrac := strings.Cut(secs, ".")
	if !inRange(whole, 0, 59) {
		return false
	}
	return !hasFrac || inRange(frac, 0, 999999999)
}
