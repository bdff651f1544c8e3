package daemon

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// certFiles is the core listener's certificate and key, read from their PEM
// files and read again when either file changes (a renewed certificate takes no
// restart; a renewal that does not load keeps the old pair serving, logged).
type certFiles struct {
	cert, key string
	log       hclog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string // the files' sizes and times when current was read
}

// newCertFiles reads the pair once: a daemon with TLS configured does not start
// without a certificate it can serve.
func newCertFiles(cert, key string, log hclog.Logger) (*certFiles, error) {
	c := &certFiles{cert: cert, key: key, log: log}
	stamp, err := c.stampNow()
	if err != nil {
		return nil, err
	}
	if c.current, err = c.load(); err != nil {
		return nil, err
	}
	c.stamp = stamp
	return c, nil
}

// stampNow describes both files as they are, and refuses a key file other users
// may read.
func (c *certFiles) stampNow() (string, error) {
	var b bytes.Buffer
	for _, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("the core's TLS files: %w", err)
		}
		if p == c.key && fi.Mode().Perm()&0o007 != 0 {
			return "", fmt.Errorf("the core's TLS key %s is readable by other users (mode %04o): chmod o-rwx it", p, fi.Mode().Perm())
		}
		fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String(), nil
}

func (c *certFiles) load() (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		// tls's messages name the problem (no PEM, mismatched key), never key bytes.
		return nil, fmt.Errorf("the core's TLS certificate %s and key %s: %w", c.cert, c.key, err)
	}
	return &pair, nil
}

// get is tls.Config.GetCertificate: the current pair, read again first when the
// files changed.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, err := c.stampNow()
	if err == nil && stamp != c.stamp {
		var next *tls.Certificate
		if next, err = c.load(); err == nil {
			c.current, c.stamp = next, stamp
			c.log.Info("read the core's renewed TLS certificate", "cert", c.cert)
		}
	}
	if err != nil && stamp != c.stamp {
		c.log.Warn("the core's TLS files changed but do not load: serving the previous certificate", "error", err)
		c.stamp = stamp // once per change
	}
	return c.current, nil
}

// serving returns the leaf certificate served now (DER).
func (c *certFiles) serving() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current.Certificate[0]
}

// serverConfig is the listener's TLS configuration: TLS 1.2 at least.
func (c *certFiles) serverConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
}

// probeConfig is the health check's: it talks to this daemon's own listener, so
// it trusts exactly the certificate served (whatever CA signed it and whatever
// names it holds).
func (c *certFiles) probeConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, c.serving()) {
				return errors.New("the core listener served a certificate other than its own")
			}
			return nil
		},
	}
}
