package sts_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/wrkbench"
)

// The load benchmarks drive the core over loopback with wrk (2 threads, 64 keep-alive
// connections) replaying one signed request (a signature stays valid for 15 minutes),
// side by side with a yardstick (internal/wrkbench): a minimal net/http server answering a fixed body of
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

func runWrk(b *testing.B, bc *benchCore, request func(host string) []byte) {
	ours := serveBench(b, bc.core.Handler())
	body := fetchRaw(b, ours, request(ours))
	base := strings.TrimPrefix(wrkbench.Yardstick(b, body, "text/xml"), "http://")
	if got := fetchRaw(b, base, request(base)); len(got) != len(body) {
		b.Fatal("yardstick body differs")
	}
	dir := b.TempDir()
	// script is the wrk script sending request(host): the signature names the host.
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
	wrkbench.Compare(b, "http://"+ours+"/", "http://"+base+"/", "", func(o *wrkbench.Options) {
		o.Rounds, o.Duration = 3, "3s"
		o.OursScript, o.BaseScript = script(ours), script(base)
	}).ReportTo(b)
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
