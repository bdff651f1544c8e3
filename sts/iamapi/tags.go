package iamapi

import (
	"context"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// tagged is an entity that carries tags, loaded and authorized for one action.
type tagged struct {
	ref  account.Ref
	tags account.Tags
}

// tagLoader reads the entity a Tag…/Untag…/List…Tags request names and authorizes
// action on it (with opts: the request's tag keys).
type tagLoader = loader[tagged]

// taggingOf returns the Tag…, Untag… and List…Tags handlers of an entity type
// (noun: "InstanceProfile", "MFADevice", …) that load loads.
func taggingOf(noun string, load tagLoader) map[string]sts.Handler {
	return map[string]sts.Handler{
		"Tag" + noun: func(ctx context.Context, c *sts.Call) (any, error) {
			tags := readTags(c.Params, "Tags")
			return changeLoaded(ctx, c, load, "iam:Tag"+noun, func(tx *store.Tx, e tagged) error { return tx.TagResource(e.ref, tags) },
				requestTagOpts(tags)...)
		},
		"Untag" + noun: func(ctx context.Context, c *sts.Call) (any, error) {
			keys := c.Params.Strings("TagKeys")
			return changeLoaded(ctx, c, load, "iam:Untag"+noun, func(tx *store.Tx, e tagged) error { return tx.UntagResource(e.ref, keys) },
				untagOpts(keys))
		},
		"List" + noun + "Tags": func(ctx context.Context, c *sts.Call) (any, error) {
			e, err := load(ctx, c, "iam:List"+noun+"Tags")
			if err != nil {
				return nil, err
			}
			return tagsPage(e.tags, c)
		},
	}
}

func loadUserTags(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
	u, err := loadNamedUser(ctx, c, action, opts...)
	return tagged{ref: account.UserRef(u.Name), tags: u.Tags}, err
}

func loadRoleTags(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
	r, err := loadRole(ctx, c, action, opts...)
	return tagged{ref: account.RoleRef(r.Name), tags: r.Tags}, err
}

func loadProfileTags(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
	p, err := loadProfile(ctx, c, action, opts...)
	return tagged{ref: account.InstanceProfileRef(p.Name), tags: p.Tags}, err
}

func loadOIDCTags(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
	p, err := loadOIDC(ctx, c, action, opts...)
	return tagged{ref: account.OIDCProviderRef(p.ARN), tags: p.Tags}, err
}

func loadMFATags(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
	d, err := loadMFA(ctx, c, action, opts...)
	return tagged{ref: account.MFADeviceRef(d.Serial), tags: d.Tags}, err
}

// loadMFA reads the virtual MFA device SerialNumber and authorizes action on it.
func loadMFA(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (account.VirtualMFADevice, error) {
	serial := c.Params.String("SerialNumber")
	return loaded(ctx, c, action, serial,
		func(tx *store.Tx) (account.VirtualMFADevice, error) {
			d, err := tx.VirtualMFADevice(serial)
			clear(d.Seed)
			d.Seed = nil
			return d, err
		},
		func(d account.VirtualMFADevice) target { return target{arn: d.Serial, tags: d.Tags} }, opts...)
}
