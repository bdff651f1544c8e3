package iamapi

import (
	"context"
	"encoding/base32"
	"io"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/saml"
	"github.com/credbroker/credbroker/sts/store"
)

// SAML providers: the metadata document is parsed and checked (package saml) when it
// is set, and kept as given; AssumeRoleWithSAML verifies responses with the signing
// certificates it names. Assertion encryption (AssertionEncryptionMode, private keys)
// is not served: such a request is refused.

// readMetadata parses the SAMLMetadataDocument parameter; IAM answers a document it
// cannot use with InvalidInput.
func readMetadata(c *sts.Call) (string, *saml.Metadata, error) {
	doc := c.Params.String("SAMLMetadataDocument")
	md, err := saml.ParseMetadata([]byte(doc))
	if err != nil {
		se, _ := err.(*saml.Error)
		msg := "Could not parse metadata"
		if se != nil {
			msg = se.Message
		}
		return "", nil, account.Errorf(account.InvalidInput, "%s", msg)
	}
	return doc, md, nil
}

// noEncryption refuses the assertion encryption parameters.
func noEncryption(c *sts.Call) error {
	for _, p := range []string{"AssertionEncryptionMode", "AddPrivateKey", "RemovePrivateKey"} {
		if c.Params.Has(p) {
			return account.Errorf(account.InvalidInput, "%s is not supported by this IAM endpoint: it does not decrypt SAML assertions.", p)
		}
	}
	return nil
}

// samlUUID is a provider's SAMLProviderUUID: 26 characters of [A-Z2-7].
func samlUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]), nil
}

type createSAMLResult struct {
	SAMLProviderArn string           `xml:"SAMLProviderArn"`
	Tags            *members[tagXML] `xml:"Tags,omitempty"`
}

func (a *API) createSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	name := c.Params.String("Name")
	tags := readTags(c.Params, "Tags")
	arn := account.SAMLProviderARN(c.AccountID(), name)
	if err := authorizeCreate(c, "iam:CreateSAMLProvider", "iam:TagSAMLProvider", arn, tags); err != nil {
		return nil, err
	}
	if err := noEncryption(c); err != nil {
		return nil, err
	}
	doc, md, err := readMetadata(c)
	if err != nil {
		return nil, err
	}
	id, err := samlUUID(c.Rand())
	if err != nil {
		return nil, err
	}
	p := account.SAMLProvider{Name: name, Metadata: doc, UUID: id, ValidUntil: md.ValidUntil, Tags: tags}
	p, err = updated(ctx, c, func(tx *store.Tx) (account.SAMLProvider, error) { return tx.CreateSAMLProvider(p) })
	if err != nil {
		return nil, err
	}
	return &createSAMLResult{SAMLProviderArn: p.ARN, Tags: optList(tagsXML(p.Tags))}, nil
}

// loadSAML reads the provider SAMLProviderArn and authorizes action on it.
func loadSAML(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.SAMLProvider, error) {
	return loadByARN(ctx, c, action, "SAMLProviderArn", (*store.Tx).SAMLProvider,
		func(p account.SAMLProvider) target { return target{arn: p.ARN, tags: p.Tags} }, opts...)
}

type getSAMLResult struct {
	SAMLProviderUUID     string           `xml:"SAMLProviderUUID"`
	SAMLMetadataDocument string           `xml:"SAMLMetadataDocument"`
	CreateDate           query.Timestamp  `xml:"CreateDate"`
	ValidUntil           query.Timestamp  `xml:"ValidUntil"`
	Tags                 *members[tagXML] `xml:"Tags,omitempty"`
}

func (a *API) getSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadSAML(ctx, c, "iam:GetSAMLProvider")
	if err != nil {
		return nil, err
	}
	return &getSAMLResult{SAMLProviderUUID: p.UUID, SAMLMetadataDocument: p.Metadata, CreateDate: ts(p.Created),
		ValidUntil: ts(p.ValidUntil), Tags: optList(tagsXML(p.Tags))}, nil
}

type samlEntryXML struct {
	ARN        string          `xml:"Arn"`
	ValidUntil query.Timestamp `xml:"ValidUntil"`
	CreateDate query.Timestamp `xml:"CreateDate"`
}

func (a *API) listSAMLProviders(ctx context.Context, c *sts.Call) (any, error) {
	ps, err := viewAuthorized(ctx, c, "iam:ListSAMLProviders", (*store.Tx).SAMLProviders)
	if err != nil {
		return nil, err
	}
	return one("SAMLProviderList", list(render(ps, func(p account.SAMLProvider) samlEntryXML {
		return samlEntryXML{ARN: p.ARN, ValidUntil: ts(p.ValidUntil), CreateDate: ts(p.Created)}
	}))), nil
}

func (a *API) updateSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadSAML(ctx, c, "iam:UpdateSAMLProvider")
	if err != nil {
		return nil, err
	}
	if err := noEncryption(c); err != nil {
		return nil, err
	}
	if !c.Params.Has("SAMLMetadataDocument") {
		return one("SAMLProviderArn", p.ARN), nil
	}
	doc, md, err := readMetadata(c)
	if err != nil {
		return nil, err
	}
	err = updateSAML(ctx, c, p, func(sp *account.SAMLProvider) error {
		sp.Metadata, sp.ValidUntil = doc, md.ValidUntil
		if sp.ValidUntil.IsZero() {
			sp.ValidUntil = sp.Created.Add(account.SAMLProviderValidity)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return one("SAMLProviderArn", p.ARN), nil
}

// updateSAML applies fn to the provider p in a store update.
func updateSAML(ctx context.Context, c *sts.Call, p account.SAMLProvider, fn func(*account.SAMLProvider) error) error {
	return update(ctx, c, func(tx *store.Tx) error {
		_, err := tx.UpdateSAMLProvider(p.ARN, fn)
		return err
	})
}

func (a *API) deleteSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	return changeLoaded(ctx, c, loadSAML, "iam:DeleteSAMLProvider", func(tx *store.Tx, p account.SAMLProvider) error { return tx.DeleteSAMLProvider(p.ARN) })
}

func (a *API) tagSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	tags := readTags(c.Params, "Tags")
	p, err := loadSAML(ctx, c, "iam:TagSAMLProvider", requestTagOpts(tags)...)
	if err != nil {
		return nil, err
	}
	return ok(updateSAML(ctx, c, p, func(sp *account.SAMLProvider) error {
		var err error
		sp.Tags, err = sp.Tags.Merge(tags)
		return err
	}))
}

func (a *API) untagSAMLProvider(ctx context.Context, c *sts.Call) (any, error) {
	keys := c.Params.Strings("TagKeys")
	p, err := loadSAML(ctx, c, "iam:UntagSAMLProvider", untagOpts(keys))
	if err != nil {
		return nil, err
	}
	return ok(updateSAML(ctx, c, p, func(sp *account.SAMLProvider) error {
		sp.Tags = sp.Tags.Without(keys)
		return nil
	}))
}

func (a *API) listSAMLProviderTags(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadSAML(ctx, c, "iam:ListSAMLProviderTags")
	if err != nil {
		return nil, err
	}
	return tagsPage(p.Tags, c)
}
