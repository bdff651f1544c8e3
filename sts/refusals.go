package sts

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DefaultRefusalSummaryEvery is how often the counts of repeated refusals of
// unknown callers are written (Options.RefusalSummaryEvery).
const DefaultRefusalSummaryEvery = time.Minute

// refusalMaxSources bounds the sources counted apart in one interval: past it
// (a flood from many loopback addresses) the rest share source "*".
const refusalMaxSources = 1024

// refusalKey is what makes a refusal's line distinct: where it came from and
// what it was refused with.
type refusalKey struct{ src, code string }

// refusalAudit keeps the audit trail of refused requests that named no known
// caller (a bad or missing signature, an unknown key, a malformed request): the
// first refusal of a source address and error code in an interval is a full
// line; the rest are counted and written as one line ("requests refused again",
// with count) when the interval ends. A local flood of garbage then costs a line
// per source and code per interval, not one per request, so it cannot spend the
// journal's rate limit (systemd-journald drops a unit's lines past 10,000 in 30
// seconds) and hide the lines that matter after it. Every refusal is still
// accounted for, in lines and counts.
type refusalAudit struct {
	log   hclog.Logger
	every time.Duration

	mu    sync.Mutex
	seen  map[refusalKey]uint64 // refusals counted since the key's full line
	timer *time.Timer           // ends the interval; nil when nothing is seen
}

// note records a refusal from src with code, and reports whether it gets a full
// line (the first of its key in this interval).
func (a *refusalAudit) note(src, code string) (full bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := refusalKey{src, code}
	if _, ok := a.seen[k]; !ok && len(a.seen) >= refusalMaxSources {
		k.src = "*"
	}
	if n, ok := a.seen[k]; ok {
		a.seen[k] = n + 1
		return false
	}
	if a.seen == nil {
		a.seen = map[refusalKey]uint64{}
	}
	a.seen[k] = 0
	if a.timer == nil {
		a.timer = time.AfterFunc(a.every, a.flush)
	}
	return true
}

// flush ends the interval: a line for each key refused again, then a fresh start.
func (a *refusalAudit) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	keys := make([]refusalKey, 0, len(a.seen))
	for k, n := range a.seen {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y refusalKey) int { return cmp.Or(cmp.Compare(x.src, y.src), cmp.Compare(x.code, y.code)) })
	for _, k := range keys {
		a.log.Info("requests refused again", "source_ip", k.src, "error", k.code, "count", a.seen[k], "interval", a.every)
	}
	clear(a.seen)
}
