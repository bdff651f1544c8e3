package broker

import (
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
	role        string
	sessionName string
	keyID       string
	expires     time.Time
}

// auditor writes one line per credential handed out. The caller's uid is
// known at once; its pid, executable and unit cost a /proc scan, so they
// are looked up by a goroutine, off the request's path (when the rules
// needed them they are already known, and free). When that goroutine falls
// behind, the line is written at once without them: never dropped, never
// holding up a request.
type auditor struct {
	log  hclog.Logger
	ch   chan auditRecord
	done chan struct{}

	mu     sync.RWMutex // guards sends against close
	closed bool
}

func newAuditor(log hclog.Logger) *auditor {
	a := &auditor{log: log, ch: make(chan auditRecord, 256), done: make(chan struct{})}
	go a.run()
	return a
}

func (a *auditor) served(ep string, c Caller, bd *binding, creds aws.Credentials) {
	if !a.log.IsInfo() {
		return
	}
	rec := auditRecord{endpoint: ep, caller: c, role: bd.key.Role, sessionName: bd.sessionName,
		keyID: creds.AccessKeyID, expires: creds.Expires}
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
	for rec := range a.ch {
		a.write(rec, len(a.ch) < lookupBacklog)
	}
}

func (a *auditor) write(rec auditRecord, lookup bool) {
	c := rec.caller
	args := make([]any, 0, 20)
	args = append(args, "endpoint", rec.endpoint, "uid", c.UID())
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

// close writes what is queued and stops.
func (a *auditor) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
}
