package saml_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credbroker/credbroker/sts/saml"
	"github.com/credbroker/credbroker/sts/saml/samltest"
)

// FuzzParseMetadata: any document is parsed or refused with a *saml.Error, never a
// panic; a parsed one has an entity id and a certificate.
func FuzzParseMetadata(f *testing.F) {
	idp := &samltest.IdP{EntityID: "https://idp.example.com", Keys: []samltest.Key{samltest.NewKey(f, "k")}}
	md := idp.Metadata()
	for _, s := range []string{md, md[:len(md)/2], strings.Replace(md, "signing", "encryption", 1),
		`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := saml.ParseMetadata(doc)
		var se *saml.Error
		switch {
		case err != nil && !errors.As(err, &se):
			t.Fatalf("error %T %v is not a *saml.Error", err, err)
		case err == nil && (m.EntityID == "" || len(m.Certificates) == 0):
			t.Fatalf("parsed %+v", m)
		}
	})
}

// FuzzVerify: any response is verified or refused with a *saml.Error, never a panic;
// none is accepted unless the IdP signed it.
func FuzzVerify(f *testing.F) {
	k := samltest.NewKey(f, "k")
	idp := &samltest.IdP{EntityID: "https://idp.example.com", Keys: []samltest.Key{k}}
	md, err := saml.ParseMetadata([]byte(idp.Metadata()))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	r := idp.For("arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:saml-provider/p", now)
	signed := samltest.SignGo(f, r.XML(false), k, samltest.SignAssertion)
	for _, s := range []string{signed, r.XML(false), strings.Replace(signed, "alice", "admin", 1), "<x/>", ""} {
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)))
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		a, err := saml.Verify(encoded, md, now)
		var se *saml.Error
		if err != nil {
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a *saml.Error", err, err)
			}
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
		if !strings.Contains(string(raw), "SignatureValue") || a.Issuer != idp.EntityID {
			t.Fatalf("accepted an unsigned response: %s", raw)
		}
	})
}
