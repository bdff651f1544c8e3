package imds

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credbroker/credbroker/internal/wrkbench"
)

// The load benchmarks drive the credentials path of each endpoint over real
// loopback listeners with 64 concurrent keep-alive connections, side by side
// with a minimal net/http server that returns the same response body as a
// fixed byte slice, in the same run, in alternating rounds (so machine noise
// hits both alike). They report requests/s and p50/p99 latency of both and
// the ratios (credbroker / baseline).
//
// The driver is a minimal HTTP/1.1 client on raw connections (write a
// prepared request, parse the status line and headers, read Content-Length
// bytes), lean like wrk: net/http's client would spend more CPU than the
// servers on these 2-core machines and blur the comparison. Both servers get
// byte-identical requests.

const benchConns = 64

// cachedSource answers as the broker does on a cache hit: a role by lookup
// and the current credentials by an atomic load.
type cachedSource struct {
	role  RoleInfo
	creds atomic.Pointer[Credentials]
}

func newCachedSource() *cachedSource {
	s := &cachedSource{role: RoleInfo{Name: "dev-admin", InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/dev-admin"}}
	now := time.Now().UTC()
	s.creds.Store(&Credentials{
		AccessKeyID:     "ASIAQ3EGQH4XDEXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
		SessionToken:    string(bytes.Repeat([]byte("IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJHMEUCIQ"), 20)),
		Expiration:      now.Add(time.Hour), LastUpdated: now,
		AccountID: "123456789012", RoleARN: "arn:aws:iam::123456789012:role/dev-admin",
	})
	return s
}

func (s *cachedSource) Role(context.Context, Caller) (RoleInfo, error) { return s.role, nil }

func (s *cachedSource) Credentials(_ context.Context, _ Caller, role string) (Credentials, error) {
	if role != s.role.Name {
		return Credentials{}, ErrNoRole
	}
	return *s.creds.Load(), nil
}

// The credentials path both drivers ask the EC2 handler for.
const benchIMDSPath = "/latest/meta-data/iam/security-credentials/dev-admin"

// benchEC2 is an EC2 handler over a cachedSource and the token header of a request to it.
func benchEC2(b *testing.B) (*EC2, string) {
	h, err := NewEC2(newCachedSource())
	if err != nil {
		b.Fatal(err)
	}
	return h, TokenHeader + ": " + h.tokens.mint(time.Now().Add(6*time.Hour))
}

// benchContainer is a container handler over a cachedSource and the Authorization
// header of a request to it.
func benchContainer(b *testing.B) (*Container, string) {
	tokens := NewTokenSet()
	tok, _ := NewToken(nil)
	tokens.Add(tok, "")
	h, err := NewContainer(newCachedSource(), tokens)
	if err != nil {
		b.Fatal(err)
	}
	return h, "Authorization: " + tok
}

func BenchmarkLoadIMDSCredentials(b *testing.B) {
	h, hdr := benchEC2(b)
	runLoad(b, h, true, benchIMDSPath, hdr)
}

func BenchmarkLoadContainerCredentials(b *testing.B) {
	h, hdr := benchContainer(b)
	runLoad(b, h, false, DefaultContainerPath, hdr+"\r\nAccept: application/json")
}

// loadResult is one round against one server.
type loadResult struct {
	n        int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func runLoad(b *testing.B, h http.Handler, hopLimit bool, path, hdr string) {
	b.Helper()
	ours := startServer(b, NewServer(h, nil), hopLimit)
	// The baseline returns exactly what ours returns, as a fixed body.
	body := fetch(b, ours, path, hdr)
	ct := "text/plain"
	if !hopLimit {
		ct = "application/json"
	}
	base := startServer(b, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.Write(body)
	})}, false)
	if got := fetch(b, base, path, hdr); !bytes.Equal(got, body) {
		b.Fatal("baseline body differs")
	}
	oursConns := dialAll(b, ours, path, hdr)
	baseConns := dialAll(b, base, path, hdr)

	// Alternate short rounds, base then ours, ours then base; each round's
	// figures are compared with its neighbour's, and the medians reported,
	// so that a burst of load from elsewhere on the machine skews one round
	// pair, not the result.
	rounds := 1
	if b.N >= 32*benchConns {
		rounds = 16
	}
	var baseR, oursR []loadResult
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		n := b.N / rounds
		if i == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		if i%2 == 0 {
			baseR = append(baseR, drive(b, baseConns, n))
			oursR = append(oursR, drive(b, oursConns, n))
		} else {
			oursR = append(oursR, drive(b, oursConns, n))
			baseR = append(baseR, drive(b, baseConns, n))
		}
	}
	b.StopTimer()
	med := func(f func(i int) float64) float64 {
		v := make([]float64, rounds)
		for i := range v {
			v[i] = f(i)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rps := func(r loadResult) float64 { return float64(r.n) / r.elapsed.Seconds() }
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(med(func(i int) float64 { return rps(oursR[i]) }), "req/s")
	b.ReportMetric(med(func(i int) float64 { return rps(baseR[i]) }), "base-req/s")
	b.ReportMetric(med(func(i int) float64 { return rps(oursR[i]) / rps(baseR[i]) }), "ratio-req/s")
	b.ReportMetric(med(func(i int) float64 { return us(oursR[i].p50) }), "p50-µs")
	b.ReportMetric(med(func(i int) float64 { return us(oursR[i].p99) }), "p99-µs")
	b.ReportMetric(med(func(i int) float64 { return us(baseR[i].p50) }), "base-p50-µs")
	b.ReportMetric(med(func(i int) float64 { return us(baseR[i].p99) }), "base-p99-µs")
	b.ReportMetric(med(func(i int) float64 { return float64(oursR[i].p99) / float64(baseR[i].p99) }), "ratio-p99")
	b.ReportMetric(float64(len(body)), "body-B")
}

func startServer(b *testing.B, srv *http.Server, hopLimit bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ln := l
	if hopLimit {
		ln = HopLimitListener(l, DefaultHopLimit, nil)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func fetch(b *testing.B, addr, path, hdr string) []byte {
	c := dial(b, addr, path, hdr)
	defer c.conn.Close()
	body, err := c.do(true)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func dialAll(b *testing.B, addr, path, hdr string) []*rawClient {
	cs := make([]*rawClient, benchConns)
	for i := range cs {
		cs[i] = dial(b, addr, path, hdr)
	}
	b.Cleanup(func() {
		for _, c := range cs {
			c.conn.Close()
		}
	})
	return cs
}

// drive sends n requests over the connections, each connection one request
// at a time (closed loop), and measures the round.
func drive(b *testing.B, cs []*rawClient, n int) loadResult {
	var next atomic.Int64
	lats := make([][]time.Duration, len(cs))
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, n/len(cs)+1)
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				if _, err := c.do(false); err != nil {
					failed.Store(err)
					return
				}
				l = append(l, time.Since(t0))
			}
			lats[i] = l
		}()
	}
	wg.Wait()
	r := loadResult{n: n, elapsed: time.Since(start)}
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	all := make([]time.Duration, 0, n)
	for _, l := range lats {
		all = append(all, l...)
	}
	r.p50, r.p99 = percentile(all, 50), percentile(all, 99)
	return r
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)-1)*p/100]
}

