package iamapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/credbroker/credbroker/sts"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/query"
	"github.com/credbroker/credbroker/sts/store"
)

// A user's SSH public keys, signing certificates and service-specific credentials are
// all authorized on the user, as IAM does (iam:UploadSSHPublicKey on
// arn:aws:iam::ACCOUNT:user/NAME, …), and default to the caller's own user where the
// model makes UserName optional.

// credentialOwner reads UserName (or the caller's own user when the parameter is
// optional and absent) and authorizes action on that user.
func credentialOwner(ctx context.Context, c *sts.Call, action string) (account.User, error) {
	name, err := userName(c)
	if err != nil {
		return account.User{}, err
	}
	return loadUser(ctx, c, action, name)
}

// addCredential authorizes action on the owner and stores cred.
func addCredential(ctx context.Context, c *sts.Call, action string, cred account.UserCredential) (account.UserCredential, error) {
	u, err := credentialOwner(ctx, c, action)
	if err != nil {
		return cred, err
	}
	err = update(ctx, c, func(tx *store.Tx) error {
		cred, err = tx.AddUserCredential(u.Name, cred)
		return err
	})
	return cred, err
}

// getCredential authorizes action on the owner and reads the credential idParam names.
func getCredential(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, idParam string) (account.UserCredential, error) {
	u, err := credentialOwner(ctx, c, action)
	if err != nil {
		return account.UserCredential{}, err
	}
	var cred account.UserCredential
	err = view(ctx, c, func(tx *store.Tx) error {
		cred, err = tx.UserCredential(kind, u.Name, c.Params.String(idParam))
		return err
	})
	return cred, err
}

// listCredentials authorizes action on the owner and reads one page of its credentials.
func listCredentials(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind) ([]account.UserCredential, string, error) {
	u, err := credentialOwner(ctx, c, action)
	if err != nil {
		return nil, "", err
	}
	var creds []account.UserCredential
	if err := view(ctx, c, func(tx *store.Tx) error {
		creds, err = tx.UserCredentials(kind, u.Name)
		return err
	}); err != nil {
		return nil, "", err
	}
	return paginate(creds, pageOf(c.Params))
}

// updateCredential authorizes action on the owner and applies fn to the credential.
func updateCredential(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, idParam string,
	fn func(*account.UserCredential) error) (account.UserCredential, error) {
	u, err := credentialOwner(ctx, c, action)
	if err != nil {
		return account.UserCredential{}, err
	}
	var cred account.UserCredential
	err = update(ctx, c, func(tx *store.Tx) error {
		cred, err = tx.UpdateUserCredential(kind, u.Name, c.Params.String(idParam), fn)
		return err
	})
	return cred, err
}

// setStatus is the change of Update{SSHPublicKey,SigningCertificate,ServiceSpecificCredential}.
func setStatus(c *sts.Call) func(*account.UserCredential) error {
	status := account.KeyStatus(c.Params.String("Status"))
	return func(cred *account.UserCredential) error {
		if status != account.KeyActive && status != account.KeyInactive {
			return account.Errorf(account.InvalidInput, "Status %s cannot be set: use Active or Inactive.", status)
		}
		cred.Status = status
		return nil
	}
}

// deleteCredential authorizes action on the owner and deletes the credential.
func deleteCredential(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, idParam string) (any, error) {
	u, err := credentialOwner(ctx, c, action)
	if err != nil {
		return nil, err
	}
	return ok(update(ctx, c, func(tx *store.Tx) error {
		return tx.DeleteUserCredential(kind, u.Name, c.Params.String(idParam))
	}))
}

// ownerName is the UserName IAM reports for a credential's owner.
func ownerName(cred account.UserCredential) string { return cred.UserName }

// --- SSH public keys ---

type sshKeyXML struct {
	UserName       string          `xml:"UserName"`
	SSHPublicKeyID string          `xml:"SSHPublicKeyId"`
	Fingerprint    string          `xml:"Fingerprint"`
	Body           string          `xml:"SSHPublicKeyBody"`
	Status         string          `xml:"Status"`
	UploadDate     query.Timestamp `xml:"UploadDate"`
}

