package iamapi

import (
	"context"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// Server certificates: the certificate, its chain and its private key checked to
// match on upload; the private key is sealed by the store and no call returns it.

type serverCertMetaXML struct {
	Path       string          `xml:"Path"`
	Name       string          `xml:"ServerCertificateName"`
	ID         string          `xml:"ServerCertificateId"`
	ARN        string          `xml:"Arn"`
	UploadDate query.Timestamp `xml:"UploadDate"`
	Expiration query.Timestamp `xml:"Expiration"`
}

func serverCertMeta(c account.ServerCertificate) serverCertMetaXML {
	return serverCertMetaXML{Path: c.Path, Name: c.Name, ID: c.ID, ARN: c.ARN, UploadDate: ts(c.Uploaded), Expiration: ts(c.Expiration)}
}

type uploadServerCertResult struct {
	ServerCertificateMetadata serverCertMetaXML `xml:"ServerCertificateMetadata"`
	Tags                      *members[tagXML]  `xml:"Tags,omitempty"`
}

func (a *API) uploadServerCertificate(ctx context.Context, c *sts.Call) (any, error) {
	sc := account.ServerCertificate{Name: c.Params.String("ServerCertificateName"), Path: pathParam(c.Params), Tags: readTags(c.Params, "Tags")}
	arn := account.ServerCertificateARN(c.AccountID(), sc.Path, sc.Name)
	if err := authorizeCreate(c, "iam:UploadServerCertificate", "iam:TagServerCertificate", arn, sc.Tags); err != nil {
		return nil, err
	}
	b, err := account.ParseServerCertificate(c.Params.String("CertificateBody"), c.Params.String("CertificateChain"),
		c.Params.String("PrivateKey"), c.Now)
	if err != nil {
		return nil, err
	}
	defer clear(b.PrivateKey)
	sc.Body, sc.Expiration, sc.PrivateKey = account.NormalizedPEM(b.Cert), b.Cert.NotAfter.UTC(), b.PrivateKey
	var chain strings.Builder
	for _, x := range b.Chain {
		chain.WriteString(account.NormalizedPEM(x))
	}
	sc.Chain = chain.String()
	sc, err = updated(ctx, c, func(tx *store.Tx) (account.ServerCertificate, error) { return tx.UploadServerCertificate(sc) })
	if err != nil {
		return nil, err
	}
	return &uploadServerCertResult{ServerCertificateMetadata: serverCertMeta(sc), Tags: optList(tagsXML(sc.Tags))}, nil
}

// loadServerCert reads the certificate ServerCertificateName and authorizes action on it.
func loadServerCert(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.ServerCertificate, error) {
	name := c.Params.String("ServerCertificateName")
	return loaded(ctx, c, action, account.ServerCertificateARN(c.AccountID(), "/", name),
		func(tx *store.Tx) (account.ServerCertificate, error) { return tx.ServerCertificate(name) },
		func(sc account.ServerCertificate) target { return target{arn: sc.ARN, tags: sc.Tags} }, opts...)
}

type serverCertXML struct {
	ServerCertificateMetadata serverCertMetaXML `xml:"ServerCertificateMetadata"`
	CertificateBody           string            `xml:"CertificateBody"`
	CertificateChain          string            `xml:"CertificateChain,omitempty"`
	Tags                      *members[tagXML]  `xml:"Tags,omitempty"`
}

func (a *API) getServerCertificate(ctx context.Context, c *sts.Call) (any, error) {
	sc, err := loadServerCert(ctx, c, "iam:GetServerCertificate")
	if err != nil {
		return nil, err
	}
	return one("ServerCertificate", serverCertXML{ServerCertificateMetadata: serverCertMeta(sc),
		CertificateBody: sc.Body, CertificateChain: sc.Chain, Tags: optList(tagsXML(sc.Tags))}), nil
}

func (a *API) listServerCertificates(ctx context.Context, c *sts.Call) (any, error) {
	if err := c.Authorize("iam:ListServerCertificates", "*"); err != nil {
		return nil, err
	}
	return viewByPrefix(ctx, c, "ServerCertificateMetadataList", (*store.Tx).ServerCertificates, serverCertMeta)
}

// updateServerCertificate renames or moves a certificate; the caller needs
// iam:UpdateServerCertificate on both the old and the new ARN, as IAM requires.
func (a *API) updateServerCertificate(ctx context.Context, c *sts.Call) (any, error) {
	sc, err := loadServerCert(ctx, c, "iam:UpdateServerCertificate")
	if err != nil {
		return nil, err
	}
	newName, newPath := c.Params.String("NewServerCertificateName"), c.Params.String("NewPath")
	to := movedARN(c, account.ServerCertificateARN, sc.Path, sc.Name, newPath, newName)
	if err := c.Authorize("iam:UpdateServerCertificate", to, tagOpts(sc.Tags)...); err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateServerCertificate(sc.Name, newName, newPath)
		return err
	}))
}

func (a *API) deleteServerCertificate(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadServerCert, "iam:DeleteServerCertificate",
		func(tx *store.Tx, sc account.ServerCertificate) error { return tx.DeleteServerCertificate(sc.Name) })
}
