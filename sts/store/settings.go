package store

import (
	"github.com/credbroker/credbroker/sts/account"
)

// SetSTSGlobalEndpointTokenVersion records SetSecurityTokenServicePreferences: 1
// (v1Token) or 2 (v2Token).
func (tx *Tx) SetSTSGlobalEndpointTokenVersion(v int) error {
	if v != 1 && v != 2 {
		return account.Errorf(account.InvalidInput, "GlobalEndpointTokenVersion %d is not 1 or 2.", v)
	}
	return tx.updateAccount(func(a *account.Account) error {
		a.STSGlobalEndpointTokenVersion = v
		return nil
	})
}

// SetOutboundWebIdentityIssuer enables outbound web identity federation with issuer, or
// disables it (issuer ""). Enabling it twice, or disabling it when it is off, is
// FeatureEnabled or FeatureDisabled, as IAM answers.
func (tx *Tx) SetOutboundWebIdentityIssuer(issuer string) error {
	return tx.updateAccount(func(a *account.Account) error {
		switch {
		case issuer != "" && a.OutboundWebIdentityIssuer != "":
			return account.Errorf(account.FeatureEnabled, "Outbound web identity federation is already enabled for this account.")
		case issuer == "" && a.OutboundWebIdentityIssuer == "":
			return account.Errorf(account.FeatureDisabled, "Outbound web identity federation is not enabled for this account.")
		}
		a.OutboundWebIdentityIssuer = issuer
		return nil
	})
}
