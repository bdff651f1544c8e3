// Package wrkbench measures an HTTP endpoint against a yardstick in the
// same run with wrk (an external C load generator): alternating runs
// against each, medians of the pairs' figures and ratios. Benchmarks on a
// shared machine compare only what was measured together.
package wrkbench

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
)

// Options of a comparison. The zero value: 4 rounds of 2 s, 2 threads,
// 64 connections (the yardstick runs).
type Options struct {
	Rounds      int
	Duration    string // wrk's -d
	Threads     int    // wrk's -t
	Connections int    // wrk's -c
	// OursPID and BasePID, when set, are the processes serving each side
	// (each serving nothing else during its runs): their CPU time per
	// request is measured too, a figure that load from other processes on
	// the machine disturbs far less than throughput.
	OursPID, BasePID int
	// OursMore are further servers of ours (URLs, with their PIDs or 0),
	// replicas serving the same: each of ours' runs loads them all at once,
	// the connections and threads split between them; requests per second
	// and CPU time are summed, latencies are the worst server's.
	OursMore     []string
	OursMorePIDs []int
	// OursScript and BaseScript, when set, are wrk Lua scripts (its -s) for
	// each side: the request when a URL and a header cannot say it (a signed
	// POST, whose signature names its host).
	OursScript, BaseScript string
}

// Result is one wrk run: requests per second, latency percentiles in µs,
// and (when the server's pid is known) its CPU time per request in µs.
type Result struct{ RPS, P50, P99, CPU float64 }

// Report holds the runs of both sides, pair by pair.
type Report struct{ Ours, Base []Result }

// Yardstick serves body with contentType from a minimal net/http server,
// closed at the end of the test.
func Yardstick(tb testing.TB, body []byte, contentType string) string {
	srv := httptest.NewServer(YardstickHandler(body, contentType))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// YardstickHandler is the yardstick itself: the least a handler can do to answer
// body with contentType, what the benchmarks measure a handler of ours against, in
// process or behind a server.
func YardstickHandler(body []byte, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	})
}

// Compare runs wrk against ours and base (URLs, each with header hdr, ""
// for none), alternating which goes first. It skips when wrk is missing
// and fails on any non-2xx answer.
func Compare(tb testing.TB, ours, base, hdr string, optFns ...func(*Options)) Report {
	tb.Helper()
	o := Options{Rounds: 4, Duration: "2s", Threads: 2, Connections: 64}
	for _, fn := range optFns {
		fn(&o)
	}
	wrk := testtool.Path(tb, "wrk")
	oursURLs := append([]string{ours}, o.OursMore...)
	oursPIDs := make([]int, len(oursURLs))
	oursPIDs[0] = o.OursPID
	copy(oursPIDs[1:], o.OursMorePIDs)
	runOurs := func() Result { return runAll(tb, wrk, o, hdr, o.OursScript, oursURLs, oursPIDs) }
	runBase := func() Result { return runAll(tb, wrk, o, hdr, o.BaseScript, []string{base}, []int{o.BasePID}) }
	var r Report
	for i := 0; i < o.Rounds; i++ {
		if i%2 == 0 {
			r.Base, r.Ours = append(r.Base, runBase()), append(r.Ours, runOurs())
		} else {
			r.Ours, r.Base = append(r.Ours, runOurs()), append(r.Base, runBase())
		}
	}
	return r
}

// runAll runs wrk against every one of urls at once (served by pids), the
// connections and threads split between them, and sums up.
func runAll(tb testing.TB, wrk string, o Options, hdr, script string, urls []string, pids []int) Result {
	n := len(urls)
	args := []string{"-t" + strconv.Itoa(max(1, o.Threads/n)), "-c" + strconv.Itoa(max(1, o.Connections/n)), "-d" + o.Duration, "--latency"}
	if hdr != "" {
		args = append(args, "-H", hdr)
	}
	if script != "" {
		args = append(args, "-s", script)
	}
	var cpu time.Duration
	for _, pid := range pids {
		cpu -= cpuTime(tb, pid)
	}
	outs, errs := make([][]byte, n), make([]error, n)
	var wg sync.WaitGroup
	for i, url := range urls {
		wg.Go(func() { outs[i], errs[i] = exec.Command(wrk, append(slices.Clone(args), url)...).CombinedOutput() })
	}
	wg.Wait()
	for _, pid := range pids {
		cpu += cpuTime(tb, pid)
	}
	var sum run
	for i, out := range outs {
		if errs[i] != nil {
			tb.Fatalf("wrk: %v\n%s", errs[i], out)
		}
		if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
			tb.Fatalf("wrk saw errors against %s:\n%s", urls[i], out)
		}
		r := parse(tb, string(out))
		sum.RPS += r.RPS
		sum.Requests += r.Requests
		sum.P50, sum.P99 = max(sum.P50, r.P50), max(sum.P99, r.P99)
	}
	if pids[0] != 0 && sum.Requests > 0 {
		sum.CPU = cpu.Seconds() * 1e6 / sum.Requests
	}
	return sum.Result
}

