package broker

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/credbroker/credbroker/broker/session"
)

// roleStats are one role's counters. They are plain atomics, bumped on the
// request path without a label lookup, and read by the collector at
// scrape time. They outlive reloads (a role keeps its counts).
type roleStats struct {
	served    [numEndpoints]atomic.Uint64
	lookups   atomic.Uint64
	misses    atomic.Uint64
	refreshes atomic.Uint64
	failures  atomic.Uint64
}

// metrics is the broker's Prometheus collector and its session.Observer.
type metrics struct {
	b       *Broker
	reg     *prometheus.Registry
	roles   sync.Map // role name → *roleStats
	latency *prometheus.HistogramVec

	served, hits, misses, refreshes, failures, expiry, belowFloor, needsHuman *prometheus.Desc
}

func newMetrics(b *Broker) *metrics {
	m := &metrics{b: b, reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "credbroker_upstream_latency_seconds",
		Help:    "Time taken by upstream STS calls (AssumeRole*, GetSessionToken), by outcome.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})
	m.served = prometheus.NewDesc("credbroker_credentials_served_total", "Credentials handed out, by endpoint (imds, container, control) and role.", []string{"endpoint", "role"}, nil)
	m.hits = prometheus.NewDesc("credbroker_cache_hits_total", "Credential lookups answered from the session cache without waiting.", []string{"role"}, nil)
	m.misses = prometheus.NewDesc("credbroker_cache_misses_total", "Credential lookups that found nothing good enough cached.", []string{"role"}, nil)
	m.refreshes = prometheus.NewDesc("credbroker_refreshes_total", "Upstream fetches of role sessions (first fetches and refreshes).", []string{"role"}, nil)
	m.failures = prometheus.NewDesc("credbroker_refresh_failures_total", "Upstream fetches of role sessions that failed.", []string{"role"}, nil)
	m.expiry = prometheus.NewDesc("credbroker_session_expiry_seconds", "Seconds until the cached session expires (negative: expired).", []string{"role", "caller"}, nil)
	m.belowFloor = prometheus.NewDesc("credbroker_session_below_floor", "1 when the session is served with less than the 15-minute floor left (upstream failing).", []string{"role", "caller"}, nil)
	m.needsHuman = prometheus.NewDesc("credbroker_session_needs_human", "1 when the session waits for a person (an MFA code, a locked keyring, a SAML sign-in missing or ending within 30 minutes).", []string{"role", "caller"}, nil)
	m.reg.MustRegister(m, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// role returns the counters of role, creating them.
func (m *metrics) role(name string) *roleStats {
	if v, ok := m.roles.Load(name); ok {
		return v.(*roleStats)
	}
	v, _ := m.roles.LoadOrStore(name, &roleStats{})
	return v.(*roleStats)
}

// Fetched implements session.Observer.
func (m *metrics) Fetched(key session.Key, took time.Duration, err error) {
	s := m.role(key.Role)
	s.refreshes.Add(1)
	if err != nil {
		s.failures.Add(1)
	}
	m.observeUpstream(took, err)
}

// Missed implements session.Observer.
func (m *metrics) Missed(key session.Key) { m.role(key.Role).misses.Add(1) }

func (m *metrics) observeUpstream(took time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.latency.WithLabelValues(outcome).Observe(took.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.served, m.hits, m.misses, m.refreshes, m.failures, m.expiry, m.belowFloor, m.needsHuman} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	m.roles.Range(func(k, v any) bool {
		role, s := k.(string), v.(*roleStats)
		for ep := endpoint(0); ep < numEndpoints; ep++ {
			counter(m.served, s.served[ep].Load(), endpointNames[ep], role)
		}
		lookups, misses := s.lookups.Load(), s.misses.Load()
		counter(m.hits, lookups-min(misses, lookups), role)
		counter(m.misses, misses, role)
		counter(m.refreshes, s.refreshes.Load(), role)
		counter(m.failures, s.failures.Load(), role)
		return true
	})
	now := m.b.o.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, st := range m.b.cache.Status() {
		caller := callerOf(st.Binding)
		if !st.Expires.IsZero() {
			gauge(m.expiry, st.Expires.Sub(now).Seconds(), st.Role, caller)
		}
		gauge(m.belowFloor, flag(st.BelowFloor), st.Role, caller)
		gauge(m.needsHuman, flag(m.b.sessionNeedsHuman(st)), st.Role, caller)
	}
}

// callerOf is the user name part of a session binding ("" when shared).
func callerOf(binding string) string {
	user, _, _ := strings.Cut(binding, "\x00")
	return user
}

// observers tells several observers.
type observers []session.Observer

func (os observers) Fetched(key session.Key, took time.Duration, err error) {
	for _, o := range os {
		o.Fetched(key, took, err)
	}
}

func (os observers) Missed(key session.Key) {
	for _, o := range os {
		o.Missed(key)
	}
}
