package wrkbench

import (
	"os"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	out := `Running 2s test @ http://127.0.0.1:1/x
  2 threads and 64 connections
  Latency Distribution
     50%  812.00us
     75%    1.00ms
     90%    1.20ms
     99%    2.50ms
  60000 requests in 2.00s, 10.00MB read
Requests/sec:  30000.50
Transfer/sec:      5.00MB
`
	r := parse(t, out)
	if r.RPS != 30000.50 || r.P50 != 812 || r.P99 != 2500 || r.Requests != 60000 {
		t.Errorf("parse: %+v", r)
	}
	for s, want := range map[string]float64{"3.5us": 3.5, "1.5ms": 1500, "2.00s": 2e6, "1.00m": 60e6, "x": 0} {
		if got := duration(s); got != want {
			t.Errorf("duration(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestReportMedians(t *testing.T) {
	r := Report{
		Ours: []Result{{RPS: 90, P99: 3, CPU: 50}, {RPS: 80, P99: 2, CPU: 40}, {RPS: 100, P99: 4, CPU: 100}},
		Base: []Result{{RPS: 100, P99: 2, CPU: 40}, {RPS: 100, P99: 2, CPU: 40}, {RPS: 100, P99: 2, CPU: 40}},
	}
	if r.RatioRPS() != 0.9 || r.RatioP99() != 1.5 || r.RatioCPU() != 0.8 {
		t.Errorf("ratios %v %v %v, want 0.9 1.5 0.8", r.RatioRPS(), r.RatioP99(), r.RatioCPU())
	}
	// Spin (at most a second) until the tick-grained clock moves.
	before, x := cpuTime(t, os.Getpid()), 0
	for deadline := time.Now().Add(time.Second); cpuTime(t, os.Getpid()) == before && time.Now().Before(deadline); {
		for i := 0; i < 1e6; i++ {
			x += i
		}
	}
	if cpuTime(t, os.Getpid()) <= before {
		t.Errorf("a second of spinning (%d) used no CPU time", x)
	}
}
