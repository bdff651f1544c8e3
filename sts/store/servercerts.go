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
	if c.Path == "" {
		c.Path = "/"
	}
	if err := c.Validate(); err != nil {
		return account.ServerCertificate{}, err
	}
	if len(c.PrivateKey) == 0 {
		return account.ServerCertificate{}, account.Errorf(account.InvalidInput, "A server certificate needs its private key.")
	}
	if id, err := tx.lookupName(nServerCert, c.Name); err != nil || id != "" {
		return account.ServerCertificate{}, orErr(err, exists("The Server Certificate with name %s already exists.", c.Name))
	}
	n := 0
	if err := tx.kv.Scan(bNames, []byte{nServerCert, '/'}, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
		return account.ServerCertificate{}, err
	}
	if n >= account.MaxServerCertificatesPerAccount {
		return account.ServerCertificate{}, limitExceeded("Cannot exceed quota for ServerCertificatesPerAccount: %d", account.MaxServerCertificatesPerAccount)
	}
	var err error
	if c.ID, err = tx.newID(account.PrefixServerCertificate, ""); err != nil {
		return account.ServerCertificate{}, err
	}
	sealed, err := tx.s.sealer.seal(purposeServerKey, c.ID, c.PrivateKey)
	if err != nil {
		return account.ServerCertificate{}, err
	}
	c.Uploaded = tx.createdAt(c.Uploaded)
	c.PrivateKey = nil
	if err := tx.put(bServerCerts, []byte(c.ID), serverCertRecord{ServerCertificate: c, SealedKey: sealed}); err != nil {
		return account.ServerCertificate{}, err
	}
	if err := tx.putRaw(bNames, nameKey(nServerCert, c.Name), []byte(c.ID)); err != nil {
		return account.ServerCertificate{}, err
	}
	c.ARN = account.ServerCertificateARN(tx.s.accountID, c.Path, c.Name)
	return c, nil
}

func (tx *Tx) serverCertRecord(name string) (*serverCertRecord, error) {
	id, err := tx.lookupName(nServerCert, name)
	if err != nil || id == "" {
		return nil, orErr(err, notFound("The Server Certificate with name %s cannot be found.", name))
	}
	return tx.serverCertRecordByID(id)
}

func (tx *Tx) serverCertRecordByID(id string) (*serverCertRecord, error) {
	var rec serverCertRecord
	ok, err := tx.get(bServerCerts, []byte(id), &rec)
	if err != nil || !ok {
		return nil, orErr(err, notFound("The Server Certificate with id %s cannot be found.", id))
	}
	rec.ARN = account.ServerCertificateARN(tx.s.accountID, rec.Path, rec.Name)
	return &rec, nil
}

// ServerCertificate returns the server certificate called name, without its private key.
func (tx *Tx) ServerCertificate(name string) (account.ServerCertificate, error) {
	rec, err := tx.serverCertRecord(name)
	if err != nil {
		return account.ServerCertificate{}, err
	}
	return rec.ServerCertificate, nil
}

// ServerCertificatePrivateKey returns the certificate's private key (PKCS #8 DER). No
// IAM call returns it; it is for the core's own TLS use and for Check.
func (tx *Tx) ServerCertificatePrivateKey(name string) ([]byte, error) {
	rec, err := tx.serverCertRecord(name)
	if err != nil {
		return nil, err
	}
	return tx.s.sealer.open(purposeServerKey, rec.ID, rec.SealedKey)
}

// ServerCertificates lists the certificates whose path starts with pathPrefix, by name.
func (tx *Tx) ServerCertificates(pathPrefix string, p Page) ([]account.ServerCertificate, string, error) {
	var out []account.ServerCertificate
	next, err := tx.listByName(nServerCert, p, func(id string) (bool, error) {
		rec, err := tx.serverCertRecordByID(id)
		if err != nil || !hasPathPrefix(rec.Path, pathPrefix) {
			return false, err
		}
		out = append(out, rec.ServerCertificate)
		return true, nil
	})
	return out, next, err
}

// UpdateServerCertificate renames the certificate name and/or moves it to newPath (""
// keeps either), keeping the name index in step in the same transaction.
func (tx *Tx) UpdateServerCertificate(name, newName, newPath string) (account.ServerCertificate, error) {
	if err := tx.checkWritable(); err != nil {
		return account.ServerCertificate{}, err
	}
	rec, err := tx.serverCertRecord(name)
	if err != nil {
		return account.ServerCertificate{}, err
	}
	next := *rec
	if newPath != "" {
		next.Path = newPath
	}
	if newName != "" {
		next.Name = newName
	}
	if err := next.Validate(); err != nil {
		return account.ServerCertificate{}, err
	}
	if nameKeyChanged := string(nameKey(nServerCert, next.Name)) != string(nameKey(nServerCert, rec.Name)); nameKeyChanged {
		if id, err := tx.lookupName(nServerCert, next.Name); err != nil || id != "" {
			return account.ServerCertificate{}, orErr(err, exists("The Server Certificate with name %s already exists.", next.Name))
		}
		if err := tx.del(bNames, nameKey(nServerCert, rec.Name)); err != nil {
			return account.ServerCertificate{}, err
		}
	}
	if err := tx.putRaw(bNames, nameKey(nServerCert, next.Name), []byte(rec.ID)); err != nil {
		return account.ServerCertificate{}, err
	}
	if err := tx.put(bServerCerts, []byte(rec.ID), next); err != nil {
		return account.ServerCertificate{}, err
	}
	next.ARN = account.ServerCertificateARN(tx.s.accountID, next.Path, next.Name)
	return next.ServerCertificate, nil
}

// DeleteServerCertificate deletes the certificate name and its sealed key.
func (tx *Tx) DeleteServerCertificate(name string) error {
	if err := tx.checkWritable(); err != nil {
		return err
	}
	rec, err := tx.serverCertRecord(name)
	if err != nil {
		return err
	}
	if err := tx.del(bNames, nameKey(nServerCert, rec.Name)); err != nil {
		return err
	}
	return tx.del(bServerCerts, []byte(rec.ID))
}
