package broker

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/broker/peer"
	"github.com/credbroker/credbroker/imds"
)

// The benchmarks compare the broker behind the imds handlers with the imds
// package's baseline source (a fixed role and an atomic load of fixed
// credentials, as in imds's own load benchmarks), in the same run, in
// alternating rounds, over real loopback listeners. The broker's side pays
// for what a cache hit really costs: identifying the caller from the
// kernel (sock_diag, per connection), the client rules, the session
// lookup and the audit hand-off.

// cachedSource is imds's baseline source.
type cachedSource struct {
	role  imds.RoleInfo
	creds atomic.Pointer[imds.Credentials]
}

func newCachedSource(cr imds.Credentials) *cachedSource {
	s := &cachedSource{role: imds.RoleInfo{Name: "deploy", InstanceProfileARN: "arn:aws:iam::123456789012:instance-profile/deploy"}}
	s.creds.Store(&cr)
	return s
}

func (s *cachedSource) Role(context.Context, imds.Caller) (imds.RoleInfo, error) { return s.role, nil }
func (s *cachedSource) Credentials(_ context.Context, _ imds.Caller, role string) (imds.Credentials, error) {
	if role != s.role.Name {
		return imds.Credentials{}, imds.ErrNoRole
	}
	return *s.creds.Load(), nil
}

// benchBroker is a broker whose "deploy" session is warm, for this
// process's uid, with audit lines going nowhere (as with --log-level warn).
func benchBroker(b *testing.B, identify func(context.Context, imds.Caller) (Caller, error), audit hclog.Logger) (*env, imds.Credentials) {
	e := newEnv(b, localConfig(), func(o *envOptions) {
		o.broker = append(o.broker, func(o *Options) {
			o.Identify = identify
			o.AuditLogger = audit
			o.Logger = nil
		})
	})
	for _, r := range e.b.Warm(context.Background()) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	creds, err := e.b.CredentialsFor(context.Background(), peer.NewCaller(uint32(os.Getuid()), 0), "deploy")
	if err != nil {
		b.Fatal(err)
	}
	return e, e.session("deploy", nil).endpointCreds(creds, time.Now)
}

func BenchmarkSourceCredentials(b *testing.B) {
	me := peer.NewCaller(uint32(os.Getuid()), 0)
	e, cr := benchBroker(b, func(context.Context, imds.Caller) (Caller, error) { return me, nil }, nil)
	base := newCachedSource(cr)
	ic := imds.Caller{Endpoint: imds.EndpointIMDS}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		src  imds.Source
	}{{"baseline", base}, {"broker", e.b}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ri, err := c.src.Role(ctx, ic)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.src.Credentials(ctx, ic, ri.Name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIMDSCacheHit: one SDK credential fetch over IMDSv2, each on a
// new connection as botocore and the Go SDK make them: token PUT, role
// list, role credentials. It reports the median and p99 of a fetch with
// the broker and with the baseline source, and the broker's added
// latency (the budget is 100µs). With audit=on every fetch is also an
// audit line (to io.Discard), its process looked up in the background
// (a /proc scan per new connection).
func BenchmarkIMDSCacheHit(b *testing.B) {
	b.Run("audit=off", func(b *testing.B) { benchIMDSCacheHit(b, nil) })
	b.Run("audit=on", func(b *testing.B) {
		benchIMDSCacheHit(b, hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info}))
	})
}

func benchIMDSCacheHit(b *testing.B, audit hclog.Logger) {
	e, cr := benchBroker(b, identifyPeer, audit)
	hOurs, err := imds.NewEC2(e.b)
	if err != nil {
		b.Fatal(err)
	}
	hBase, err := imds.NewEC2(newCachedSource(cr))
	if err != nil {
		b.Fatal(err)
	}
	ours, base := serve(b, hOurs), serve(b, hBase)
	ours, base = ours[len("http://"):], base[len("http://"):]
	for _, addr := range []string{ours, base} {
		if _, err := fetchOnce(addr); err != nil {
			b.Fatalf("%s: %v", addr, err)
		}
	}
	rounds := 1
	if b.N >= 64 {
		rounds = 16
	}
	var lo, lb []time.Duration
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		n := b.N / rounds
		if i == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		pair := [2]string{base, ours}
		if i%2 == 1 {
			pair = [2]string{ours, base}
		}
		for _, addr := range pair {
			for range n {
				d, err := fetchOnce(addr)
				if err != nil {
					b.Fatal(err)
				}
				if addr == ours {
					lo = append(lo, d)
				} else {
					lb = append(lb, d)
				}
			}
		}
	}
	b.StopTimer()
	st := e.b.metrics.role("deploy")
	if served := st.served[viaIMDS].Load(); served < uint64(b.N) {
		b.Fatalf("the broker served %d credentials for %d fetches", served, b.N)
	}
	slices.Sort(lo)
	slices.Sort(lb)
	pct := func(d []time.Duration, p int) float64 {
		return float64(d[(len(d)-1)*p/100]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(lo, 50), "p50-µs")
	b.ReportMetric(pct(lo, 99), "p99-µs")
	b.ReportMetric(pct(lb, 50), "base-p50-µs")
	b.ReportMetric(pct(lb, 99), "base-p99-µs")
	b.ReportMetric(pct(lo, 50)-pct(lb, 50), "added-p50-µs")
	b.ReportMetric(pct(lo, 50)/pct(lb, 50), "ratio-p50")
}

// fetchOnce does what an SDK does for credentials from IMDSv2, on a new
// connection, and returns how long it took.
func fetchOnce(addr string) (time.Duration, error) {
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 8<<10)
	tok, err := roundTrip(c, br, "PUT", addr, "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 21600")
	if err != nil {
		return 0, err
	}
	role, err := roundTrip(c, br, "GET", addr, "/latest/meta-data/iam/security-credentials/", "X-aws-ec2-metadata-token: "+string(tok))
	if err != nil {
		return 0, err
	}
	body, err := roundTrip(c, br, "GET", addr, "/latest/meta-data/iam/security-credentials/"+string(role), "X-aws-ec2-metadata-token: "+string(tok))
	if err != nil {
		return 0, err
	}
	if !bytes.Contains(body, []byte(`"AccessKeyId"`)) {
		return 0, fmt.Errorf("no credentials in %q", body)
	}
	return time.Since(start), nil
}

func roundTrip(c net.Conn, br *bufio.Reader, method, addr, path, hdr string) ([]byte, error) {
	if _, err := fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench\r\n%s\r\n\r\n", method, path, addr, hdr); err != nil {
		return nil, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return nil, fmt.Errorf("%s %s: %q", method, path, line)
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return nil, err
			}
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("no Content-Length")
	}
	body := make([]byte, length)
	_, err = io.ReadFull(br, body)
	return body, err
}

var _ http.Handler = (*imds.EC2)(nil)
