package store

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// bSAML holds the SAML providers by ARN.
const bSAML = "saml"

// CreateSAMLProvider creates a SAML provider (its ARN is derived from its name, as
// IAM's). The caller has parsed p.Metadata and set p.ValidUntil and p.UUID.
func (tx *Tx) CreateSAMLProvider(p account.SAMLProvider) (account.SAMLProvider, error) {
	arn := account.SAMLProviderARN(tx.s.accountID, p.Name)
	if err := samlProviders.claim(tx, &p, arn, exists("SAMLProvider %s already exists.", p.Name)); err != nil {
		return account.SAMLProvider{}, err
	}
	n, err := tx.count(bSAML, nil)
	if err != nil {
		return account.SAMLProvider{}, err
	}
	if n >= account.MaxSAMLProviders {
		return account.SAMLProvider{}, account.Errorf(account.LimitExceeded, "Cannot exceed quota for SAMLProvidersPerAccount: %d", account.MaxSAMLProviders)
	}
	p.Created = tx.createdAt(p.Created)
	if p.ValidUntil.IsZero() {
		p.ValidUntil = p.Created.Add(account.SAMLProviderValidity)
	}
	return p, tx.put(bSAML, []byte(p.ARN), p)
}

// SAMLProvider returns the provider arn.
func (tx *Tx) SAMLProvider(arn string) (account.SAMLProvider, error) {
	return samlProviders.get(tx, arn)
}

// SAMLProviders returns all SAML providers, by ARN.
func (tx *Tx) SAMLProviders() ([]account.SAMLProvider, error) { return samlProviders.all(tx) }

// UpdateSAMLProvider changes a provider's metadata (with its ValidUntil) or tags
// through fn; its name, ARN, UUID and creation date cannot change.
func (tx *Tx) UpdateSAMLProvider(arn string, fn func(*account.SAMLProvider) error) (account.SAMLProvider, error) {
	return samlProviders.update(tx, arn, fn)
}

// DeleteSAMLProvider deletes a provider.
func (tx *Tx) DeleteSAMLProvider(arn string) error { return samlProviders.delete(tx, arn) }

// SAMLAssertionRedeemed reports whether the assertion key (issuer and ID) was
// redeemed and its record has not expired at now, without redeeming it.
func (tx *Tx) SAMLAssertionRedeemed(key string, now time.Time) (bool, error) {
	var until time.Time
	ok, err := tx.get(bSAMLRedeemed, []byte(key), &until)
	return ok && now.Before(until), err
}

// bSAMLRedeemed holds the SAML assertions redeemed, by key, until they expire.
const bSAMLRedeemed = "saml-redeemed"

// maxRedeemedPrune bounds how many expired records one redemption deletes.
const maxRedeemedPrune = 64

// RedeemSAMLAssertion records that the assertion key (issuer and ID) was redeemed,
// to be refused until until; it reports false when the key was redeemed before and
// has not expired at now. The record outlives a restart, and does not move the
// store's generation. A few expired records are deleted on the way.
func (tx *Tx) RedeemSAMLAssertion(key string, until, now time.Time) (bool, error) {
	if err := tx.checkWritable(); err != nil {
		return false, err
	}
	var prev time.Time
	if ok, err := tx.get(bSAMLRedeemed, []byte(key), &prev); err != nil {
		return false, err
	} else if ok && now.Before(prev) {
		return false, nil
	}
	var expired [][]byte
	if err := tx.kv.Scan(bSAMLRedeemed, nil, nil, func(k, v []byte) bool {
		var t time.Time
		if json.Unmarshal(v, &t) == nil && !now.Before(t) {
			expired = append(expired, slices.Clone(k))
		}
		return len(expired) < maxRedeemedPrune
	}); err != nil {
		return false, err
	}
	for _, k := range expired {
		if err := tx.kv.Delete(bSAMLRedeemed, k); err != nil {
			return false, err
		}
	}
	return true, tx.putQuiet(bSAMLRedeemed, []byte(key), until.UTC())
}
