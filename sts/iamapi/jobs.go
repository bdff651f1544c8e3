package iamapi

import (
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts/account"
)

// jobs holds the reports of IAM's asynchronous "generate, then get" calls
// (GenerateServiceLastAccessedDetails, GenerateOrganizationsAccessReport). The core
// makes a report at once, so a job is complete when its id is returned; reports are
// kept in memory for jobTTL (and lost on restart, like the credential report).
type jobs struct {
	mu   sync.Mutex
	byID map[string]job
}

const (
	jobTTL  = 4 * time.Hour
	maxJobs = 1000
)

// job is one report; kind tells which Get… call reads it.
type job struct {
	kind    string
	created time.Time
	report  any
}

// put keeps report under id (the generating request's id, a UUID as AWS's job ids),
// dropping expired jobs and, past maxJobs, the oldest.
func (j *jobs) put(id, kind string, now time.Time, report any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byID == nil {
		j.byID = map[string]job{}
	}
	oldestID, oldest := "", now
	for k, v := range j.byID {
		if now.Sub(v.created) > jobTTL {
			delete(j.byID, k)
		} else if v.created.Before(oldest) || oldestID == "" {
			oldestID, oldest = k, v.created
		}
	}
	if len(j.byID) >= maxJobs {
		delete(j.byID, oldestID)
	}
	j.byID[id] = job{kind: kind, created: now, report: report}
}

// get returns the report of job id of kind, or IAM's error for an unknown job id.
func (j *jobs) get(id, kind string, now time.Time) (any, time.Time, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.byID[id]
	if !ok || v.kind != kind || now.Sub(v.created) > jobTTL {
		return nil, time.Time{}, account.Errorf(account.NoSuchEntity, "The job with id %s cannot be found.", quoteName(id))
	}
	return v.report, v.created, nil
}
