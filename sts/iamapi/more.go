package iamapi

import (
	"maps"

	"github.com/credbroker/credbroker/sts"
)

// moreHandlers are the actions of the IAM guides' less common areas: tags on every
// taggable entity, SSH public keys, signing and server certificates, service-specific
// credentials, service-linked roles, last-accessed data, and the account-level calls
// that answer as AWS does for a standalone account.
func (a *API) moreHandlers() map[string]sts.Handler {
	hs := map[string]sts.Handler{
		"GetMFADevice": a.getMFADevice,
	}
	maps.Copy(hs, taggingOf("InstanceProfile", loadProfileTags))
	maps.Copy(hs, taggingOf("OpenIDConnectProvider", loadOIDCTags))
	maps.Copy(hs, taggingOf("MFADevice", loadMFATags))
	return hs
}
