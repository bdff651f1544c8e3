// Package saml reads what IAM's SAML federation takes from the outside: an identity
// provider's metadata document (CreateSAMLProvider) and a signed SAML 2.0 response
// (AssumeRoleWithSAML). Signatures are verified by github.com/russellhaering/goxmldsig
// (XML-DSig with exclusive canonicalization), never by code of ours; only the element
// the library verified is read, so that a signature over one element cannot vouch for
// another (signature wrapping).
package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// XML namespaces.
const (
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	statusOK    = "urn:oasis:names:tc:SAML:2.0:status:Success"
	bearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// Limits on documents from the outside.
const (
	// MaxMetadataBytes is IAM's limit on SAMLMetadataDocument.
	MaxMetadataBytes = 10_000_000
	// MaxAssertionBytes bounds a decoded SAML response (STS takes 100,000 characters
	// of base64).
	MaxAssertionBytes = 100_000
	// maxDepth bounds element nesting.
	maxDepth = 64
)

// Kind classifies an Error the way STS answers it.
type Kind int

// Kinds of errors.
const (
	// Invalid: the document is malformed, unsigned, badly signed or not meant for
	// AWS (InvalidIdentityToken, or InvalidInput for metadata).
	Invalid Kind = iota
	// Expired: the response is too old or its conditions have passed
	// (ExpiredTokenException).
	Expired
	// Rejected: the identity provider's claims cannot be used (IDPRejectedClaim).
	Rejected
)

// Error is a document refused; Message is safe to show the client.
type Error struct {
	Kind    Kind
	Message string
	Err     error // the cause, for the log
}

// Error returns the message with its cause (for the log, not the client).
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func invalid(msg string, err error) *Error { return &Error{Kind: Invalid, Message: msg, Err: err} }

// Metadata is what IAM keeps of an identity provider's metadata document.
type Metadata struct {
	// EntityID is the provider's entity id: the Issuer of its responses.
	EntityID string
	// Certificates are the provider's signing certificates (several while it rotates
	// keys); a response signed with any of them is accepted.
	Certificates []*x509.Certificate
	// ValidUntil is the document's validUntil, zero when it has none.
	ValidUntil time.Time
}

type keyDescriptor struct {
	Use          string   `xml:"use,attr"`
	Certificates []string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
}

type entityDescriptor struct {
	XMLName    xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID   string   `xml:"entityID,attr"`
	ValidUntil string   `xml:"validUntil,attr"`
	IDP        []struct {
		Protocols string          `xml:"protocolSupportEnumeration,attr"`
		Keys      []keyDescriptor `xml:"KeyDescriptor"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

// ParseMetadata reads an identity provider's metadata document: an EntityDescriptor
// with an entityID and an IDPSSODescriptor for SAML 2.0 holding at least one signing
// certificate (a KeyDescriptor of use "signing" or of no use).
func ParseMetadata(doc []byte) (*Metadata, error) {
	if len(doc) > MaxMetadataBytes {
		return nil, invalid("The SAML metadata document is too large.", nil)
	}
	if err := checkShape(doc); err != nil {
		return nil, invalid("Could not parse metadata", err)
	}
	var ed entityDescriptor
	if err := xml.Unmarshal(doc, &ed); err != nil {
		return nil, invalid("Could not parse metadata", err)
	}
	md := &Metadata{EntityID: strings.TrimSpace(ed.EntityID)}
	if md.EntityID == "" {
		return nil, invalid("Could not parse metadata: the EntityDescriptor has no entityID.", nil)
	}
	if ed.ValidUntil != "" {
		t, err := time.Parse(time.RFC3339Nano, ed.ValidUntil)
		if err != nil {
			return nil, invalid("Could not parse metadata: validUntil is not a date.", err)
		}
		md.ValidUntil = t.UTC()
	}
	for _, idp := range ed.IDP {
		if !strings.Contains(idp.Protocols, "urn:oasis:names:tc:SAML:2.0:protocol") {
			continue
		}
		for _, k := range idp.Keys {
			if k.Use != "" && k.Use != "signing" {
				continue
			}
			for _, c := range k.Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
				if err != nil {
					return nil, invalid("Could not parse metadata: an X509Certificate is not base64.", err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, invalid("Could not parse metadata: an X509Certificate does not parse.", err)
				}
				md.Certificates = append(md.Certificates, cert)
			}
		}
	}
	if len(md.Certificates) == 0 {
		return nil, invalid("Could not parse metadata: it has no IDPSSODescriptor for SAML 2.0 with a signing certificate.", nil)
	}
	return md, nil
}

// checkShape refuses documents with a DTD (no entities, internal or external) and
// nesting deeper than maxDepth, before any other parser reads them.
func checkShape(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				if depth != 0 {
					return errors.New("unexpected end of document")
				}
				return nil
			}
			return err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("a document type declaration is not allowed")
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return errors.New("elements are nested too deeply")
			}
		case xml.EndElement:
			depth--
		case xml.ProcInst:
			if t.Target != "xml" {
				return errors.New("processing instructions are not allowed")
			}
		}
	}
}

// Assertion is what AssumeRoleWithSAML uses of a verified response.
type Assertion struct {
	// ID is the assertion's ID (replays are refused by it).
	ID string
	// Issuer is the assertion's issuer (saml:iss).
	Issuer string
	// Subject and SubjectFormat are the NameID and its Format (saml:sub, saml:sub_type).
	Subject, SubjectFormat string
	// Audiences are the AudienceRestriction's audiences.
	Audiences []string
	// Recipient is the bearer SubjectConfirmationData's Recipient (saml:aud).
	Recipient string
	// IssueInstant is when the response was issued.
	IssueInstant time.Time
	// NotBefore and NotOnOrAfter bound the assertion's use (Conditions and the
	// bearer confirmation, whichever is narrower).
	NotBefore, NotOnOrAfter time.Time
	// SessionNotOnOrAfter is the AuthnStatement's end of the session (zero when none).
	SessionNotOnOrAfter time.Time
	// Destination is the Response's Destination ("" when it has none).
	Destination string
	// Attributes are the AttributeStatement's values by attribute Name.
	Attributes map[string][]string
}

type assertionXML struct {
	ID           string `xml:"ID,attr"`
	IssueInstant string `xml:"IssueInstant,attr"`
	Issuer       string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Subject      struct {
		NameID struct {
			Format string `xml:"Format,attr"`
			Value  string `xml:",chardata"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
		Confirmations []struct {
			Method string `xml:"Method,attr"`
			Data   struct {
				Recipient    string `xml:"Recipient,attr"`
				NotOnOrAfter string `xml:"NotOnOrAfter,attr"`
				NotBefore    string `xml:"NotBefore,attr"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:assertion SubjectConfirmationData"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion SubjectConfirmation"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject"`
	Conditions struct {
		NotBefore    string   `xml:"NotBefore,attr"`
		NotOnOrAfter string   `xml:"NotOnOrAfter,attr"`
		Audiences    []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AudienceRestriction>Audience"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Conditions"`
	Authn []struct {
		SessionNotOnOrAfter string `xml:"SessionNotOnOrAfter,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion AuthnStatement"`
	Attributes []struct {
		Name   string   `xml:"Name,attr"`
		Values []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AttributeValue"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion AttributeStatement>Attribute"`
}

// Verify decodes a base64 SAML response, verifies its signature (on the Response or
// on its Assertion) with one of md's certificates at now, and returns the signed
// assertion. It checks the shape (one Assertion, status Success, no encrypted
// assertion) and the issuer against md; what the assertion is for (audience,
// recipient, times) is the caller's to check with Assertion's fields.
func Verify(encoded string, md *Metadata, now time.Time) (*Assertion, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
	if err != nil {
		return nil, invalid("Invalid base64 in SAMLAssertion", err)
	}
	if len(raw) > MaxAssertionBytes {
		return nil, invalid("The SAML response is too large.", nil)
	}
	if err := checkShape(raw); err != nil {
		return nil, invalid("Unable to parse the SAML response", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, invalid("Unable to parse the SAML response", err)
	}
	resp := doc.Root()
	if resp == nil || resp.Tag != "Response" || resp.NamespaceURI() != nsProtocol {
		return nil, invalid("The SAML response is not a samlp:Response.", nil)
	}
	if s := resp.FindElement("./Status/StatusCode"); s == nil || s.SelectAttrValue("Value", "") != statusOK {
		return nil, &Error{Kind: Rejected, Message: "The identity provider's response is not a success."}
	}
	if len(children(resp, nsAssertion, "EncryptedAssertion")) > 0 {
		return nil, invalid("Encrypted SAML assertions are not supported by this STS endpoint.", nil)
	}
	if n := len(children(resp, nsAssertion, "Assertion")); n != 1 {
		return nil, invalid(fmt.Sprintf("The SAML response must hold one Assertion, not %d.", n), nil)
	}
	assertion, err := verified(resp, md, now)
	if err != nil {
		return nil, err
	}
	var ax assertionXML
	if err := decodeElement(assertion, &ax); err != nil {
		return nil, invalid("Unable to parse the SAML assertion", err)
	}
	a, err := build(&ax, resp.SelectAttrValue("IssueInstant", ""), md)
	if err != nil {
		return nil, err
	}
	a.Destination = strings.TrimSpace(resp.SelectAttrValue("Destination", ""))
	return a, nil
}

// verified returns the Assertion as the signature vouches for it: the Assertion of a
// verified Response, or a verified Assertion.
func verified(resp *etree.Element, md *Metadata, now time.Time) (*etree.Element, error) {
	if len(children(resp, nsDSig, "Signature")) > 0 {
		v, err := validate(resp, md, now)
		if err != nil {
			return nil, err
		}
		as := children(v, nsAssertion, "Assertion")
		if len(as) != 1 {
			return nil, invalid("Response signature invalid", nil)
		}
		a, err := detach(v, as[0])
		if err != nil || len(children(a, nsDSig, "Signature")) == 0 {
			return a, err
		}
		return validate(a, md, now)
	}
	a, err := detach(resp, children(resp, nsAssertion, "Assertion")[0])
	if err != nil {
		return nil, err
	}
	if len(children(a, nsDSig, "Signature")) == 0 {
		return nil, invalid("Response signature invalid", errors.New("neither the Response nor the Assertion is signed"))
	}
	return validate(a, md, now)
}

// detach returns a copy of child (of the root element parent) that declares the
// namespaces it inherits, as the canonicalization of its signature saw them.
func detach(parent, child *etree.Element) (*etree.Element, error) {
	ctx, err := etreeutils.NewDefaultNSContext().SubContext(parent)
	if err != nil {
		return nil, invalid("Unable to parse the SAML response", err)
	}
	el, err := etreeutils.NSDetatch(ctx, child)
	if err != nil {
		return nil, invalid("Unable to parse the SAML response", err)
	}
	return el, nil
}

// validate verifies el's enveloped signature with each certificate of md in turn.
func validate(el *etree.Element, md *Metadata, now time.Time) (*etree.Element, error) {
	var errs []error
	for _, cert := range md.Certificates {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		ctx.Clock = dsig.NewFakeClockAt(now)
		ctx.IdAttribute = "ID"
		v, err := ctx.Validate(el)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	return nil, invalid("Response signature invalid", errors.Join(errs...))
}

// children returns el's child elements of namespace ns and local name tag.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// decodeElement unmarshals el (with the namespaces it inherits) into v.
func decodeElement(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return xml.Unmarshal(b, v)
}

func build(ax *assertionXML, responseIssued string, md *Metadata) (*Assertion, error) {
	a := &Assertion{ID: ax.ID, Issuer: strings.TrimSpace(ax.Issuer), Subject: strings.TrimSpace(ax.Subject.NameID.Value),
		SubjectFormat: ax.Subject.NameID.Format, Audiences: trimAll(ax.Conditions.Audiences), Attributes: map[string][]string{}}
	if a.ID == "" {
		return nil, invalid("The SAML assertion has no ID.", nil)
	}
	if a.Issuer != md.EntityID {
		return nil, invalid("Issuer of the SAML assertion does not match the provider's metadata", nil)
	}
	var err error
	issued := ax.IssueInstant
	if responseIssued != "" {
		issued = responseIssued
	}
	if a.IssueInstant, err = parseTime(issued, true); err != nil {
		return nil, invalid("The SAML response has no valid IssueInstant.", err)
	}
	if a.NotBefore, err = parseTime(ax.Conditions.NotBefore, false); err != nil {
		return nil, invalid("The SAML assertion's NotBefore is not a date.", err)
	}
	if a.NotOnOrAfter, err = parseTime(ax.Conditions.NotOnOrAfter, false); err != nil {
		return nil, invalid("The SAML assertion's NotOnOrAfter is not a date.", err)
	}
	for _, sc := range ax.Subject.Confirmations {
		if sc.Method != bearer {
			continue
		}
		a.Recipient = strings.TrimSpace(sc.Data.Recipient)
		t, err := parseTime(sc.Data.NotOnOrAfter, false)
		if err != nil {
			return nil, invalid("The SubjectConfirmationData's NotOnOrAfter is not a date.", err)
		}
		if !t.IsZero() && (a.NotOnOrAfter.IsZero() || t.Before(a.NotOnOrAfter)) {
			a.NotOnOrAfter = t
		}
		break
	}
	for _, st := range ax.Authn {
		t, err := parseTime(st.SessionNotOnOrAfter, false)
		if err != nil {
			return nil, invalid("The AuthnStatement's SessionNotOnOrAfter is not a date.", err)
		}
		if !t.IsZero() && (a.SessionNotOnOrAfter.IsZero() || t.Before(a.SessionNotOnOrAfter)) {
			a.SessionNotOnOrAfter = t
		}
	}
	for _, at := range ax.Attributes {
		a.Attributes[at.Name] = append(a.Attributes[at.Name], trimAll(at.Values)...)
	}
	return a, nil
}

func parseTime(s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, errors.New("missing")
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

func trimAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}
