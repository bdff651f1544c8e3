package store

import "github.com/credbroker/credbroker/sts/account"

// Summary counts the account's entities, for GetAccountSummary's SummaryMap.
type Summary struct {
	Users, Groups, Roles, Policies, InstanceProfiles int
	MFADevices, MFADevicesInUse                      int
	Providers                                        int // identity providers: OIDC and SAML
	PolicyVersionsInUse                              int // versions of policies that are attached
	AccessKeys                                       int
	ServerCertificates                               int
}

// Summary counts entities by walking indexes; it decodes no entity.
func (tx *Tx) Summary() (Summary, error) {
	var sum Summary
	steps := []struct {
		bucket string
		prefix []byte
		n      *int
	}{
		{bNames, []byte{nUser, '/'}, &sum.Users},
		{bNames, []byte{nGroup, '/'}, &sum.Groups},
		{bNames, []byte{nRole, '/'}, &sum.Roles},
		{bNames, []byte{nPolicy, '/'}, &sum.Policies},
		{bNames, []byte{nProfile, '/'}, &sum.InstanceProfiles},
		{bMFA, nil, &sum.MFADevices},
		{bRel, relKey(rUserMFA, "", "")[:len(rUserMFA)+1], &sum.MFADevicesInUse},
		{bOIDC, nil, &sum.Providers},
		{bSAML, nil, &sum.Providers},
		{bKeys, nil, &sum.AccessKeys},
		{bNames, []byte{nServerCert, '/'}, &sum.ServerCertificates},
	}
	for _, st := range steps {
		n, err := tx.count(st.bucket, st.prefix)
		*st.n += n // Providers counts two buckets
		if err != nil {
			return sum, err
		}
	}
	// Versions of attached customer managed policies.
	attached := map[string]bool{}
	prefix := []byte(rAttached + "\x00")
	err := tx.kv.Scan(bRel, prefix, nil, func(k, _ []byte) bool {
		rest := k[len(prefix):]
		for i, c := range rest {
			if c == relSeparator {
				attached[string(rest[:i])] = true
				break
			}
		}
		return true
	})
	if err != nil {
		return sum, err
	}
	for arn := range attached {
		vs, err := tx.PolicyVersions(arn)
		if err == nil {
			sum.PolicyVersionsInUse += len(vs)
		} else if !isCode(err, account.NoSuchEntity) {
			return sum, err
		}
	}
	return sum, nil
}
