package store

import (
	"github.com/credbroker/credbroker/sts/account"
)

// CreateOIDCProvider creates an OpenID Connect provider for p.URL (its ARN is derived
// from the URL, as IAM's).
func (tx *Tx) CreateOIDCProvider(p account.OIDCProvider) (account.OIDCProvider, error) {
	arn := account.OIDCProviderARN(tx.s.accountID, p.URL)
	if err := oidcProviders.claim(tx, &p, arn, exists("Provider with url %s already exists.", p.URL)); err != nil {
		return account.OIDCProvider{}, err
	}
	p.Created = tx.createdAt(p.Created)
	return p, tx.put(bOIDC, []byte(p.ARN), p)
}

// OIDCProvider returns the provider arn (see account.OIDCProviderARN to find it from an
// issuer URL).
func (tx *Tx) OIDCProvider(arn string) (account.OIDCProvider, error) {
	return oidcProviders.get(tx, arn)
}

// OIDCProviders returns all OpenID Connect providers, by ARN.
func (tx *Tx) OIDCProviders() ([]account.OIDCProvider, error) { return oidcProviders.all(tx) }

// UpdateOIDCProvider changes a provider's client ids, thumbprints or tags through fn
// (AddClientIDTo…, RemoveClientIDFrom…, UpdateOpenIDConnectProviderThumbprint); its URL,
// ARN and creation date cannot change.
func (tx *Tx) UpdateOIDCProvider(arn string, fn func(*account.OIDCProvider) error) (account.OIDCProvider, error) {
	return oidcProviders.update(tx, arn, fn)
}

// DeleteOIDCProvider deletes a provider.
func (tx *Tx) DeleteOIDCProvider(arn string) error { return oidcProviders.delete(tx, arn) }
