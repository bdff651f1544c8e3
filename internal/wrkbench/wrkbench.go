// Package wrkbench measures an HTTP endpoint against a yardstick in the
// same run with wrk (an external C load generator): alternating runs
// against each, medians of the pairs' figures and ratios. Benchmarks on a
// shared machine compare only what was measured together.
package wrkbench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Options of a comparison. The zero value: 4 rounds of 2 s, 2 threads,
// 64 connections (the yardstick runs).
type Options struct {
	Rounds      int
	Duration    string // wrk's -d
	Threads     int    // wrk's -t
	Connections int    // wrk's -c
}

// Result is one wrk run: requests per second and latency percentiles in µs.
type Result struct{ RPS, P50, P99 float64 }

// Report holds the runs of both sides, pair by pair.
type Report struct{ Ours, Base []Result }

// Yardstick serves body with contentType from a minimal net/http server,
// closed at the end of the test.
func Yardstick(tb testing.TB, body []byte, contentType string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
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
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		tb.Skip("wrk is not installed (apt-get install wrk; .ci/run installs it)")
	}
	run := func(url string) Result {
		args := []string{"-t" + strconv.Itoa(o.Threads), "-c" + strconv.Itoa(o.Connections), "-d" + o.Duration, "--latency"}
		if hdr != "" {
			args = append(args, "-H", hdr)
		}
		out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
		if err != nil {
			tb.Fatalf("wrk: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
			tb.Fatalf("wrk saw errors against %s:\n%s", url, out)
		}
		return parse(tb, string(out))
	}
	var r Report
	for i := 0; i < o.Rounds; i++ {
		if i%2 == 0 {
			r.Base, r.Ours = append(r.Base, run(base)), append(r.Ours, run(ours))
		} else {
			r.Ours, r.Base = append(r.Ours, run(ours)), append(r.Base, run(base))
		}
	}
	return r
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
}

// parse reads Requests/sec and the 50% and 99% latencies (in µs).
func parse(tb testing.TB, out string) Result {
	var r Result
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
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
