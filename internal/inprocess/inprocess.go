// Package inprocess is an http.RoundTripper that answers a request by calling an
// http.Handler in the same process, as an http.Server would: SDK clients (SigV4 and
// all) talk to the embedded core without a socket.
package inprocess

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

type remoteAddrKey struct{}

// WithRemoteAddr makes the requests made with ctx arrive from addr (HOST:PORT), so
// that the handler sees the real client (aws:SourceIp) instead of loopback.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteAddrKey{}, addr)
}

// Transport returns an http.RoundTripper that answers every request by calling h:
// the request arrives with its Host, RequestURI and a loopback RemoteAddr (or the
// one WithRemoteAddr put in its context).
func Transport(h http.Handler) http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

func (t transport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	in := r.Clone(r.Context())
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if a, ok := r.Context().Value(remoteAddrKey{}).(string); ok && a != "" {
		in.RemoteAddr = a
	}
	if in.Host == "" {
		in.Host = r.URL.Host
	}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	w := &recorder{header: http.Header{}}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("in-process handler panicked: %v", p)
		}
	}()
	t.h.ServeHTTP(w, in)
	if r.Body != nil {
		r.Body.Close()
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
