package iamapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/sts/store"
)

func TestServerCertificates(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	now := f.clock.Now()
	root := makeCert(t, "Root CA", now.Add(-time.Hour), now.Add(48*time.Hour), nil, true)
	inter := makeCert(t, "Intermediate CA", now.Add(-time.Hour), now.Add(48*time.Hour), &root, true)
	leaf := makeCert(t, "www.example.com", now.Add(-time.Hour), now.Add(24*time.Hour), &inter, false)
	other := makeCert(t, "other", now.Add(-time.Hour), now.Add(24*time.Hour), nil, false)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalECPrivateKey(otherKey)
	sec1 := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: otherDER}))

	up := must[*iam.UploadServerCertificateOutput](t)(c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String("www"), Path: aws.String("/cloudfront/"), CertificateBody: aws.String(leaf.pem),
		CertificateChain: aws.String(inter.pem + root.pem), PrivateKey: aws.String(leaf.keyPEM(t)),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}))
	m := up.ServerCertificateMetadata
	if aws.ToString(m.Arn) != "arn:aws:iam::123456789012:server-certificate/cloudfront/www" || len(aws.ToString(m.ServerCertificateId)) != 21 ||
		aws.ToString(m.ServerCertificateId)[:4] != "ASCA" || !m.Expiration.Equal(leaf.cert.NotAfter) || !m.UploadDate.Equal(now) || len(up.Tags) != 1 {
		t.Errorf("UploadServerCertificate = %+v", m)
	}
	got := must[*iam.GetServerCertificateOutput](t)(c.GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: aws.String("www")})).ServerCertificate
	if aws.ToString(got.CertificateBody) != leaf.pem || aws.ToString(got.CertificateChain) != inter.pem+root.pem || len(got.Tags) != 1 {
		t.Errorf("GetServerCertificate = %+v", got)
	}

	bad := []struct {
		name              string
		body, chain, key  string
		code, messagePart string
	}{
		{"key of another certificate", other.pem, "", leaf.keyPEM(t), "KeyPairMismatch", ""},
		{"SEC 1 key of nobody", other.pem, "", sec1, "KeyPairMismatch", ""},
		{"chain out of order", leaf.pem, root.pem + inter.pem, leaf.keyPEM(t), "MalformedCertificate", "certificate chain"},
		{"chain of strangers", leaf.pem, other.pem, leaf.keyPEM(t), "MalformedCertificate", "certificate chain"},
		{"expired", makeCert(t, "old", now.Add(-48*time.Hour), now.Add(-time.Hour), nil, false).pem, "", leaf.keyPEM(t), "MalformedCertificate", "expired"},
		{"not a key", leaf.pem, "", "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n", "MalformedCertificate", "private key"},
		{"not a certificate", "hello", "", leaf.keyPEM(t), "MalformedCertificate", "PEM format"},
	}
	for _, tc := range bad {
		_, err := c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("bad"),
			CertificateBody: aws.String(tc.body), CertificateChain: optString(tc.chain), PrivateKey: aws.String(tc.key)})
		wantErr(t, err, tc.code, http.StatusBadRequest, tc.messagePart)
	}
	_, err := c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("WWW"),
		CertificateBody: aws.String(leaf.pem), PrivateKey: aws.String(leaf.keyPEM(t))})
	wantErr(t, err, "EntityAlreadyExists", http.StatusConflict, "")

	// The key is kept (sealed: see the store's TestNoPlaintextSecrets) and opens.
	der, _ := pem.Decode([]byte(leaf.keyPEM(t)))
	f.update(func(tx *store.Tx) error {
		k, err := tx.ServerCertificatePrivateKey("www")
		if !bytes.Equal(k, der.Bytes) {
			t.Errorf("kept key differs")
		}
		return err
	})

	// Rename and move, lists by path, delete.
	check(t, ignore(c.UpdateServerCertificate(ctx, &iam.UpdateServerCertificateInput{ServerCertificateName: aws.String("www"),
		NewServerCertificateName: aws.String("www-2026"), NewPath: aws.String("/elb/")})))
	_, err = c.GetServerCertificate(ctx, &iam.GetServerCertificateInput{ServerCertificateName: aws.String("www")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Server Certificate with name www cannot be found.")
	l := must[*iam.ListServerCertificatesOutput](t)(c.ListServerCertificates(ctx, &iam.ListServerCertificatesInput{PathPrefix: aws.String("/elb/")}))
	if len(l.ServerCertificateMetadataList) != 1 || aws.ToString(l.ServerCertificateMetadataList[0].Arn) != "arn:aws:iam::123456789012:server-certificate/elb/www-2026" {
		t.Errorf("ListServerCertificates = %+v", l.ServerCertificateMetadataList)
	}
	if l := must[*iam.ListServerCertificatesOutput](t)(c.ListServerCertificates(ctx, &iam.ListServerCertificatesInput{PathPrefix: aws.String("/cloudfront/")})); len(l.ServerCertificateMetadataList) != 0 {
		t.Errorf("old path still lists %+v", l.ServerCertificateMetadataList)
	}
	// Renaming needs the permission on the new name too.
	mover := f.client(f.inlineUser("mover", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:UpdateServerCertificate","Resource":"arn:aws:iam::*:server-certificate/elb/*"}]}`))
	_, err = mover.UpdateServerCertificate(ctx, &iam.UpdateServerCertificateInput{ServerCertificateName: aws.String("www-2026"), NewPath: aws.String("/other/")})
	wantErr(t, err, "AccessDenied", http.StatusForbidden, "server-certificate/other/www-2026")
	check(t, ignore(mover.UpdateServerCertificate(ctx, &iam.UpdateServerCertificateInput{ServerCertificateName: aws.String("www-2026"), NewServerCertificateName: aws.String("www")})))
	check(t, f.store.Check(ctx))
	check(t, ignore(c.DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("www")})))
	_, err = c.DeleteServerCertificate(ctx, &iam.DeleteServerCertificateInput{ServerCertificateName: aws.String("www")})
	wantErr(t, err, "NoSuchEntity", http.StatusNotFound, "")

	// Twenty per account.
	for i := range 20 {
		check(t, ignore(c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("c" + string(rune('a'+i))),
			CertificateBody: aws.String(leaf.pem), PrivateKey: aws.String(leaf.keyPEM(t))})))
	}
	if sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})); sum.SummaryMap["ServerCertificates"] != 20 {
		t.Errorf("summary ServerCertificates = %d", sum.SummaryMap["ServerCertificates"])
	}
	_, err = c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("one-too-many"),
		CertificateBody: aws.String(leaf.pem), PrivateKey: aws.String(leaf.keyPEM(t))})
	wantErr(t, err, "LimitExceeded", http.StatusConflict, "ServerCertificatesPerAccount: 20")
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
