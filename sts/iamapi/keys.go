package iamapi

import (
	"context"
	"errors"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

type accessKeyXML struct {
	UserName        string          `xml:"UserName,omitempty"`
	AccessKeyID     string          `xml:"AccessKeyId"`
	Status          string          `xml:"Status"`
	SecretAccessKey string          `xml:"SecretAccessKey,omitempty"`
	CreateDate      query.Timestamp `xml:"CreateDate"`
}

func keyOf(k account.AccessKey) accessKeyXML {
	x := accessKeyXML{UserName: k.UserName, AccessKeyID: k.ID, Status: string(k.Status), CreateDate: ts(k.Created)}
	if k.UserName == account.RootUserName {
		x.UserName = ""
	}
	return x
}

// createAccessKey makes a key for the user named, or the caller's own. Its secret is
// in this response only: the store keeps it encrypted and never returns it again.
func (a *API) createAccessKey(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:CreateAccessKey")
	if err != nil {
		return nil, err
	}
	k, err := updated(ctx, c, func(tx *store.Tx) (account.AccessKey, error) { return tx.CreateAccessKey(u.Name) })
	if err != nil {
		return nil, err
	}
	x := keyOf(k)
	x.SecretAccessKey = k.Secret
	return one("AccessKey", x), nil
}

func (a *API) listAccessKeys(ctx context.Context, c *sts.Call) (any, error) {
	u, err := loadUserOrSelf(ctx, c, "iam:ListAccessKeys")
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, "AccessKeyMetadata", func(tx *store.Tx) ([]account.AccessKey, error) { return tx.AccessKeys(u.Name) }, keyOf)
}

// ownKey authorizes action on the user named (or the caller) and checks that the key
// AccessKeyId is that user's. A key of someone else is answered as one that does not
// exist, as IAM does.
func ownKey(ctx context.Context, c *sts.Call, action string) (string, error) {
	u, err := loadUserOrSelf(ctx, c, action)
	if err != nil {
		return "", err
	}
	id := c.Params.String("AccessKeyId")
	notFound := account.Errorf(account.NoSuchEntity, "The Access Key with id %s cannot be found.", id)
	err = view(ctx, c, func(tx *store.Tx) error {
		keys, err := tx.AccessKeys(u.Name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == id {
				return nil
			}
		}
		return notFound
	})
	return id, err
}

// updateAccessKey sets a key Active or Inactive. An inactive key stops authenticating
// at once: the core's key cache lives only as long as the store's generation.
func (a *API) updateAccessKey(ctx context.Context, c *sts.Call) (any, error) {
	id, err := ownKey(ctx, c, "iam:UpdateAccessKey")
	if err != nil {
		return nil, err
	}
	status := account.KeyStatus(c.Params.String("Status"))
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.UpdateAccessKey(id, status) }))
}

func (a *API) deleteAccessKey(ctx context.Context, c *sts.Call) (any, error) {
	id, err := ownKey(ctx, c, "iam:DeleteAccessKey")
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error { return tx.DeleteAccessKey(id) }))
}

type lastUsedXML struct {
	LastUsedDate *query.Timestamp `xml:"LastUsedDate,omitempty"`
	ServiceName  string           `xml:"ServiceName"`
	Region       string           `xml:"Region"`
}

type lastUsedResult struct {
	UserName          string      `xml:"UserName,omitempty"`
	AccessKeyLastUsed lastUsedXML `xml:"AccessKeyLastUsed"`
}

// getAccessKeyLastUsed answers for any key of the account, authorized on its owner.
// A key never used has ServiceName and Region "N/A", as IAM writes them.
func (a *API) getAccessKeyLastUsed(ctx context.Context, c *sts.Call) (any, error) {
	id := c.Params.String("AccessKeyId")
	k, err := viewed(ctx, c, func(tx *store.Tx) (account.AccessKey, error) { return tx.AccessKey(id) })
	if errors.Is(err, account.ErrNoSuchEntity) {
		// Nothing to name the owner by: decide on the account's users.
		if aerr := c.Authorize("iam:GetAccessKeyLastUsed", listARN(c, account.ResourceUser, "/")+"*"); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if _, err := loadUser(ctx, c, "iam:GetAccessKeyLastUsed", k.UserName); err != nil {
		return nil, err
	}
	r := &lastUsedResult{UserName: k.UserName, AccessKeyLastUsed: lastUsedXML{ServiceName: "N/A", Region: "N/A"}}
	if k.UserName == account.RootUserName {
		r.UserName = ""
	}
	if lu := k.LastUsed; !lu.Date.IsZero() {
		r.AccessKeyLastUsed = lastUsedXML{LastUsedDate: optTS(lu.Date), ServiceName: lu.Service, Region: lu.Region}
	}
	return r, nil
}
