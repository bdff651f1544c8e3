package sts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestSessionMemoryFlat issues sessions and uses each once (a GetCallerIdentity signed
// with it, which fills the session and signing-key caches), and checks that memory
// stops growing: the core keeps nothing per session beyond bounded caches. It issues
// 30,000 sessions by default; CREDBROKER_SOAK_SESSIONS=1000000 runs the full
// measurement and logs the heap and RSS at each tenth:
//
//	CREDBROKER_SOAK_SESSIONS=1000000 go test ./sts -run TestSessionMemoryFlat -v -timeout 30m
func TestSessionMemoryFlat(t *testing.T) {
	total := 30000
	if v := os.Getenv("CREDBROKER_SOAK_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10000 {
			t.Fatalf("CREDBROKER_SOAK_SESSIONS=%q: want a number of at least 10000", v)
		}
		total = n
	} else if testing.Short() {
		t.Skip("memory soak")
	}
	bc := newBenchCore(t)
	h := bc.core.Handler()
	assume := signedRequest(t, bc.dev, "127.0.0.1", assumeForm)
	ctx := context.Background()
	signer := v4.NewSigner()
	const gci = "Action=GetCallerIdentity&Version=2011-06-15"
	sum := sha256.Sum256([]byte(gci))
	gciHash := hex.EncodeToString(sum[:])

	one := func(rec *recorder) error {
		rec.reset()
		req := parseRaw(t, assume)
		h.ServeHTTP(rec, req)
		if rec.status != 200 {
			return errStatus("AssumeRole", rec)
		}
		body := rec.body.Bytes()
		creds := aws.Credentials{AccessKeyID: between(body, "<AccessKeyId>", "<"), SecretAccessKey: between(body, "<SecretAccessKey>", "<"),
			SessionToken: between(body, "<SessionToken>", "<")}
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(gci))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := signer.SignHTTP(ctx, creds, r, gciHash, "sts", "us-east-1", time.Now()); err != nil {
			return err
		}
		r.RemoteAddr = "127.0.0.1:50000"
		rec.reset()
		h.ServeHTTP(rec, r)
		if rec.status != 200 || !bytes.Contains(rec.body.Bytes(), []byte("assumed-role/dev-admin/bench")) {
			return errStatus("GetCallerIdentity", rec)
		}
		return nil
	}

	type sample struct {
		n         int
		heap, rss uint64
	}
	var samples []sample
	measure := func(n int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := sample{n: n, heap: ms.HeapAlloc, rss: rssBytes()}
		samples = append(samples, s)
		t.Logf("%8d sessions: heap %6.1f MiB, RSS %6.1f MiB", n, mib(s.heap), mib(s.rss))
	}
	step := total / 10
	var done atomic.Int64
	var failed atomic.Value
	for n := 0; n < total; n += step {
		var wg sync.WaitGroup
		var next atomic.Int64
		for w := 0; w < runtime.GOMAXPROCS(0); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := newRecorder()
				for next.Add(1) <= int64(step) {
					if err := one(rec); err != nil {
						failed.Store(err)
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			t.Fatal(err)
		}
		measure(int(done.Load()))
	}
	// From the second tenth on (caches full), memory stays flat.
	first, last := samples[1], samples[len(samples)-1]
	if grow := int64(last.heap) - int64(first.heap); grow > 24<<20 {
		t.Errorf("heap grew by %.1f MiB from %d to %d sessions", mib(uint64(grow)), first.n, last.n)
	}
	if first.rss > 0 {
		if grow := int64(last.rss) - int64(first.rss); grow > 48<<20 {
			t.Errorf("RSS grew by %.1f MiB from %d to %d sessions", mib(uint64(grow)), first.n, last.n)
		}
	}
}

type statusError string

func (e statusError) Error() string { return string(e) }

func errStatus(what string, rec *recorder) error {
	return statusError(what + ": " + strconv.Itoa(rec.status) + " " + rec.body.String())
}

func between(b []byte, start, end string) string {
	i := bytes.Index(b, []byte(start))
	if i < 0 {
		return ""
	}
	b = b[i+len(start):]
	j := bytes.Index(b, []byte(end))
	if j < 0 {
		return ""
	}
	return string(b[:j])
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// rssBytes reads the process's resident set size (Linux), 0 elsewhere.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
