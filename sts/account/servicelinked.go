package account

import "strings"

// ServiceLinkedPathPrefix is the path of every service-linked role:
// /aws-service-role/SERVICE-PRINCIPAL/.
const ServiceLinkedPathPrefix = "/aws-service-role/"

// IsServiceLinkedPath reports whether path is a service-linked role's.
func IsServiceLinkedPath(path string) bool { return strings.HasPrefix(path, ServiceLinkedPathPrefix) }

// IsServiceLinkedRole reports whether r is a service-linked role.
func IsServiceLinkedRole(r Role) bool { return IsServiceLinkedPath(r.Path) }
