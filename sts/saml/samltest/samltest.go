// Package samltest is a SAML 2.0 identity provider for tests: signing keys with
// self-signed certificates, the metadata document naming them, and responses signed
// in Go (github.com/russellhaering/goxmldsig) or by xmlsec1, the XML Security Library's
// command line tool, as an IdP written in C would sign them.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/credbroker/credbroker/internal/testtool"
)

// Key is one signing key of an IdP with its certificate.
type Key struct {
	Private *rsa.PrivateKey
	Cert    *x509.Certificate
}

// NewKey makes a 2048-bit RSA key and a certificate for it valid from a day ago for
// a year.
func NewKey(t testing.TB, cn string) Key {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Private: k, Cert: cert}
}

// IdP is an identity provider: its entity id and signing keys (all published).
type IdP struct {
	EntityID string
	Keys     []Key
}

// Metadata is the IdP's metadata document, naming every key for signing.
func (p *IdP) Metadata() string {
	var keys strings.Builder
	for _, k := range p.Keys {
		fmt.Fprintf(&keys, `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
			base64.StdEncoding.EncodeToString(k.Cert.Raw))
	}
	// IAM requires at least 1,000 characters; a real IdP's metadata has more than
	// that, and so does this one with its SSO endpoints and name id formats.
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + p.EntityID + `">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    ` + keys.String() + `
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso/redirect"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso/post"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`
}

// Response describes a SAML response; zero fields take the defaults of For.
type Response struct {
	ID, AssertionID         string
	Issuer                  string
	IssueInstant            time.Time
	NotBefore, NotOnOrAfter time.Time
	Audience, Recipient     string
	Destination             string // the Response's; "" leaves it out
	NameID, NameIDFormat    string
	// Attributes by name; AWS's Role and RoleSessionName among them.
	Attributes map[string][]string
	// SessionNotOnOrAfter ends the AuthnStatement's session (zero: no such attribute).
	SessionNotOnOrAfter time.Time
	// InheritNS leaves the saml prefix to the Response: the Assertion does not
	// declare it again.
	InheritNS bool
}

// For returns a response of p for roleARN through providerARN, issued at now, valid
// five minutes, for AWS's sign-in endpoint, with session name "alice".
func (p *IdP) For(roleARN, providerARN string, now time.Time) Response {
	id := fmt.Sprintf("_%x", now.UnixNano())
	return Response{
		ID: "_r" + id, AssertionID: "_a" + id, Issuer: p.EntityID, IssueInstant: now,
		NotBefore: now.Add(-time.Minute), NotOnOrAfter: now.Add(5 * time.Minute),
		Audience: "urn:amazon:webservices", Recipient: "https://signin.aws.amazon.com/saml", Destination: "https://signin.aws.amazon.com/saml",
		NameID: "alice@example.com", NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		Attributes: map[string][]string{
			"https://aws.amazon.com/SAML/Attributes/Role":            {roleARN + "," + providerARN},
			"https://aws.amazon.com/SAML/Attributes/RoleSessionName": {"alice"},
		},
	}
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// XML renders the response, unsigned. With template set, the Assertion carries an
// empty signature template after its Issuer, for xmlsec1 to fill.
func (r Response) XML(template bool) string {
	var attrs strings.Builder
	for name, vals := range r.Attributes {
		fmt.Fprintf(&attrs, `<saml:Attribute Name="%s">`, name)
		for _, v := range vals {
			fmt.Fprintf(&attrs, `<saml:AttributeValue>%s</saml:AttributeValue>`, v)
		}
		attrs.WriteString(`</saml:Attribute>`)
	}
	sig := ""
	if template {
		sig = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
			`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
			`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
			`<ds:Reference URI="#` + r.AssertionID + `"><ds:Transforms>` +
			`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
			`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
			`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
			`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>`
	}
	destination := ""
	if r.Destination != "" {
		destination = ` Destination="` + r.Destination + `"`
	}
	sessionEnd := ""
	if !r.SessionNotOnOrAfter.IsZero() {
		sessionEnd = ` SessionNotOnOrAfter="` + ts(r.SessionNotOnOrAfter) + `"`
	}
	assertionNS := ` xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`
	if r.InheritNS {
		assertionNS = ""
	}
	cond := `<saml:Conditions`
	if !r.NotBefore.IsZero() {
		cond += ` NotBefore="` + ts(r.NotBefore) + `"`
	}
	if !r.NotOnOrAfter.IsZero() {
		cond += ` NotOnOrAfter="` + ts(r.NotOnOrAfter) + `"`
	}
	cond += `><saml:AudienceRestriction><saml:Audience>` + r.Audience + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
	return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
		` ID="` + r.ID + `" Version="2.0" IssueInstant="` + ts(r.IssueInstant) + `"` + destination + `>` +
		`<saml:Issuer>` + r.Issuer + `</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion` + assertionNS + ` ID="` + r.AssertionID + `" Version="2.0" IssueInstant="` + ts(r.IssueInstant) + `">` +
		`<saml:Issuer>` + r.Issuer + `</saml:Issuer>` + sig +
		`<saml:Subject><saml:NameID Format="` + r.NameIDFormat + `">` + r.NameID + `</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
		`<saml:SubjectConfirmationData NotOnOrAfter="` + ts(r.NotOnOrAfter) + `" Recipient="` + r.Recipient + `"/>` +
		`</saml:SubjectConfirmation></saml:Subject>` + cond +
		`<saml:AuthnStatement AuthnInstant="` + ts(r.IssueInstant) + `"` + sessionEnd + `><saml:AuthnContext><saml:AuthnContextClassRef>` +
		`urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
		`<saml:AttributeStatement>` + attrs.String() + `</saml:AttributeStatement>` +
		`</saml:Assertion></samlp:Response>`
}

// What SignGo signs.
const (
	SignAssertion = "Assertion"
	SignResponse  = "Response"
)

// SignGo signs the response's Assertion (what = SignAssertion) or the whole Response
// with k, in Go, and returns the document.
func SignGo(t testing.TB, xml string, k Key, what string) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	ctx, err := dsig.NewSigningContext(k.Private, [][]byte{k.Cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	el := doc.Root()
	if what == SignAssertion {
		el = doc.Root().SelectElement("Assertion")
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	if what == SignAssertion {
		doc.Root().RemoveChild(el)
		doc.Root().AddChild(signed)
	} else {
		doc.SetRoot(signed)
	}
	out, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Xmlsec1 returns the path of xmlsec1, skipping the test when it is not installed.
func Xmlsec1(t testing.TB) string {
	t.Helper()
	return testtool.Path(t, "xmlsec1")
}

// SignXmlsec1 signs the Assertion of r (rendered with its signature template) with
// k, by xmlsec1, and returns the document.
func SignXmlsec1(t testing.TB, r Response, k Key) string {
	t.Helper()
	bin := Xmlsec1(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	certFile := write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw}))
	in := write("response.xml", []byte(r.XML(true)))
	out, err := exec.Command(bin, "--sign", "--privkey-pem", keyFile+","+certFile,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", "/dev/stdout", in).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, stderr)
	}
	return string(out)
}

// Encode is the SAMLAssertion parameter: the response, base64.
func Encode(xml string) string { return base64.StdEncoding.EncodeToString([]byte(xml)) }

// Decode is the response an encoded SAMLAssertion holds.
func Decode(t testing.TB, encoded string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
