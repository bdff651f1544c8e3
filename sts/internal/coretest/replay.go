package coretest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Replay is a request recorded once and sent again and again by a benchmark: the same
// method, URL, header and body each time (a SigV4 signature stays good for 15
// minutes), with a fresh body reader per send.
type Replay struct {
	Method, URL string
	Header      http.Header
	Body        []byte
}

// Record reads req, its body included, into a Replay.
func Record(tb testing.TB, req *http.Request) *Replay {
	tb.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			tb.Fatal(err)
		}
	}
	return &Replay{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body}
}

// Do sends the request with c and returns the answer's body; a transport error or an
// answer other than 2xx fails tb.
func (r *Replay) Do(tb testing.TB, c *http.Client) []byte {
	req, err := http.NewRequest(r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header = r.Header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("%s %s: %d %s", r.Method, r.URL, resp.StatusCode, out)
	}
	return out
}