// median of f over the pairs.
func (r Report) median(f func(o, b Result) float64) float64 {
	v := make([]float64, len(r.Ours))
	for i := range v {
		v[i] = f(r.Ours[i], r.Base[i])
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// RatioRPS is the median of ours/base throughput over the pairs.
func (r Report) RatioRPS() float64 {
	return r.median(func(o, b Result) float64 { return o.RPS / b.RPS })
}

// RatioP99 is the median of ours/base p99 latency over the pairs.
func (r Report) RatioP99() float64 {
	return r.median(func(o, b Result) float64 { return o.P99 / b.P99 })
}

// ReportTo reports the medians as b's metrics.
func (r Report) ReportTo(b *testing.B) {
	b.ReportMetric(r.median(func(o, _ Result) float64 { return o.RPS }), "req/s")
	b.ReportMetric(r.median(func(_, y Result) float64 { return y.RPS }), "base-req/s")
	b.ReportMetric(r.RatioRPS(), "ratio-req/s")
	b.ReportMetric(r.median(func(o, _ Result) float64 { return o.P50 }), "p50-µs")
	b.ReportMetric(r.median(func(o, _ Result) float64 { return o.P99 }), "p99-µs")
	b.ReportMetric(r.median(func(_, y Result) float64 { return y.P50 }), "base-p50-µs")
	b.ReportMetric(r.median(func(_, y Result) float64 { return y.P99 }), "base-p99-µs")
	b.ReportMetric(r.RatioP99(), "ratio-p99")
	if r.Ours[0].CPU > 0 && r.Base[0].CPU > 0 {
		b.ReportMetric(r.median(func(o, _ Result) float64 { return o.CPU }), "cpu-µs/req")
		b.ReportMetric(r.median(func(_, y Result) float64 { return y.CPU }), "base-cpu-µs/req")
		b.ReportMetric(r.RatioCPU(), "ratio-cpu")
	}
}

// RatioCPU is the median of base/ours CPU time per request over the pairs
// (like RatioRPS, above 1 when ours is cheaper), 0 when not measured.
func (r Report) RatioCPU() float64 {
	return r.median(func(o, b Result) float64 {
		if o.CPU == 0 {
			return 0
		}
		return b.CPU / o.CPU
	})
}

// cpuTime is the user+system CPU time pid has used (0 for pid 0).
func cpuTime(tb testing.TB, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatalf("reading the CPU time of %d: %v", pid, err)
	}
	// The fields after the command name (which may hold spaces), from
	// field 3: utime and stime are fields 14 and 15, in clock ticks.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		tb.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// run is a Result with the number of requests made.
type run struct {
	Result
	Requests float64
}

// parse reads Requests/sec, the request count and the 50% and 99%
// latencies (in µs).
func parse(tb testing.TB, out string) run {
	var r run
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 2 && f[1] == "requests" && f[2] == "in":
			r.Requests, _ = strconv.ParseFloat(f[0], 64)
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.RPS, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "50%":
			r.P50 = duration(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.P99 = duration(f[1])
		}
	}
	if r.RPS == 0 || r.P50 == 0 || r.P99 == 0 {
		tb.Fatalf("cannot read wrk's output:\n%s", out)
	}
	return r
}

// duration reads wrk's "812.00us", "1.20ms", "2.00s", "1.00m" in µs.
func duration(s string) float64 {
	for _, u := range []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return f * u.us
		}
	}
	return 0
}
