package store

import (
	"github.com/credbroker/credbroker/sts/account"
)

// serverCertRecord is a server certificate as stored: its private key sealed.
type serverCertRecord struct {
	account.ServerCertificate
	SealedKey []byte `json:"key"`
}

const (
	bServerCerts     = "servercerts"
	nServerCert      = 's' // name index kind
	purposeServerKey = "server-certificate-key"
)

// UploadServerCertificate stores c (Name, Path default "/", Body, Chain, Expiration,
// Tags and PrivateKey, already checked to match) with its private key sealed. An
// account has at most twenty.
func (tx *Tx) UploadServerCertificate(c account.ServerCertificate) (account.ServerCertificate, error) {
	if err := tx.checkWritable(); err != nil {
		return account.ServerCertificate{}, err
	}
	if len(c.PrivateKey) == 0 {
		return account.ServerCertificate{}, account.Errorf(account.InvalidInput, "A server certificate needs its private key.")
	}
	rec := serverCertRecord{ServerCertificate: c}
	rec.ID = "" // always a new id
	if err := serverCerts.claim(tx, &rec, tx.checkServerCertQuota); err != nil {
		return account.ServerCertificate{}, err
	}
	sealed, err := tx.s.sealer.seal(purposeServerKey, rec.ID, c.PrivateKey)
	if err != nil {
		return account.ServerCertificate{}, err
	}
	rec.Uploaded = tx.createdAt(rec.Uploaded)
	rec.PrivateKey, rec.SealedKey = nil, sealed
	if err := serverCerts.insert(tx, rec); err != nil {
		return account.ServerCertificate{}, err
	}
	rec.ARN = account.ServerCertificateARN(tx.s.accountID, rec.Path, rec.Name)
	return rec.ServerCertificate, nil
}

// checkServerCertQuota refuses a new server certificate when the account has its quota.
func (tx *Tx) checkServerCertQuota() error {
	n, err := tx.count(bNames, []byte{nServerCert, '/'})
	if err != nil || n < account.MaxServerCertificatesPerAccount {
		return err
	}
	return limitExceeded("Cannot exceed quota for ServerCertificatesPerAccount: %d", account.MaxServerCertificatesPerAccount)
}

// ServerCertificate returns the server certificate called name, without its private key.
func (tx *Tx) ServerCertificate(name string) (account.ServerCertificate, error) {
	rec, err := serverCerts.byName(tx, name)
	return rec.ServerCertificate, err
}

// ServerCertificatePrivateKey returns the certificate's private key (PKCS #8 DER). No
// IAM call returns it; it is for the core's own TLS use and for Check.
func (tx *Tx) ServerCertificatePrivateKey(name string) ([]byte, error) {
	rec, err := serverCerts.byName(tx, name)
	if err != nil {
		return nil, err
	}
	return tx.s.sealer.open(purposeServerKey, rec.ID, rec.SealedKey)
}

// ServerCertificates lists the certificates whose path starts with pathPrefix, by name.
func (tx *Tx) ServerCertificates(pathPrefix string, p Page) ([]account.ServerCertificate, string, error) {
	return listNamed(tx, serverCerts, pathPrefix, p, func(rec serverCertRecord) (account.ServerCertificate, bool, error) {
		return rec.ServerCertificate, true, nil
	})
}

// UpdateServerCertificate renames the certificate name and/or moves it to newPath (""
// keeps either), keeping the name index in step in the same transaction.
func (tx *Tx) UpdateServerCertificate(name, newName, newPath string) (account.ServerCertificate, error) {
	rec, err := change(tx, serverCerts.named(tx), name)
	if err != nil {
		return account.ServerCertificate{}, err
	}
	next := rec
	if newPath != "" {
		next.Path = newPath
	}
	if newName != "" {
		next.Name = newName
	}
	if err := next.Validate(); err != nil {
		return account.ServerCertificate{}, err
	}
	if next.Name != rec.Name {
		if err := serverCerts.rename(tx, rec.ID, rec.Name, next.Name); err != nil {
			return account.ServerCertificate{}, err
		}
	}
	if err := serverCerts.save(tx, next); err != nil {
		return account.ServerCertificate{}, err
	}
	next.ARN = account.ServerCertificateARN(tx.s.accountID, next.Path, next.Name)
	return next.ServerCertificate, nil
}

// DeleteServerCertificate deletes the certificate name and its sealed key.
func (tx *Tx) DeleteServerCertificate(name string) error {
	rec, err := change(tx, serverCerts.named(tx), name)
	if err != nil {
		return err
	}
	return serverCerts.remove(tx, rec)
}