type sshKeyResult struct {
	SSHPublicKey sshKeyXML `xml:"SSHPublicKey"`
}

func sshKeyOf(cred account.UserCredential, body string) *sshKeyResult {
	return &sshKeyResult{SSHPublicKey: sshKeyXML{UserName: ownerName(cred), SSHPublicKeyID: cred.ID, Fingerprint: cred.Digest,
		Body: body, Status: string(cred.Status), UploadDate: ts(cred.Created)}}
}

func (a *API) uploadSSHPublicKey(ctx context.Context, c *sts.Call) (any, error) {
	k, err := account.ParseSSHPublicKey(c.Params.String("SSHPublicKeyBody"))
	if err != nil {
		return nil, err
	}
	cred, err := addCredential(ctx, c, "iam:UploadSSHPublicKey",
		account.UserCredential{Kind: account.CredSSHPublicKey, Body: k.SSH(), Digest: k.Fingerprint()})
	if err != nil {
		return nil, err
	}
	return sshKeyOf(cred, cred.Body), nil
}

func (a *API) getSSHPublicKey(ctx context.Context, c *sts.Call) (any, error) {
	cred, err := getCredential(ctx, c, "iam:GetSSHPublicKey", account.CredSSHPublicKey, "SSHPublicKeyId")
	if err != nil {
		return nil, err
	}
	switch c.Params.String("Encoding") {
	case "SSH":
		return sshKeyOf(cred, cred.Body), nil
	case "PEM":
		k, err := account.ParseSSHPublicKey(cred.Body)
		if err != nil {
			return nil, query.Internal(fmt.Errorf("stored SSH key %s: %w", cred.ID, err))
		}
		p, err := k.PEM()
		if err != nil {
			return nil, query.Internal(err)
		}
		return sshKeyOf(cred, p), nil
	}
	return nil, account.Errorf(account.UnrecognizedPublicKeyEncoding, "Encoding %s is not supported: use SSH or PEM.", c.Params.String("Encoding"))
}

type sshKeyEntryXML struct {
	UserName       string          `xml:"UserName"`
	SSHPublicKeyID string          `xml:"SSHPublicKeyId"`
	Status         string          `xml:"Status"`
	UploadDate     query.Timestamp `xml:"UploadDate"`
}

type listSSHKeysResult struct {
	SSHPublicKeys members[sshKeyEntryXML] `xml:"SSHPublicKeys"`
	page
}

func (a *API) listSSHPublicKeys(ctx context.Context, c *sts.Call) (any, error) {
	creds, next, err := listCredentials(ctx, c, "iam:ListSSHPublicKeys", account.CredSSHPublicKey)
	if err != nil {
		return nil, err
	}
	out := make([]sshKeyEntryXML, len(creds))
	for i, k := range creds {
		out[i] = sshKeyEntryXML{UserName: ownerName(k), SSHPublicKeyID: k.ID, Status: string(k.Status), UploadDate: ts(k.Created)}
	}
	return &listSSHKeysResult{SSHPublicKeys: list(out), page: pageResult(next)}, nil
}

func (a *API) updateSSHPublicKey(ctx context.Context, c *sts.Call) (any, error) {
	_, err := updateCredential(ctx, c, "iam:UpdateSSHPublicKey", account.CredSSHPublicKey, "SSHPublicKeyId", setStatus(c))
	return ok(err)
}

func (a *API) deleteSSHPublicKey(ctx context.Context, c *sts.Call) (any, error) {
	return deleteCredential(ctx, c, "iam:DeleteSSHPublicKey", account.CredSSHPublicKey, "SSHPublicKeyId")
}

// --- Signing certificates ---

type signingCertXML struct {
	UserName      string          `xml:"UserName"`
	CertificateID string          `xml:"CertificateId"`
	Body          string          `xml:"CertificateBody"`
	Status        string          `xml:"Status"`
	UploadDate    query.Timestamp `xml:"UploadDate"`
}

func signingCertOf(cred account.UserCredential) signingCertXML {
	return signingCertXML{UserName: ownerName(cred), CertificateID: cred.ID, Body: cred.Body, Status: string(cred.Status), UploadDate: ts(cred.Created)}
}

