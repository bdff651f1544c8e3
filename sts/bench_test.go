package sts_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/credbroker/credbroker/internal/wrkbench"
	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/store"
)

// benchCore is a core as `serve` runs it: a bbolt file store, the audit logger at info
// in the default text format (to io.Discard: the formatting is paid, the disk is not).
type benchCore struct {
	core    *sts.Core
	dev     aws.Credentials
	roleARN string
}

func newBenchCore(tb testing.TB) *benchCore {
	tb.Helper()
	ctx := context.Background()
	st, err := store.OpenFile(ctx, tb.TempDir()+"/core.db", store.MemoryKey(rand.Reader), func(o *store.Options) { o.AccountID = sts.DevAccountID })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	dev, err := sts.SeedDev(ctx, st)
	if err != nil {
		tb.Fatal(err)
	}
	logger := hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Info})
	core, err := sts.New(ctx, st, func(o *sts.Options) { o.Logger = logger })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { core.Close() })
	return &benchCore{core: core, dev: aws.Credentials{AccessKeyID: dev.AccessKeyID, SecretAccessKey: dev.SecretAccessKey}, roleARN: dev.RoleARN}
}

// signedRequest returns the raw HTTP/1.1 request (keep-alive) for form signed with
// creds now, for host.
func signedRequest(tb testing.TB, creds aws.Credentials, host, form string) []byte {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+host+"/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "credbroker-bench")
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("POST / HTTP/1.1\r\nHost: " + host + "\r\n")
	for k, v := range req.Header {
		b.WriteString(k + ": " + v[0] + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(form)) + "\r\n\r\n" + form)
	return b.Bytes()
}

const assumeForm = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdev-admin&RoleSessionName=bench"

// session assumes dev-admin and returns its credentials.
func (bc *benchCore) session(tb testing.TB) aws.Credentials {
	tb.Helper()
	return assumeOn(tb, bc.core, bc.dev)
}

// assumeOn sends assumeForm signed with creds through core's handler in-process and
// returns the session credentials of the answer, failing tb on any other answer.
func assumeOn(tb testing.TB, core *sts.Core, creds aws.Credentials) aws.Credentials {
	tb.Helper()
	rec := newRecorder()
	core.Handler().ServeHTTP(rec, parseRaw(tb, signedRequest(tb, creds, "127.0.0.1", assumeForm)))
	if rec.status != 200 {
		tb.Fatalf("AssumeRole: %d %s", rec.status, rec.body.String())
	}
	var out struct {
		AKID   string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		Secret string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
		Token  string `xml:"AssumeRoleResult>Credentials>SessionToken"`
	}
	if err := xmlUnmarshal(rec.body.Bytes(), &out); err != nil {
		tb.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: out.AKID, SecretAccessKey: out.Secret, SessionToken: out.Token}
}

// BenchmarkHandler measures one request through the handler in-process (no network),
// next to a baseline handler writing a body of the same size.
func BenchmarkHandler(b *testing.B) {
	bc := newBenchCore(b)
	sess := bc.session(b)
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"AssumeRole", signedRequest(b, bc.dev, "127.0.0.1", assumeForm)},
		{"GetCallerIdentitySession", signedRequest(b, sess, "127.0.0.1", "Action=GetCallerIdentity&Version=2011-06-15")},
	} {
		rec := newRecorder()
		bc.core.Handler().ServeHTTP(rec, parseRaw(b, c.raw))
		if rec.status != 200 {
			b.Fatalf("%s: %d %s", c.name, rec.status, rec.body.String())
		}
		body := bytes.Clone(rec.body.Bytes())
		base := wrkbench.YardstickHandler(body, "text/xml")
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"baseline", base}, {"core", bc.core.Handler()}} {
			b.Run(c.name+"/"+h.name, func(b *testing.B) {
				b.ReportAllocs()
				req := parseRaw(b, c.raw)
				formBody := req.Body.(*rereader)
				for b.Loop() {
					rec.reset()
					formBody.reset()
					h.h.ServeHTTP(rec, req)
				}
				if rec.status != 200 {
					b.Fatalf("%d %s", rec.status, rec.body.String())
				}
			})
		}
	}
}
