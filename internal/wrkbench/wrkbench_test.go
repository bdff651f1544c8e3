package wrkbench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
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

// TestCompareWithScripts: each side's wrk script is its request (a POST with a
// body here), and the report holds one result per side and round.
func TestCompareWithScripts(t *testing.T) {
	type seen struct{ posts, others atomic.Int64 }
	serve := func(s *seen, want string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, _ := io.ReadAll(r.Body); r.Method == http.MethodPost && string(b) == want {
				s.posts.Add(1)
			} else {
				s.others.Add(1)
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	var ours, base seen
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name+".lua")
		if err := os.WriteFile(p, []byte("wrk.method = \"POST\"\nwrk.body = \""+body+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := Compare(t, serve(&ours, "ours=1"), serve(&base, "base=1"), "", func(o *Options) {
		o.Rounds, o.Duration, o.Connections = 2, "1s", 4
		o.OursScript, o.BaseScript = script("ours", "ours=1"), script("base", "base=1")
	})
	if len(r.Ours) != 2 || len(r.Base) != 2 || r.RatioRPS() <= 0 {
		t.Errorf("report %+v", r)
	}
	if ours.posts.Load() == 0 || base.posts.Load() == 0 || ours.others.Load()+base.others.Load() != 0 {
		t.Errorf("ours saw %d scripted POSTs and %d others, base %d and %d",
			ours.posts.Load(), ours.others.Load(), base.posts.Load(), base.others.Load())
	}
}
