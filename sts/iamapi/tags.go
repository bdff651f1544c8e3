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

// taggable is load as a tagLoader: of names the loaded entity and its tags.
func taggable[T any](load loader[T], of func(T) tagged) tagLoader {
	return func(ctx context.Context, c *sts.Call, action string, opts ...sts.AuthzOption) (tagged, error) {
		v, err := load(ctx, c, action, opts...)
		return of(v), err
	}
}

// tagLoaders are the tag loaders of the entities whose tags TagResource changes, by
// the noun of their tag actions.
var tagLoaders = map[string]tagLoader{
	"User": taggable(loadNamedUser, func(u account.User) tagged { return tagged{account.UserRef(u.Name), u.Tags} }),
	"Role": taggable(loadRole, func(r account.Role) tagged { return tagged{account.RoleRef(r.Name), r.Tags} }),
	"InstanceProfile": taggable(loadProfile, func(p account.InstanceProfile) tagged {
		return tagged{account.InstanceProfileRef(p.Name), p.Tags}
	}),
	"OpenIDConnectProvider": taggable(loadOIDC, func(p account.OIDCProvider) tagged { return tagged{account.OIDCProviderRef(p.ARN), p.Tags} }),
	"MFADevice":             taggable(loadMFA, func(d account.VirtualMFADevice) tagged { return tagged{account.MFADeviceRef(d.Serial), d.Tags} }),
	"ServerCertificate": taggable(loadServerCert, func(sc account.ServerCertificate) tagged {
		return tagged{account.ServerCertificateRef(sc.Name), sc.Tags}
	}),
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
