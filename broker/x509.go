package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/credbroker/credbroker/broker/config"
	"github.com/credbroker/credbroker/broker/session"
	"github.com/credbroker/credbroker/broker/x509cred"
	"github.com/credbroker/credbroker/internal/secretfile"
)

// fetchWithX509 gets role r's session from Roles Anywhere's CreateSession, signed
// with the source's certificate key (a file, or a key kept in a PKCS #11 token).
// The certificate, key and PIN are read anew at every fetch, so a renewed
// certificate is picked up without a reload.
func (b *Broker) fetchWithX509(ctx context.Context, st *state, r *roleState) (aws.Credentials, error) {
	src := r.src
	id, closeID, err := openX509(src)
	if err != nil {
		return aws.Credentials{}, &session.Error{Kind: session.NonRecoverable, Code: "BadCertificate",
			Message: fmt.Sprintf("source %q: %v", src.Name, err), Err: err}
	}
	defer closeID()
	c := &x509cred.Client{Endpoint: src.Endpoint, Region: src.Region, Now: b.o.Now}
	if c.Endpoint == "" && st.up != nil {
		c.Endpoint, c.HTTPClient = st.up.RolesAnywhereEndpoint, st.up.RolesAnywhereHTTP
	}
	creds, err := c.CreateSession(ctx, id, x509cred.SessionInput{
		TrustAnchorARN: src.TrustAnchorARN, ProfileARN: src.ProfileARN, RoleARN: r.cfg.ARN, Duration: r.cfg.Duration,
	})
	var xe *x509cred.Error
	if errors.As(err, &xe) && xe.Status >= 400 && xe.Status < 500 {
		return aws.Credentials{}, &session.Error{Kind: session.NonRecoverable, Code: xe.Code, Message: xe.Message, Err: err}
	}
	if err != nil {
		return aws.Credentials{}, err
	}
	if r.accountID != "" {
		creds.AccountID = r.accountID
	}
	return creds, nil
}

// openX509 opens the source's identity (a key file, a PKCS #11 token, a TPM); the
// function returned releases it.
func openX509(src *config.Source) (x509cred.Identity, func(), error) {
	if src.PrivateKey != "" {
		id, err := x509cred.LoadFiles(src.Certificate, src.PrivateKey, src.Intermediates)
		return id, func() {}, err
	}
	if src.TPMDevice != "" {
		h, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(src.TPMKeyHandle), "0x"), 16, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("tpm_key_handle %q is not a hex handle", src.TPMKeyHandle)
		}
		id, err := x509cred.OpenTPM(x509cred.TPM{Device: src.TPMDevice, Handle: uint32(h), CertFile: src.Certificate, ChainFile: src.Intermediates})
		if err != nil {
			return nil, nil, err
		}
		return id, func() { _ = id.Close() }, nil
	}
	pin, err := secretfile.Read(src.PINFile, "PIN file", secretfile.For(src.PINFile))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the token's PIN: %w", err)
	}
	id, err := x509cred.OpenPKCS11(x509cred.PKCS11{Module: src.PKCS11Module, TokenLabel: src.PKCS11Token,
		KeyLabel: src.PKCS11Key, PIN: strings.TrimRight(string(pin), "\r\n"), CertFile: src.Certificate, ChainFile: src.Intermediates})
	clear(pin)
	if err != nil {
		return nil, nil, err
	}
	return id, func() { _ = id.Close() }, nil
}
