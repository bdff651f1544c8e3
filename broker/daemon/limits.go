package daemon

import (
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/imds"
)

// fdReserve are the descriptors kept for everything but client
// connections: the listeners, the store, the keyring, netlink and /proc
// lookups, the journal, upstream connections.
const fdReserve = 256

// Control socket limits: the CLI opens a connection per command, and a
// running `exec` may hold one for its life.
const (
	controlPerPeer = 64
	controlTotal   = 256
)

// newLimiters returns the limiter shared by the TCP listeners (IMDS,
// container, core, metrics) and the control socket's own, so a flood of
// TCP connections can never take the control socket's room. Unset limits
// come from imds's defaults, the total kept under the file descriptor
// limit (RLIMIT_NOFILE, which the Go runtime raises to the hard limit).
func newLimiters(res *peer.Resolver, lim imds.ConnLimits, log hclog.Logger) (tcp, ctl *imds.ConnLimiter) {
	if lim.Total <= 0 {
		lim.Total = imds.DefaultConnsTotal
		var rl unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil {
			if room := int(rl.Cur) - fdReserve - controlTotal; room < lim.Total {
				lim.Total = max(room, 16)
			}
		}
	}
	if lim.PerPeer <= 0 {
		lim.PerPeer = min(imds.DefaultConnsPerPeer, max(lim.Total/4, 1))
	}
	lim.Logger = log
	log.Debug("connection limits", "per_uid", lim.PerPeer, "total", lim.Total)
	tcp = imds.NewConnLimiter(res, func(o *imds.ConnLimits) { *o = lim })
	ctl = imds.NewConnLimiter(res, func(o *imds.ConnLimits) {
		o.PerPeer, o.Total, o.Logger = controlPerPeer, controlTotal, log.Named("control")
	})
	return tcp, ctl
}

// registerLimitMetrics exports the TCP limiter's counters.
func registerLimitMetrics(reg prometheus.Registerer, lim *imds.ConnLimiter) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credbroker_connections_open",
			Help: "Client connections open on the TCP listeners."},
			func() float64 { return float64(lim.Stats().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "credbroker_connections_refused_total",
			Help: "Client connections closed on arrival: their uid, or all, at the connection limit with none idle."},
			func() float64 { return float64(lim.Stats().Refused) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "credbroker_connections_evicted_total",
			Help: "Idle keep-alive connections closed to make room for a new one (their uid, or all, at the limit)."},
			func() float64 { return float64(lim.Stats().Evicted) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// After a burst of connections (a flood, a fleet of SDKs starting) the
// runtime keeps the memory their goroutines and buffers took, returning
// it to the OS only slowly: once the burst is over, give it back at once.
const (
	releaseEvery      = 5 * time.Second
	releaseAfterConns = 512 // connections accepted since the last release
	releaseWhenOpen   = 32  // at most this many still open: the burst is over
)

// releaseMemory returns freed memory to the OS when at least
// releaseAfterConns connections came since the last time (accepted count
// since) and few are left open. It returns the new mark.
func (d *daemon) releaseMemory(since uint64) uint64 {
	st := d.lim.Stats()
	if st.Accepted-since < releaseAfterConns || st.Open > releaseWhenOpen {
		return since
	}
	debug.FreeOSMemory()
	d.log.Debug("returned memory to the OS after a burst of connections", "connections", st.Accepted-since)
	return st.Accepted
}
