package account

import (
	"regexp"
	"time"
)

// ResourceSAMLProvider is the resource type of SAML providers' ARNs.
const ResourceSAMLProvider = "saml-provider"

// SAML provider quotas, as IAM's.
const (
	// MaxSAMLProviders is the number of SAML providers an account may have.
	MaxSAMLProviders = 100
	// SAMLProviderValidity is the ValidUntil of a provider whose metadata sets none.
	SAMLProviderValidity = 100 * 365 * 24 * time.Hour
)

// SAMLProviderARN is arn:aws:iam::ACCOUNT:saml-provider/NAME.
func SAMLProviderARN(accountID, name string) string {
	return "arn:" + Partition + ":iam::" + accountID + ":" + ResourceSAMLProvider + "/" + name
}

// SAMLProvider is an IAM SAML 2.0 identity provider: its metadata document as given,
// with what the core reads of it checked when it is set.
type SAMLProvider struct {
	ARN        string    `json:"-"`
	Name       string    `json:"name"`
	Metadata   string    `json:"metadata"`
	UUID       string    `json:"uuid"`
	Created    time.Time `json:"created"`
	ValidUntil time.Time `json:"valid_until"`
	Tags       Tags      `json:"tags,omitempty"`
}

var samlNameRE = regexp.MustCompile(`^[\w._-]{1,128}$`)

// Validate checks the provider's name and tags (the metadata is parsed by package
// saml before it is stored).
func (p SAMLProvider) Validate() error {
	if !samlNameRE.MatchString(p.Name) {
		return Errorf(InvalidInput, "The specified value for name is invalid. It must contain only alphanumeric characters and/or the following: _.-")
	}
	return ValidateTags(p.Tags)
}
