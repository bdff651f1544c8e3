package rolesanywhere

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

// kindSubject is the kind of a subject: a certificate subject seen by CreateSession.
const kindSubject = "subject"

// maxSubjectCredentials bounds the certificates a subject remembers (the most
// recently seen).
const maxSubjectCredentials = 20

// subjectSummary is ListSubjects' view of a subject.
type subjectSummary struct {
	ARN         string    `json:"subjectArn"`
	ID          string    `json:"subjectId"`
	Enabled     bool      `json:"enabled"`
	X509Subject string    `json:"x509Subject"`
	LastSeenAt  time.Time `json:"lastSeenAt"`
	stamps
}

// credentialSummary is a certificate presented to CreateSession under a subject.
type credentialSummary struct {
	SeenAt              time.Time `json:"seenAt"`
	SerialNumber        string    `json:"serialNumber"`
	Issuer              string    `json:"issuer"`
	Enabled             bool      `json:"enabled"`
	X509CertificateData string    `json:"x509CertificateData"`
	Failed              bool      `json:"failed"`
}

// subject is GetSubject's view: the summary and the certificates seen. Instance
// properties (sent by AWS's helper on request only) are not recorded: always empty.
type subject struct {
	subjectSummary
	Credentials        []credentialSummary `json:"credentials"`
	InstanceProperties []struct{}          `json:"instanceProperties"`
}

var subjects = entityKind[subject]{kindSubject, "subjectId", "subject", "subjects",
	func(e *subject, on bool, now time.Time) { e.Enabled, e.UpdatedAt = on, now }}

// subjectLog collects what CreateSession saw and writes it to the store in one
// transaction at most every interval (a write changes the store's generation, which
// every cache of the core and of its replicas follows), and before GetSubject or
// ListSubjects read.
type subjectLog struct {
	mu       sync.Mutex
	pending  map[string]*subject // by id
	timer    *time.Timer
	interval time.Duration
}

// subjectIDOf is the id of leaf's subject: one per distinguished name, the same on
// every core of the account.
func subjectIDOf(leaf *x509.Certificate) string {
	sum := sha256.Sum256(leaf.RawSubject)
	return uuidOf(sum[:16])
}

// noteSubject records that leaf, which chained to a trust anchor, was presented at now
// under subject id (ARN arn); failed when the session was refused afterwards.
func (a *API) noteSubject(leaf *x509.Certificate, id, arn string, now time.Time, failed bool) {
	cred := credentialSummary{SeenAt: now, SerialNumber: serialHex(leaf.SerialNumber), Issuer: leaf.Issuer.String(),
		Enabled: true, Failed: failed, X509CertificateData: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))}
	l := &a.seen
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = map[string]*subject{}
	}
	s := l.pending[id]
	if s == nil {
		s = &subject{subjectSummary: subjectSummary{ARN: arn, ID: id, Enabled: true, X509Subject: leaf.Subject.String(), stamps: stamps{CreatedAt: now}}}
		l.pending[id] = s
	}
	s.LastSeenAt, s.UpdatedAt = now, now
	s.Credentials = mergeCredentials(s.Credentials, cred)
	if l.timer == nil {
		l.timer = time.AfterFunc(l.interval, func() {
			if err := a.flushSubjects(context.Background()); err != nil {
				a.log.Warn("could not record Roles Anywhere subjects", "error", err)
			}
		})
	}
}

// mergeCredentials puts c in place of the entry of the same certificate, most recent
// first, keeping at most maxSubjectCredentials.
func mergeCredentials(list []credentialSummary, cs ...credentialSummary) []credentialSummary {
	for _, c := range cs {
		list = slices.DeleteFunc(list, func(x credentialSummary) bool {
			return x.SerialNumber == c.SerialNumber && x.Issuer == c.Issuer
		})
		list = append(list, c)
	}
	slices.SortStableFunc(list, func(x, y credentialSummary) int { return y.SeenAt.Compare(x.SeenAt) })
	return list[:min(len(list), maxSubjectCredentials)]
}

// flushSubjects writes the subjects noted since the last flush, merged into the
// stored ones.
func (a *API) flushSubjects(ctx context.Context) error {
	l := &a.seen
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return a.core.Store().Update(ctx, func(tx *store.Tx) error {
		for id, s := range pending {
			rec := record[subject]{Entity: *s}
			b, err := tx.Secret(recordName(kindSubject, id))
			switch {
			case errors.Is(err, account.ErrNoSuchEntity):
			case err != nil:
				return err
			default:
				var old record[subject]
				if err := json.Unmarshal(b, &old); err != nil {
					return err
				}
				rec.Entity.CreatedAt, rec.Entity.Enabled = old.Entity.CreatedAt, old.Entity.Enabled
				rec.Entity.Credentials = mergeCredentials(old.Entity.Credentials, s.Credentials...)
			}
			if err := save(tx, kindSubject, id, &rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close writes what CreateSession saw of subjects and not written yet (call it before
// the store closes).
func (a *API) Close() error {
	if a == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.flushSubjects(ctx)
}

// getSubject is GetSubject, after the pending sightings are written.
func (a *API) getSubject(ctx context.Context, in *input) (any, error) {
	if err := a.flushSubjects(ctx); err != nil {
		return nil, err
	}
	return getEntity(a, subjects)(ctx, in)
}

// listSubjects is ListSubjects: the summaries, after the pending sightings are written.
func (a *API) listSubjects(ctx context.Context, in *input) (any, error) {
	if err := a.authorize(in, "*"); err != nil {
		return nil, err
	}
	if err := a.flushSubjects(ctx); err != nil {
		return nil, err
	}
	recs, err := list[subject](ctx, in.call.Store(), kindSubject)
	if err != nil {
		return nil, err
	}
	out := make([]subjectSummary, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Entity.subjectSummary)
	}
	return page(in, subjects.many, out)
}
