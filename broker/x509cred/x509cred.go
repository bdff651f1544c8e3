// Package x509cred gets role sessions from IAM Roles Anywhere (or the core's
// emulation of it) with an X.509 certificate: it signs CreateSession with the
// certificate's key — from files, or kept in a PKCS #11 token or a TPM 2.0 and used
// there, never read out — as AWS's signing helper does (AWS4-X509-RSA-SHA256,
// AWS4-X509-ECDSA-SHA256).
package x509cred

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/internal/pemcert"
	"github.com/credbroker/credbroker/internal/secretfile"
	"github.com/credbroker/credbroker/signer"
)

// Identity is a certificate, the intermediates that chain it to a trust anchor, and a
// signer holding its private key.
type Identity interface {
	crypto.Signer
	Certificate() *x509.Certificate
	Chain() []*x509.Certificate
}

type identity struct {
	crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
}

func (i *identity) Certificate() *x509.Certificate { return i.cert }
func (i *identity) Chain() []*x509.Certificate     { return i.chain }

// NewIdentity returns the identity of cert, chain and key, checking that key is
// cert's.
func NewIdentity(cert *x509.Certificate, chain []*x509.Certificate, key crypto.Signer) (Identity, error) {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("the private key is not the key of the certificate %q", cert.Subject.String())
	}
	switch key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, errors.New("the certificate's key must be RSA or ECDSA")
	}
	return &identity{Signer: key, cert: cert, chain: chain}, nil
}

// ReadCertificates reads the PEM certificates of path.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for c, err := range pemcert.Certificates(data) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return out, nil
}

// readCertAndChain reads a PEM certificate file and an optional file of intermediates.
func readCertAndChain(certFile, chainFile string) (*x509.Certificate, []*x509.Certificate, error) {
	certs, err := ReadCertificates(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the certificate: %w", err)
	}
	var chain []*x509.Certificate
	if chainFile != "" {
		if chain, err = ReadCertificates(chainFile); err != nil {
			return nil, nil, fmt.Errorf("reading the intermediates: %w", err)
		}
	}
	return certs[0], chain, nil
}

// LoadFiles returns the identity of a PEM certificate file, a PEM private key file
// (PKCS #8, PKCS #1 or SEC 1; not encrypted) and an optional PEM file of intermediate
// certificates. The key file follows internal/secretfile's rule: a file its group or
// other users may read is refused (a systemd credential: other users). Errors name
// the file, never its content.
func LoadFiles(certPath, keyPath, chainPath string) (Identity, error) {
	cert, chain, err := readCertAndChain(certPath, chainPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := secretfile.Read(keyPath, "private key file", secretfile.For(keyPath))
	if err != nil {
		return nil, fmt.Errorf("reading the private key: %w", err)
	}
	blk, _ := pem.Decode(keyPEM)
	clear(keyPEM)
	if blk == nil {
		return nil, fmt.Errorf("the private key file %s holds no PEM block", keyPath)
	}
	key, err := pemcert.PrivateKey(blk)
	clear(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the private key file %s: %w", keyPath, err)
	}
	return NewIdentity(cert, chain, key)
}

// SessionInput is what a CreateSession asks for.
type SessionInput struct {
	TrustAnchorARN, ProfileARN, RoleARN string
	// Duration is the session's length (0: the profile's).
	Duration time.Duration
	// SessionName is the role session's name ("": the certificate's serial); the
	// profile must accept one.
	SessionName string
}

// Client calls CreateSession.
type Client struct {
	// Endpoint is the Roles Anywhere URL ("": AWS's of Region).
	Endpoint string
	// Region is the signing region.
	Region string
	// HTTPClient carries the request (default http.DefaultClient).
	HTTPClient *http.Client
	// Now is the clock the request is signed with (default time.Now).
	Now func() time.Time
}

// Endpoint returns AWS's Roles Anywhere endpoint of region.
func Endpoint(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "https://rolesanywhere." + region + ".amazonaws.com.cn"
	}
	return "https://rolesanywhere." + region + ".amazonaws.com"
}

// Error is Roles Anywhere's refusal.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.Status) }

