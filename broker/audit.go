package broker

import (
	"net/netip"
	"reflect"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/go-hclog"
)

// processCaller is what the audit log reads of a caller's process, when the
// caller can tell (*peer.Caller can).
type processCaller interface {
	Exe() (string, error)
	Unit() (string, error)
}

// auditRecord is one credential handed out.
type auditRecord struct {
	endpoint    string
	caller      Caller
	client      netip.AddrPort // the client socket's address (TCP endpoints)
	role        string
	sessionName string
	keyID       string
	expires     time.Time
}

// auditKey is what makes an audit line distinct: the endpoint, the caller
// (one per client connection: a *peer.Caller) and the session.
type auditKey struct {
	endpoint string
	caller   Caller
	role     string
	keyID    string
}

// auditCount counts the credentials handed out again under one key since
// its line (or its last summary).
type auditCount struct {
	rec   auditRecord
	first time.Time
	n     uint64 // guarded by auditor.seenMu while the count is in auditor.seen
}

// Audit trail defaults.
const (
	// DefaultAuditSummaryEvery is how often the repeats are summed up.
	DefaultAuditSummaryEvery = time.Minute
	// auditMaxKeys: with this many distinct keys seen since the last
	// summary, the summary is written early (memory stays bounded under a
	// storm of new connections).
	auditMaxKeys = 4096
)

// auditor keeps the audit trail: the first credential a caller (one client
// connection) gets from a session is one line, in full ("credentials
// handed out": uid, pid, executable, unit, role, session name, access key
// id, expiry); more from the same session on the same connection are
// counted, and every summary interval (and at close) each such count is one
// line ("credentials handed out again", with count). After a summary, the
// next credential of a key is a full line again. So every credential is
// accounted for, in the log's lines and counts (and in the metrics'
// credbroker_credentials_served_total), at the cost of a line per
// connection and session, not per request. Both lines name the client
// socket's address (client) on the TCP endpoints, which ties a summary to
// its first line.
//
// The caller's uid is known at once; its pid, executable and unit cost a
// /proc scan, so they are looked up by a goroutine, off the request's
// path. When that goroutine falls behind, the line is written at once
// without them: never dropped, never holding up a request.
type auditor struct {
	log   hclog.Logger
	every time.Duration
	now   func() time.Time
	ch    chan auditRecord
	done  chan struct{}

	seenMu sync.Mutex
	seen   map[auditKey]*auditCount
	flush  chan struct{} // asks run for an early summary

	mu     sync.RWMutex // guards sends against close
	closed bool
}

func newAuditor(log hclog.Logger, every time.Duration, now func() time.Time) *auditor {
	if every <= 0 {
		every = DefaultAuditSummaryEvery
	}
	a := &auditor{log: log, every: every, now: now, ch: make(chan auditRecord, 256), done: make(chan struct{}),
		seen: map[auditKey]*auditCount{}, flush: make(chan struct{}, 1)}
	go a.run()
	return a
}

func (a *auditor) served(ep string, c Caller, client netip.AddrPort, bd *binding, creds aws.Credentials) {
	if !a.log.IsInfo() {
		return
	}
	if c != nil && reflect.TypeOf(c).Comparable() {
		k := auditKey{endpoint: ep, caller: c, role: bd.key.Role, keyID: creds.AccessKeyID}
		a.seenMu.Lock()
		if n := a.seen[k]; n != nil {
			n.n++ // under the lock: a summary swapping the map sees it or the next one does
			a.seenMu.Unlock()
			return
		}
		rec := auditRecord{endpoint: ep, caller: c, client: client, role: bd.key.Role, sessionName: bd.sessionName,
			keyID: creds.AccessKeyID, expires: creds.Expires}
		a.seen[k] = &auditCount{rec: rec, first: a.now()}
		full := len(a.seen) >= auditMaxKeys
		a.seenMu.Unlock()
		if full {
			select {
			case a.flush <- struct{}{}:
			default:
			}
		}
		a.send(rec)
		return
	}
	a.send(auditRecord{endpoint: ep, caller: c, client: client, role: bd.key.Role, sessionName: bd.sessionName,
		keyID: creds.AccessKeyID, expires: creds.Expires})
}

// send queues rec's line for the lookup goroutine, or writes it at once.
func (a *auditor) send(rec auditRecord) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.write(rec, false)
		return
	}
	select {
	case a.ch <- rec:
	default:
		a.write(rec, false)
	}
}

// lookupBacklog: with more lines than this waiting, lines are written
// without the process lookup (a /proc scan, a few milliseconds) until the
// queue drains, so a storm of credential requests cannot make the daemon
// spend its CPU scanning /proc. At the pace SDKs fetch credentials (about
// once an hour per process) every line has its lookup.
const lookupBacklog = 8

func (a *auditor) run() {
	defer close(a.done)
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		select {
		case rec, ok := <-a.ch:
			if !ok {
				a.summarize()
				return
			}
			a.write(rec, len(a.ch) < lookupBacklog)
		case <-t.C:
			a.summarize()
		case <-a.flush:
			a.summarize()
		}
	}
}

// summarize writes one line per key handed out again since its line, and
// forgets every key.
func (a *auditor) summarize() {
	a.seenMu.Lock()
	seen := a.seen
	a.seen = make(map[auditKey]*auditCount, len(seen))
	a.seenMu.Unlock()
	now := a.now()
	for _, c := range seen {
		n := c.n
		if n == 0 {
			continue
		}
		args := []any{"endpoint", c.rec.endpoint, "uid", c.rec.caller.UID()}
		if c.rec.client.IsValid() {
			args = append(args, "client", c.rec.client.String())
		}
		a.log.Info("credentials handed out again", append(args, "role", c.rec.role, "session_name", c.rec.sessionName, "access_key_id", c.rec.keyID,
			"count", n, "since", c.first.UTC().Format(time.RFC3339), "until", now.UTC().Format(time.RFC3339))...)
	}
}

func (a *auditor) write(rec auditRecord, lookup bool) {
	c := rec.caller
	args := make([]any, 0, 20)
	args = append(args, "endpoint", rec.endpoint, "uid", c.UID())
	if rec.client.IsValid() {
		args = append(args, "client", rec.client.String())
	}
	if lookup {
		if pid, err := c.PID(); err == nil {
			args = append(args, "pid", pid)
			if pc, ok := c.(processCaller); ok {
				if exe, err := pc.Exe(); err == nil {
					args = append(args, "exe", exe)
				}
				if unit, err := pc.Unit(); err == nil && unit != "" {
					args = append(args, "unit", unit)
				}
			}
		} else {
			args = append(args, "pid", "unknown")
		}
	} else {
		args = append(args, "pid", "not looked up (busy)")
	}
	args = append(args, "role", rec.role, "session_name", rec.sessionName, "access_key_id", rec.keyID,
		"expires", rec.expires.UTC().Format(time.RFC3339))
	a.log.Info("credentials handed out", args...)
}

// close writes what is queued and the last summary, and stops.
func (a *auditor) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}
