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
		// SSH public keys.
		"UploadSSHPublicKey": a.uploadSSHPublicKey,
		"GetSSHPublicKey":    a.getSSHPublicKey,
		"ListSSHPublicKeys":  a.listSSHPublicKeys,
		"UpdateSSHPublicKey": a.updateSSHPublicKey,
		"DeleteSSHPublicKey": a.deleteSSHPublicKey,
		// Signing certificates.
		"UploadSigningCertificate": a.uploadSigningCertificate,
		"ListSigningCertificates":  a.listSigningCertificates,
		"UpdateSigningCertificate": a.updateSigningCertificate,
		"DeleteSigningCertificate": a.deleteSigningCertificate,
		// Server certificates.
		"UploadServerCertificate": a.uploadServerCertificate,
		"GetServerCertificate":    a.getServerCertificate,
		"ListServerCertificates":  a.listServerCertificates,
		"UpdateServerCertificate": a.updateServerCertificate,
		"DeleteServerCertificate": a.deleteServerCertificate,
		// Account-level calls of a standalone account.
		"GenerateOrganizationsAccessReport":    a.generateOrganizationsAccessReport,
		"GetOrganizationsAccessReport":         a.getOrganizationsAccessReport,
		"CreateDelegationRequest":              a.createDelegationRequest,
		"ListDelegationRequests":               a.listDelegationRequests,
		"EnableOutboundWebIdentityFederation":  a.enableOutboundWebIdentityFederation,
		"DisableOutboundWebIdentityFederation": a.disableOutboundWebIdentityFederation,
		"GetOutboundWebIdentityFederationInfo": a.getOutboundWebIdentityFederationInfo,
		"SetSecurityTokenServicePreferences":   a.setSecurityTokenServicePreferences,
		"GetHumanReadableSummary":              a.getHumanReadableSummary,
		// Service-linked roles.
		"CreateServiceLinkedRole":            a.createServiceLinkedRole,
		"DeleteServiceLinkedRole":            a.deleteServiceLinkedRole,
		"GetServiceLinkedRoleDeletionStatus": a.getServiceLinkedRoleDeletionStatus,
		// Last-accessed data.
		"GenerateServiceLastAccessedDetails":        a.generateServiceLastAccessedDetails,
		"GetServiceLastAccessedDetails":             a.getServiceLastAccessedDetails,
		"GetServiceLastAccessedDetailsWithEntities": a.getServiceLastAccessedDetailsWithEntities,
		"ListPoliciesGrantingServiceAccess":         a.listPoliciesGrantingServiceAccess,
		// Service-specific credentials.
		"CreateServiceSpecificCredential": a.createServiceSpecificCredential,
		"ListServiceSpecificCredentials":  a.listServiceSpecificCredentials,
		"ResetServiceSpecificCredential":  a.resetServiceSpecificCredential,
		"UpdateServiceSpecificCredential": a.updateServiceSpecificCredential,
		"DeleteServiceSpecificCredential": a.deleteServiceSpecificCredential,
	}
	for _, action := range []string{"ListOrganizationsFeatures", "EnableOrganizationsRootCredentialsManagement",
		"DisableOrganizationsRootCredentialsManagement", "EnableOrganizationsRootSessions", "DisableOrganizationsRootSessions"} {
		hs[action] = organizationsFeature(action)
	}
	for _, action := range []string{"GetDelegationRequest", "AcceptDelegationRequest", "AssociateDelegationRequest",
		"RejectDelegationRequest", "UpdateDelegationRequest", "SendDelegationToken"} {
		hs[action] = delegationRequestCall(action)
	}
	for noun, load := range tagLoaders {
		maps.Copy(hs, taggingOf(noun, load))
	}
	return hs
}
