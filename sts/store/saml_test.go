package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/clocktest"
)

func TestRedeemSAMLAssertion(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, c *clocktest.Clock) {
		ctx := context.Background()
		redeem := func(key string, until time.Time) bool {
			t.Helper()
			var fresh bool
			if err := s.Update(ctx, func(tx *Tx) error {
				var err error
				fresh, err = tx.RedeemSAMLAssertion(key, until, c.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return fresh
		}
		gen := s.Generation()
		if !redeem("idp\x00a1", c.Now().Add(time.Minute)) || redeem("idp\x00a1", c.Now().Add(time.Minute)) {
			t.Fatal("an assertion is redeemed once")
		}
		if !redeem("other\x00a1", c.Now().Add(time.Minute)) {
			t.Error("the same ID of another issuer is another assertion")
		}
		for i := 0; i < 100; i++ {
			redeem(fmt.Sprintf("idp\x00old%d", i), c.Now().Add(time.Second))
		}
		c.Advance(2 * time.Minute)
		if !redeem("idp\x00a1", c.Now().Add(time.Minute)) {
			t.Error("an expired record still refuses")
		}
		redeem("idp\x00b", c.Now().Add(time.Minute))
		var n int
		view(t, s, func(tx *Tx) (err error) { n, err = tx.count(bSAMLRedeemed, nil); return err })
		if n != 2 { // a1 again and b: two redemptions pruned the 102 expired records
			t.Errorf("%d records left: expired ones are not pruned", n)
		}
		if s.Generation() != gen {
			t.Error("redeeming moved the generation (it would drop the core's caches)")
		}
	})
}
