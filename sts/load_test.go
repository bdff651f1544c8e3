package sts_test

import (
	"bufio"
	"bytes"

	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/testtool"
)

// The load benchmarks drive the core over loopback with wrk (2 threads, 64 keep-alive
// connections) replaying one signed request (a signature stays valid for 15 minutes),
// side by side with a yardstick: a minimal net/http server answering a fixed body of
// the same size, in the same run, in alternating rounds (so that noise from elsewhere
// on the shared machine hits both alike). They report both servers' requests/s and
// p99, and the ratio core/yardstick (median of the round pairs). They skip when wrk is
// not installed.
//
//	go test ./sts -run '^$' -bench Wrk -benchtime 1x

func BenchmarkWrkAssumeRole(b *testing.B) {
	bc := newBenchCore(b)
	runWrk(b, bc, func(host string) []byte { return signedRequest(b, bc.dev, host, assumeForm) })
}

func BenchmarkWrkGetCallerIdentitySession(b *testing.B) {
	bc := newBenchCore(b)
	sess := bc.session(b)
	runWrk(b, bc, func(host string) []byte {
		return signedRequest(b, sess, host, "Action=GetCallerIdentity&Version=2011-06-15")
	})
}

type wrkResult struct{ rps, p50, p99 float64 }

func runWrk(b *testing.B, bc *benchCore, request func(host string) []byte) {
	wrk := testtool.Path(b, "wrk")
	ours := serveBench(b, bc.core.Handler())
	raw := request(ours)
	body := fetchRaw(b, ours, raw)
	base := serveBench(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		w.Write(body)
	}))
	if got := fetchRaw(b, base, request(base)); len(got) != len(body) {
		b.Fatal("yardstick body differs")
	}
	dir := b.TempDir()
	script := func(host string) string {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(request(host))))
		if err != nil {
			b.Fatal(err)
		}
		form, _ := io.ReadAll(req.Body)
		var s strings.Builder
		s.WriteString("wrk.method = \"POST\"\nwrk.body = " + strconv.Quote(string(form)) + "\n")
		for k, v := range req.Header {
			s.WriteString("wrk.headers[" + strconv.Quote(k) + "] = " + strconv.Quote(v[0]) + "\n")
		}
		p := filepath.Join(dir, strings.ReplaceAll(host, ":", "_")+".lua")
		if err := os.WriteFile(p, []byte(s.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	oursScript, baseScript := script(ours), script(base)
	run := func(addr, script string) wrkResult {
		out, err := exec.Command(wrk, "-t2", "-c64", "-d3s", "--latency", "-s", script, "http://"+addr+"/").CombinedOutput()
		if err != nil {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
			b.Fatalf("wrk saw errors:\n%s", out)
		}
		return parseWrk(b, out)
	}
	const pairs = 3
	var oursR, baseR []wrkResult
	b.ResetTimer()
	for i := 0; i < pairs; i++ {
		if i%2 == 0 {
			baseR = append(baseR, run(base, baseScript))
			oursR = append(oursR, run(ours, oursScript))
		} else {
			oursR = append(oursR, run(ours, oursScript))
			baseR = append(baseR, run(base, baseScript))
		}
	}
	b.StopTimer()
	med := func(f func(i int) float64) float64 {
		v := make([]float64, pairs)
		for i := range v {
			v[i] = f(i)
		}
		slices.Sort(v)
		return v[pairs/2]
	}
	b.ReportMetric(med(func(i int) float64 { return oursR[i].rps }), "req/s")
	b.ReportMetric(med(func(i int) float64 { return baseR[i].rps }), "base-req/s")
	b.ReportMetric(med(func(i int) float64 { return oursR[i].rps / baseR[i].rps }), "ratio-req/s")
	b.ReportMetric(med(func(i int) float64 { return oursR[i].p99 }), "p99-µs")
	b.ReportMetric(med(func(i int) float64 { return baseR[i].p99 }), "base-p99-µs")
	b.ReportMetric(float64(len(body)), "body-B")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
}

func serveBench(b *testing.B, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// fetchRaw sends one raw request and returns the body of its 200 answer.
func fetchRaw(b *testing.B, addr string, raw []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		b.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", addr, resp.StatusCode, body)
	}
	return body
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func parseWrk(b *testing.B, out []byte) wrkResult {
	var r wrkResult
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		b.Fatalf("no Requests/sec in:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, l := range wrkLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(l[2]), 64)
		switch string(l[3]) {
		case "ms":
			v *= 1000
		case "s":
			v *= 1e6
		}
		if string(l[1]) == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if r.p99 == 0 {
		b.Fatalf("no latency distribution in:\n%s", out)
	}
	return r
}
