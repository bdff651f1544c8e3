package broker

import (
	"context"

	"github.com/credbroker/credbroker/broker/session"
)

// KeyringChanged fetches again, at once, every session whose last fetch
// failed on the keyring (locked: needs-human; or unreachable), instead of
// leaving it to its slow retry: the keyring says it may be readable now
// (keystore.Store.Watch: a Secret Service collection was unlocked, the
// service started). It returns without waiting for the fetches.
func (b *Broker) KeyringChanged() {
	for _, bd := range *b.bindings.Load() {
		st := bd.sess.Status()
		if st.Failures == 0 || st.LastError == nil || st.State == session.StateClosed {
			continue
		}
		if c := st.LastError.Code; c == CodeKeyringLocked || c == CodeKeyringError {
			go bd.sess.Warm(context.Background())
		}
	}
}