// rawClient is one keep-alive HTTP/1.1 connection sending one fixed request.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func dial(b *testing.B, addr, path, hdr string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: credbroker-bench\r\n%s\r\n\r\n", path, addr, hdr)
	return &rawClient{conn: c, br: bufio.NewReaderSize(c, 16<<10), req: []byte(req)}
}

// do sends the request and reads the response; it returns the body when
// keep is set, and an error for anything but a 200 with Content-Length.
func (c *rawClient) do(keep bool) ([]byte, error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return nil, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("status line %q", line)
	}
	length := -1
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return nil, err
			}
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("no Content-Length")
	}
	if keep {
		body := make([]byte, length)
		_, err = io.ReadFull(c.br, body)
		return body, err
	}
	_, err = c.br.Discard(length)
	return nil, err
}

// discardWriter is a reusable http.ResponseWriter for handler benchmarks.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// benchHandler measures one handler call in-process (no network), next to a
// baseline handler that writes the same body as a fixed slice.
func benchHandler(b *testing.B, h http.Handler, path, hname, hval string) {
	r := fuzzRequest("GET", path, "127.0.0.1:8911", hname+": "+hval)
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status != 200 {
		b.Fatalf("status %d", w.status)
	}
	body := make([]byte, w.n)
	base := wrkbench.YardstickHandler(body, "application/json")
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"baseline", base}, {"credbroker", h}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.n = 0
				c.h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkHandlerIMDSCredentials(b *testing.B) {
	h, _ := NewEC2(newCachedSource())
	benchHandler(b, h, "/latest/meta-data/iam/security-credentials/dev-admin", TokenHeader, h.tokens.mint(time.Now().Add(time.Hour)))
}

func BenchmarkHandlerContainerCredentials(b *testing.B) {
	tokens := NewTokenSet()
	tok, _ := NewToken(nil)
	tokens.Add(tok, "")
	h, _ := NewContainer(newCachedSource(), tokens)
	benchHandler(b, h, DefaultContainerPath, "Authorization", tok)
}

// The wrk benchmarks make the same comparison with wrk (an external C load
// generator, 2 threads, 64 connections) instead of the in-process driver:
// alternating 2-second runs against each server, medians of the pairs. They
// skip when wrk is not installed.

func BenchmarkWrkIMDSCredentials(b *testing.B) {
	h, hdr := benchEC2(b)
	runWrk(b, h, true, benchIMDSPath, hdr)
}

func BenchmarkWrkContainerCredentials(b *testing.B) {
	h, hdr := benchContainer(b)
	runWrk(b, h, false, DefaultContainerPath, hdr)
}

func runWrk(b *testing.B, h http.Handler, hopLimit bool, path, hdr string) {
	ours := startServer(b, NewServer(h, nil), hopLimit)
	body := fetch(b, ours, path, hdr)
	ct := "text/plain"
	if !hopLimit {
		ct = "application/json"
	}
	base := wrkbench.Yardstick(b, body, ct)
	wrkbench.Compare(b, "http://"+ours+path, base+path, hdr).ReportTo(b)
}