type uploadSigningCertResult struct {
	Certificate signingCertXML `xml:"Certificate"`
}

func (a *API) uploadSigningCertificate(ctx context.Context, c *sts.Call) (any, error) {
	cert, err := account.ParseCertificatePEM(c.Params.String("CertificateBody"))
	if err != nil {
		return nil, err
	}
	if err := account.CheckValidity(cert, c.Now, account.InvalidCertificate); err != nil {
		return nil, err
	}
	cred, err := addCredential(ctx, c, "iam:UploadSigningCertificate", account.UserCredential{Kind: account.CredSigningCertificate,
		Body: account.NormalizedPEM(cert), Digest: account.CertificateDigest(cert)})
	if err != nil {
		return nil, err
	}
	return &uploadSigningCertResult{Certificate: signingCertOf(cred)}, nil
}

type listSigningCertsResult struct {
	Certificates members[signingCertXML] `xml:"Certificates"`
	page
}

func (a *API) listSigningCertificates(ctx context.Context, c *sts.Call) (any, error) {
	creds, next, err := listCredentials(ctx, c, "iam:ListSigningCertificates", account.CredSigningCertificate)
	if err != nil {
		return nil, err
	}
	out := make([]signingCertXML, len(creds))
	for i, k := range creds {
		out[i] = signingCertOf(k)
	}
	return &listSigningCertsResult{Certificates: list(out), page: pageResult(next)}, nil
}

func (a *API) updateSigningCertificate(ctx context.Context, c *sts.Call) (any, error) {
	_, err := updateCredential(ctx, c, "iam:UpdateSigningCertificate", account.CredSigningCertificate, "CertificateId", setStatus(c))
	return ok(err)
}

func (a *API) deleteSigningCertificate(ctx context.Context, c *sts.Call) (any, error) {
	return deleteCredential(ctx, c, "iam:DeleteSigningCertificate", account.CredSigningCertificate, "CertificateId")
}

// --- Service-specific credentials ---

// serviceCredentialKinds are the services IAM makes service-specific credentials for:
// a user name and password (CodeCommit's Git credentials, Amazon Keyspaces), or an
// API key with an alias and a secret (Amazon Bedrock).
var serviceCredentialKinds = map[string]bool{
	"codecommit.amazonaws.com": false,
	"cassandra.amazonaws.com":  false,
	"bedrock.amazonaws.com":    true, // API key
}

type serviceCredXML struct {
	CreateDate      query.Timestamp  `xml:"CreateDate"`
	ExpirationDate  *query.Timestamp `xml:"ExpirationDate,omitempty"`
	ServiceName     string           `xml:"ServiceName"`
	ServiceUserName string           `xml:"ServiceUserName,omitempty"`
	ServicePassword string           `xml:"ServicePassword,omitempty"`
	Alias           string           `xml:"ServiceCredentialAlias,omitempty"`
	Secret          string           `xml:"ServiceCredentialSecret,omitempty"`
	ID              string           `xml:"ServiceSpecificCredentialId"`
	UserName        string           `xml:"UserName"`
	Status          string           `xml:"Status"`
}

type serviceCredResult struct {
	ServiceSpecificCredential serviceCredXML `xml:"ServiceSpecificCredential"`
}

// serviceCredOf renders a credential; the secret only when it was just made.
func serviceCredOf(cred account.UserCredential, now time.Time) serviceCredXML {
	x := serviceCredXML{CreateDate: ts(cred.Created), ExpirationDate: optTS(cred.Expires), ServiceName: cred.ServiceName,
		ServiceUserName: cred.ServiceUserName, Alias: cred.Alias, ID: cred.ID, UserName: ownerName(cred), Status: string(cred.Status)}
	if !cred.Expires.IsZero() && !now.Before(cred.Expires) {
		x.Status = "Expired"
	}
	if cred.Secret != "" {
		if serviceCredentialKinds[cred.ServiceName] {
			x.Secret = cred.Secret
		} else {
			x.ServicePassword = cred.Secret
		}
	}
	return x
}

