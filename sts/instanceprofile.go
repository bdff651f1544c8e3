package sts

import (
	"context"
	"errors"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// InstanceProfile names an instance profile as IMDS's iam/info reports it
// (InstanceProfileArn, InstanceProfileId).
type InstanceProfile struct {
	ARN, ID string
}

// InstanceProfileForRole returns the instance profile that holds the role roleARN
// (the first by name, should several), for the broker's IMDS iam/info; found is false
// when the role exists in no profile or not at all.
func (c *Core) InstanceProfileForRole(ctx context.Context, roleARN string) (p InstanceProfile, found bool, err error) {
	err = c.st.View(ctx, func(tx *store.Tx) error {
		r, err := tx.RoleByARN(roleARN)
		if err != nil {
			return err
		}
		ps, err := tx.InstanceProfilesForRole(r.Name)
		if err != nil || len(ps) == 0 {
			return err
		}
		p, found = InstanceProfile{ARN: ps[0].ARN, ID: ps[0].ID}, true
		return nil
	})
	if errors.Is(err, account.ErrNoSuchEntity) || errors.Is(err, account.ErrInvalidInput) {
		return InstanceProfile{}, false, nil
	}
	return p, found, err
}
