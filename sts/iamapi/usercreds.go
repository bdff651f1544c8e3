package iamapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
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

// addCredential authorizes action on the owner and stores cred.
func addCredential(ctx context.Context, c *sts.Call, action string, cred account.UserCredential) (account.UserCredential, error) {
	u, err := loadUserOrSelf(ctx, c, action)
	if err != nil {
		return cred, err
	}
	return updated(ctx, c, func(tx *store.Tx) (account.UserCredential, error) { return tx.AddUserCredential(u.Name, cred) })
}

// getCredential authorizes action on the owner and reads the credential idParam names.
func getCredential(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, idParam string) (account.UserCredential, error) {
	u, err := loadUserOrSelf(ctx, c, action)
	if err != nil {
		return account.UserCredential{}, err
	}
	return viewed(ctx, c, func(tx *store.Tx) (account.UserCredential, error) {
		return tx.UserCredential(kind, u.Name, c.Params.String(idParam))
	})
}

// listCredentials authorizes action on the owner and answers one page of its
// credentials, rendered with as, in the list result name.
func listCredentials[X any](ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, name string,
	as func(account.UserCredential) X) (any, error) {
	u, err := loadUserOrSelf(ctx, c, action)
	if err != nil {
		return nil, err
	}
	return viewPaginated(ctx, c, name, func(tx *store.Tx) ([]account.UserCredential, error) { return tx.UserCredentials(kind, u.Name) }, as)
}

// updateCredential authorizes action on the owner and applies fn to the credential.
func updateCredential(ctx context.Context, c *sts.Call, action string, kind account.CredentialKind, idParam string,
	fn func(*account.UserCredential) error) (account.UserCredential, error) {
	u, err := loadUserOrSelf(ctx, c, action)
	if err != nil {
		return account.UserCredential{}, err
	}
	return updated(ctx, c, func(tx *store.Tx) (account.UserCredential, error) {
		return tx.UpdateUserCredential(kind, u.Name, c.Params.String(idParam), fn)
	})
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
	return changeLoaded(ctx, c, loadUserOrSelf, action,
		func(tx *store.Tx, u account.User) error {
			return tx.DeleteUserCredential(kind, u.Name, c.Params.String(idParam))
		})
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

func sshKeyOf(cred account.UserCredential, body string) *element {
	return one("SSHPublicKey", sshKeyXML{UserName: ownerName(cred), SSHPublicKeyID: cred.ID, Fingerprint: cred.Digest,
		Body: body, Status: string(cred.Status), UploadDate: ts(cred.Created)})
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

func (a *API) listSSHPublicKeys(ctx context.Context, c *sts.Call) (any, error) {
	return listCredentials(ctx, c, "iam:ListSSHPublicKeys", account.CredSSHPublicKey, "SSHPublicKeys", func(k account.UserCredential) sshKeyEntryXML {
		return sshKeyEntryXML{UserName: ownerName(k), SSHPublicKeyID: k.ID, Status: string(k.Status), UploadDate: ts(k.Created)}
	})
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
	return one("Certificate", signingCertOf(cred)), nil
}

func (a *API) listSigningCertificates(ctx context.Context, c *sts.Call) (any, error) {
	return listCredentials(ctx, c, "iam:ListSigningCertificates", account.CredSigningCertificate, "Certificates", signingCertOf)
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
	return one("ServiceSpecificCredential", serviceCredOf(cred, c.Now)), nil
}

// quoteName cuts a name for a message.
func quoteName(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

func (a *API) listServiceSpecificCredentials(ctx context.Context, c *sts.Call) (any, error) {
	read := func(tx *store.Tx) ([]account.UserCredential, error) {
		return tx.AllUserCredentials(account.CredServiceSpecific)
	}
	if all, _ := c.Params.Bool("AllUsers"); all {
		if err := c.Authorize("iam:ListServiceSpecificCredentials", listARN(c, "user", "/")); err != nil {
			return nil, err
		}
	} else {
		u, err := loadUserOrSelf(ctx, c, "iam:ListServiceSpecificCredentials")
		if err != nil {
			return nil, err
		}
		read = func(tx *store.Tx) ([]account.UserCredential, error) {
			return tx.UserCredentials(account.CredServiceSpecific, u.Name)
		}
	}
	creds, err := viewed(ctx, c, read)
	if err != nil {
		return nil, err
	}
	svc := c.Params.String("ServiceName")
	creds = slices.DeleteFunc(creds, func(cred account.UserCredential) bool { return svc != "" && cred.ServiceName != svc })
	return paged(c, "ServiceSpecificCredentials", creds, func(cred account.UserCredential) serviceCredXML { return serviceCredOf(cred, c.Now) })
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
	return one("ServiceSpecificCredential", serviceCredOf(cred, c.Now)), nil
}

func (a *API) updateServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	_, err := updateCredential(ctx, c, "iam:UpdateServiceSpecificCredential", account.CredServiceSpecific, "ServiceSpecificCredentialId", setStatus(c))
	return ok(err)
}

func (a *API) deleteServiceSpecificCredential(ctx context.Context, c *sts.Call) (any, error) {
	return deleteCredential(ctx, c, "iam:DeleteServiceSpecificCredential", account.CredServiceSpecific, "ServiceSpecificCredentialId")
}