// newServiceSecret is a password (or API key secret): 30 random bytes in base64.
func newServiceSecret(r io.Reader) (string, error) {
	var b [30]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("reading randomness for a service password: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func (a *API) createServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	svc := c.Params.String("ServiceName")
	apiKey, known := serviceCredentialKinds[svc]
	if !known {
		return nil, account.Errorf(account.NotSupportedService, "The service %s is not supported for service specific credentials.", quoteName(svc))
	}
	secret, err := newServiceSecret(c.Rand())
	if err != nil {
		return nil, err
	}
	name := c.Params.String("UserName")
	cred := account.UserCredential{Kind: account.CredServiceSpecific, ServiceName: svc, Secret: secret}
	if apiKey {
		var tag [3]byte
		if _, err := io.ReadFull(c.Rand(), tag[:]); err != nil {
			return nil, err
		}
		cred.Alias = fmt.Sprintf("BedrockAPIKey-%s-at-%s", strings.ToLower(base64.RawURLEncoding.EncodeToString(tag[:])), c.AccountID())
	} else {
		cred.ServiceUserName = name + "-at-" + c.AccountID()
	}
	if days, ok := c.Params.Int("CredentialAgeDays"); ok {
		cred.Expires = c.Now.UTC().Truncate(time.Second).Add(time.Duration(days) * 24 * time.Hour)
	}
	cred, err = addCredential(ctx, c, "iam:CreateServiceSpecificCredential", cred)
	if err != nil {
		return nil, err
	}
	cred.Secret = secret
	return &serviceCredResult{ServiceSpecificCredential: serviceCredOf(cred, c.Now)}, nil
}

// quoteName cuts a name for a message.
func quoteName(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

type listServiceCredsResult struct {
	ServiceSpecificCredentials members[serviceCredXML] `xml:"ServiceSpecificCredentials"`
	page
}

func (a *API) listServiceSpecificCredentials(ctx context.Context, c *sts.Call) (any, error) {
	var creds []account.UserCredential
	if all, _ := c.Params.Bool("AllUsers"); all {
		if err := c.Authorize("iam:ListServiceSpecificCredentials", listARN(c, "user", "/")); err != nil {
			return nil, err
		}
		if err := view(ctx, c, func(tx *store.Tx) error {
			var err error
			creds, err = tx.AllUserCredentials(account.CredServiceSpecific)
			return err
		}); err != nil {
			return nil, err
		}
	} else {
		u, err := credentialOwner(ctx, c, "iam:ListServiceSpecificCredentials")
		if err != nil {
			return nil, err
		}
		if err := view(ctx, c, func(tx *store.Tx) error {
			creds, err = tx.UserCredentials(account.CredServiceSpecific, u.Name)
			return err
		}); err != nil {
			return nil, err
		}
	}
	svc := c.Params.String("ServiceName")
	out := make([]serviceCredXML, 0, len(creds))
	for _, cred := range creds {
		if svc == "" || cred.ServiceName == svc {
			out = append(out, serviceCredOf(cred, c.Now))
		}
	}
	items, next, err := paginate(out, pageOf(c.Params))
	if err != nil {
		return nil, err
	}
	return &listServiceCredsResult{ServiceSpecificCredentials: list(items), page: pageResult(next)}, nil
}

func (a *API) resetServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	secret, err := newServiceSecret(c.Rand())
	if err != nil {
		return nil, err
	}
	cred, err := updateCredential(ctx, c, "iam:ResetServiceSpecificCredential", account.CredServiceSpecific, "ServiceSpecificCredentialId",
		func(cred *account.UserCredential) error { cred.Secret = secret; return nil })
	if err != nil {
		return nil, err
	}
	return &serviceCredResult{ServiceSpecificCredential: serviceCredOf(cred, c.Now)}, nil
}

func (a *API) updateServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	_, err := updateCredential(ctx, c, "iam:UpdateServiceSpecificCredential", account.CredServiceSpecific, "ServiceSpecificCredentialId", setStatus(c))
	return ok(err)
}

func (a *API) deleteServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	return deleteCredential(ctx, c, "iam:DeleteServiceSpecificCredential", account.CredServiceSpecific, "ServiceSpecificCredentialId")
}
