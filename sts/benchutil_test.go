package sts_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"testing"
)

// recorder is a reusable http.ResponseWriter for handler benchmarks.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) reset() {
	clear(r.h)
	r.status = 0
	r.body.Reset()
}

// rereader is a request body that can be read again.
type rereader struct {
	data []byte
	r    bytes.Reader
}

func (b *rereader) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *rereader) Close() error               { return nil }
func (b *rereader) reset()                     { b.r.Reset(b.data) }

// parseRaw reads a raw HTTP/1.1 request into an *http.Request with a re-readable body.
func parseRaw(tb testing.TB, raw []byte) *http.Request {
	tb.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	data, _ := io.ReadAll(req.Body)
	rb := &rereader{data: data}
	rb.reset()
	req.Body = rb
	req.RemoteAddr = "127.0.0.1:50000"
	return req
}

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }
