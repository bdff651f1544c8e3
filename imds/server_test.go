package imds

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestNewServer(t *testing.T) {
	srv := NewServer(http.NotFoundHandler(), nil)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.ErrorLog == nil {
		t.Fatalf("server without timeouts or error log: %+v", srv)
	}
	// Oversized headers are refused by the server before the handler.
	e := newEnv(t, nil, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(e.ec2, nil)
	go s.Serve(l)
	defer s.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := strings.Repeat("x", 2*MaxHeaderBytes)
	go c.Write([]byte("PUT /latest/api/token HTTP/1.1\r\nHost: localhost\r\nX-Aws-Ec2-Metadata-Token-Ttl-Seconds: 60\r\nX-Big: " + big + "\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %d, want 431", resp.StatusCode)
	}
}
