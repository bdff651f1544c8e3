package imds

import (
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Server limits recommended for both endpoints. SDK requests are a few
// hundred bytes and answered at once, so the limits are tight: a slow or
// stalled client is cut off within seconds, and idle keep-alive connections
// (botocore and the Go SDK reuse them) are kept a minute.
const (
	ReadHeaderTimeout = 2 * time.Second
	ReadTimeout       = 5 * time.Second
	WriteTimeout      = 5 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 8 << 10
)

// NewServer returns an http.Server for h with the recommended timeouts and
// header limit, logging net/http's own errors (TLS handshakes, accept
// errors) to log. The caller sets TLSConfig / ConnContext if it needs them
// and calls Serve or ServeTLS on its listener.
func NewServer(h http.Handler, log hclog.Logger) *http.Server {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true, ForceLevel: hclog.Debug}),
	}
}
