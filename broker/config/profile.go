package config

import (
	"strings"
)

// ProfileKeys are the settings of an ~/.aws/config profile a role reads.
var ProfileKeys = []string{
	"role_arn", "source_profile", "mfa_serial", "external_id",
	"duration_seconds", "role_session_name", "web_identity_token_file",
}

// ParseAWSConfig reads the profiles of a shared AWS config file, as the
// AWS CLI does: "[profile NAME]" sections (and "[default]"), "key = value"
// lines, full-line comments starting with # or ;, and indented
// sub-settings (s3 = ...) skipped. Only the keys of ProfileKeys are kept,
// so nothing secret (aws_secret_access_key) is ever held. Keys are
// case-insensitive; a later section of the same name adds to the earlier.
func ParseAWSConfig(src []byte) map[string]map[string]string {
	profiles := map[string]map[string]string{}
	var cur map[string]string
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if trimmed[0] == '[' {
			cur = nil
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				continue
			}
			name := strings.TrimSpace(trimmed[1:end])
			switch {
			case name == "default":
			case strings.HasPrefix(name, "profile ") || strings.HasPrefix(name, "profile\t"):
				name = strings.TrimSpace(name[len("profile"):])
			default:
				// sso-session, services and bare names are not profiles of
				// the config file.
				continue
			}
			if name == "" {
				continue
			}
			if profiles[name] == nil {
				profiles[name] = map[string]string{}
			}
			cur = profiles[name]
			continue
		}
		if cur == nil || line[0] == ' ' || line[0] == '\t' {
			continue // outside a profile, or a nested sub-setting
		}
		eq := strings.IndexByte(trimmed, '=')
		if eq < 0 {
			continue
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:eq]))
		for _, k := range ProfileKeys {
			if key == k {
				cur[key] = strings.TrimSpace(trimmed[eq+1:])
				break
			}
		}
	}
	return profiles
}