// ErrorCode returns the AWS error code (smithy.APIError).
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage returns the message (smithy.APIError).
func (e *Error) ErrorMessage() string { return e.Message }

// CreateSession gets a role session for id.
func (c *Client) CreateSession(ctx context.Context, id Identity, in SessionInput) (aws.Credentials, error) {
	req, err := c.NewRequest(ctx, id, in)
	if err != nil {
		return aws.Credentials{}, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("CreateSession: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("CreateSession: reading the answer: %w", err)
	}
	return parseResponse(resp.StatusCode, resp.Header, body, in.RoleARN)
}

// parseResponse reads CreateSession's answer: the session, or Roles Anywhere's error.
func parseResponse(status int, h http.Header, body []byte, roleARN string) (aws.Credentials, error) {
	if status/100 != 2 {
		e := &Error{Status: status, Code: h.Get("X-Amzn-ErrorType")}
		var m struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &m)
		e.Message = m.Message
		if i := strings.IndexByte(e.Code, ':'); i >= 0 {
			e.Code = e.Code[:i]
		}
		if e.Code == "" {
			e.Code = http.StatusText(status)
		}
		return aws.Credentials{}, e
	}
	var out struct {
		CredentialSet []struct {
			Credentials struct {
				AccessKeyID     string `json:"accessKeyId"`
				Expiration      string `json:"expiration"`
				SecretAccessKey string `json:"secretAccessKey"`
				SessionToken    string `json:"sessionToken"`
			} `json:"credentials"`
			RoleARN string `json:"roleArn"`
		} `json:"credentialSet"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.CredentialSet) == 0 {
		return aws.Credentials{}, errors.New("CreateSession answered without credentials")
	}
	cr := out.CredentialSet[0].Credentials
	exp, err := time.Parse(time.RFC3339, cr.Expiration)
	if err != nil || cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		return aws.Credentials{}, errors.New("CreateSession answered credentials without a key or an expiration")
	}
	return aws.Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken,
		Source: "credbroker x509", CanExpire: true, Expires: exp.UTC(), AccountID: accountOf(roleARN)}, nil
}

func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// NewRequest returns the signed CreateSession request (for callers that send it
// themselves, such as benchmarks).
func (c *Client) NewRequest(ctx context.Context, id Identity, in SessionInput) (*http.Request, error) {
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = Endpoint(c.Region)
	}
	body := map[string]any{}
	if in.Duration > 0 {
		body["durationSeconds"] = int64(in.Duration / time.Second)
	}
	if in.SessionName != "" {
		body["roleSessionName"] = in.SessionName
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	q := url.Values{"profileArn": {in.ProfileARN}, "roleArn": {in.RoleARN}, "trustAnchorArn": {in.TrustAnchorARN}}
	u := strings.TrimRight(endpoint, "/") + "/sessions?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("CreateSession: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now().UTC()
	amzDate := t.Format("20060102T150405Z")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Host", req.URL.Host)
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-X509", base64.StdEncoding.EncodeToString(id.Certificate().Raw))
	if ch := id.Chain(); len(ch) > 0 {
		parts := make([]string, len(ch))
		for i, x := range ch {
			parts[i] = base64.StdEncoding.EncodeToString(x.Raw)
		}
		req.Header.Set("X-Amz-X509-Chain", strings.Join(parts, ","))
	}
	names := make([]string, 0, len(req.Header)+1)
	for k := range req.Header {
		names = append(names, strings.ToLower(k))
	}
	sort.Strings(names)
	signed := strings.Join(names, ";")

	alg := "AWS4-X509-RSA-SHA256"
	if _, ok := id.Public().(*ecdsa.PublicKey); ok {
		alg = "AWS4-X509-ECDSA-SHA256"
	}
	scope := t.Format("20060102") + "/" + c.Region + "/rolesanywhere/aws4_request"
	canon := sha256.Sum256(signer.CanonicalRequest(req, signed, b))
	digest := sha256.Sum256([]byte(alg + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canon[:])))
	sig, err := id.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("CreateSession: signing with the certificate's key: %w", err)
	}
	req.Header.Set("Authorization", alg+" Credential="+id.Certificate().SerialNumber.String()+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(sig))
	return req, nil
}
