package store

import (
	"slices"

	"github.com/credbroker/credbroker/sts/account"
)

// CreateOIDCProvider creates an OpenID Connect provider for p.URL (its ARN is derived
// from the URL, as IAM's).
func (tx *Tx) CreateOIDCProvider(p account.OIDCProvider) (account.OIDCProvider, error) {
	if err := tx.checkWritable(); err != nil {
		return account.OIDCProvider{}, err
	}
	if err := p.Validate(); err != nil {
		return account.OIDCProvider{}, err
	}
	p.ARN = account.OIDCProviderARN(tx.s.accountID, p.URL)
	if dup, err := tx.kv.Get(bOIDC, []byte(p.ARN)); err != nil || dup != nil {
		return account.OIDCProvider{}, orErr(err, exists("Provider with url %s already exists.", p.URL))
	}
	p.Created = tx.createdAt(p.Created)
	return p, tx.put(bOIDC, []byte(p.ARN), p)
}

// OIDCProvider returns the provider arn (see account.OIDCProviderARN to find it from an
// issuer URL).
func (tx *Tx) OIDCProvider(arn string) (account.OIDCProvider, error) {
	var p account.OIDCProvider
	ok, err := tx.get(bOIDC, []byte(arn), &p)
	if err != nil || !ok {
		return p, orErr(err, notFound("OpenIDConnect Provider not found for arn %s", arn))
	}
	p.ARN = arn
	return p, nil
}

// OIDCProviders returns all OpenID Connect providers, by ARN.
func (tx *Tx) OIDCProviders() ([]account.OIDCProvider, error) {
	var out []account.OIDCProvider
	var derr error
	err := tx.kv.Scan(bOIDC, nil, nil, func(k, _ []byte) bool {
		var p account.OIDCProvider
		p, derr = tx.OIDCProvider(string(k))
		out = append(out, p)
		return derr == nil
	})
	return out, orErr(err, derr)
}

// UpdateOIDCProvider changes a provider's client ids, thumbprints or tags through fn
// (AddClientIDTo…, RemoveClientIDFrom…, UpdateOpenIDConnectProviderThumbprint); its URL,
// ARN and creation date cannot change.
func (tx *Tx) UpdateOIDCProvider(arn string, fn func(*account.OIDCProvider) error) (account.OIDCProvider, error) {
	if err := tx.checkWritable(); err != nil {
		return account.OIDCProvider{}, err
	}
	p, err := tx.OIDCProvider(arn)
	if err != nil {
		return p, err
	}
	next := p
	next.ClientIDs, next.Thumbprints, next.Tags = slices.Clone(p.ClientIDs), slices.Clone(p.Thumbprints), slices.Clone(p.Tags)
	if err := fn(&next); err != nil {
		return p, err
	}
	next.URL, next.ARN, next.Created = p.URL, p.ARN, p.Created
	if err := next.Validate(); err != nil {
		return p, err
	}
	return next, tx.put(bOIDC, []byte(arn), next)
}

// DeleteOIDCProvider deletes a provider.
func (tx *Tx) DeleteOIDCProvider(arn string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	if _, err := tx.OIDCProvider(arn); err != nil {
		return err
	}
	return tx.del(bOIDC, []byte(arn))
}
