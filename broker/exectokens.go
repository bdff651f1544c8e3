package broker

import (
	"crypto/sha256"
	"fmt"
	"sync"
)

// MaxExecTokensPerUID bounds the exec tokens one uid holds at once: each
// costs the daemon a pidfd, and a local user must not run it out of file
// descriptors.
const MaxExecTokensPerUID = 128

// execWatches are the exec tokens' exit watches, by token digest (never
// the token), counted per uid. The zero value is ready to use.
type execWatches struct {
	mu     sync.Mutex
	m      map[[sha256.Size]byte]*execWatch
	perUID map[uint32]int
}

type execWatch struct {
	uid  uint32
	stop func() // nil until the watch has started
}

// reserve makes key's entry, if uid holds fewer than MaxExecTokensPerUID.
func (w *execWatches) reserve(key [sha256.Size]byte, uid uint32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.perUID[uid] >= MaxExecTokensPerUID {
		return fmt.Errorf("%w: uid %d holds %d exec tokens already (the most one uid may hold at once)", ErrNotAllowed, uid, MaxExecTokensPerUID)
	}
	if w.m == nil {
		w.m, w.perUID = map[[sha256.Size]byte]*execWatch{}, map[uint32]int{}
	}
	w.m[key] = &execWatch{uid: uid}
	w.perUID[uid]++
	return nil
}

// started records key's watch; false when the entry is gone already (the
// process exited, and gone ran, before the watch was recorded).
func (w *execWatches) started(key [sha256.Size]byte, stop func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.m[key]
	if e == nil {
		return false
	}
	e.stop = stop
	return true
}

// take removes key's entry and stops its watch; it reports whether there
// was one.
func (w *execWatches) take(key [sha256.Size]byte) bool {
	w.mu.Lock()
	e := w.m[key]
	if e != nil {
		delete(w.m, key)
		if w.perUID[e.uid]--; w.perUID[e.uid] <= 0 {
			delete(w.perUID, e.uid)
		}
	}
	w.mu.Unlock()
	if e != nil && e.stop != nil {
		e.stop()
	}
	return e != nil
}

// stopAll ends every watch (the broker is closing).
func (w *execWatches) stopAll() {
	w.mu.Lock()
	keys := make([][sha256.Size]byte, 0, len(w.m))
	for k := range w.m {
		keys = append(keys, k)
	}
	w.mu.Unlock()
	for _, k := range keys {
		w.take(k)
	}
}
