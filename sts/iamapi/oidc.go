package iamapi

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

type createOIDCResult struct {
	OpenIDConnectProviderArn string           `xml:"OpenIDConnectProviderArn"`
	Tags                     *members[tagXML] `xml:"Tags,omitempty"`
}

func (a *API) createOIDCProvider(ctx context.Context, c *sts.Call) (any, error) {
	p := account.OIDCProvider{URL: c.Params.String("Url"), ClientIDs: c.Params.Strings("ClientIDList"),
		Thumbprints: c.Params.Strings("ThumbprintList"), Tags: readTags(c.Params, "Tags")}
	arn := account.OIDCProviderARN(c.AccountID(), p.URL)
	if err := authorizeCreate(c, "iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", arn, p.Tags); err != nil {
		return nil, err
	}
	p, err := updated(ctx, c, func(tx *store.Tx) (account.OIDCProvider, error) { return tx.CreateOIDCProvider(p) })
	if err != nil {
		return nil, err
	}
	return &createOIDCResult{OpenIDConnectProviderArn: p.ARN, Tags: optList(tagsXML(p.Tags))}, nil
}

// loadOIDC reads the provider OpenIDConnectProviderArn and authorizes action on it.
func loadOIDC(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.OIDCProvider, error) {
	return loadByARN(ctx, c, action, "OpenIDConnectProviderArn", (*store.Tx).OIDCProvider,
		func(p account.OIDCProvider) target { return target{arn: p.ARN, tags: p.Tags} }, opts...)
}

type getOIDCResult struct {
	URL            string           `xml:"Url"`
	ClientIDList   members[string]  `xml:"ClientIDList"`
	ThumbprintList members[string]  `xml:"ThumbprintList"`
	CreateDate     query.Timestamp  `xml:"CreateDate"`
	Tags           *members[tagXML] `xml:"Tags,omitempty"`
}

// getOIDCProvider answers the URL without its scheme, as IAM does.
func (a *API) getOIDCProvider(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadOIDC(ctx, c, "iam:GetOpenIDConnectProvider")
	if err != nil {
		return nil, err
	}
	return &getOIDCResult{URL: strings.TrimPrefix(p.URL, "https://"), ClientIDList: list(p.ClientIDs),
		ThumbprintList: list(p.Thumbprints), CreateDate: ts(p.Created), Tags: optList(tagsXML(p.Tags))}, nil
}

type oidcEntryXML struct {
	ARN string `xml:"Arn"`
}

func (a *API) listOIDCProviders(ctx context.Context, c *sts.Call) (any, error) {
	ps, err := viewAuthorized(ctx, c, "iam:ListOpenIDConnectProviders", (*store.Tx).OIDCProviders)
	if err != nil {
		return nil, err
	}
	return one("OpenIDConnectProviderList", list(render(ps, func(p account.OIDCProvider) oidcEntryXML { return oidcEntryXML{ARN: p.ARN} }))), nil
}

// deleteOIDCProvider is idempotent, as AWS documents it: "it does not fail or
// return an error if you call the operation for a provider that does not
// exist" (once the caller may delete it).
func (a *API) deleteOIDCProvider(ctx context.Context, c *sts.Call) (any, error) {
	p, err := loadOIDC(ctx, c, "iam:DeleteOpenIDConnectProvider")
	if errors.Is(err, account.ErrNoSuchEntity) {
		return ok(nil)
	}
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteOIDCProvider(p.ARN) }))
}

// changeOIDC authorizes action on the provider and applies fn.
func changeOIDC(ctx context.Context, c *sts.Call, action string, fn func(*account.OIDCProvider) error) (any, error) {
	return changeLoaded(ctx, c, loadOIDC, action, func(tx *store.Tx, p account.OIDCProvider) error {
		_, err := tx.UpdateOIDCProvider(p.ARN, fn)
		return err
	})
}

func (a *API) addClientID(ctx context.Context, c *sts.Call) (any, error) {
	id := c.Params.String("ClientID")
	return changeOIDC(ctx, c, "iam:AddClientIDToOpenIDConnectProvider", func(p *account.OIDCProvider) error {
		if !slices.Contains(p.ClientIDs, id) {
			p.ClientIDs = append(p.ClientIDs, id)
		}
		return nil
	})
}

func (a *API) removeClientID(ctx context.Context, c *sts.Call) (any, error) {
	id := c.Params.String("ClientID")
	return changeOIDC(ctx, c, "iam:RemoveClientIDFromOpenIDConnectProvider", func(p *account.OIDCProvider) error {
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(x string) bool { return x == id })
		return nil
	})
}

func (a *API) updateThumbprint(ctx context.Context, c *sts.Call) (any, error) {
	tps := c.Params.Strings("ThumbprintList")
	return changeOIDC(ctx, c, "iam:UpdateOpenIDConnectProviderThumbprint", func(p *account.OIDCProvider) error {
		p.Thumbprints = tps
		return nil
	})
}
