package samlsp

import (
	"encoding/xml"
	"io"
	"net/http"

	crewsaml "github.com/crewjam/saml"
)

// metadata serves the service provider's metadata: AWS's entity id, the
// assertion consumer service (HTTP-POST), the attributes it needs.
func (s *SP) metadata(w http.ResponseWriter, r *http.Request) {
	acs := ""
	if st := s.sites.Load(); st != nil {
		acs = st.acs
	}
	if acs == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		acs = scheme + "://" + r.Host + Path
	}
	doc, err := xml.MarshalIndent(spMetadata(acs), "", "  ")
	if err != nil {
		s.log.Error("rendering the SAML metadata", "error", err)
		http.Error(w, "The metadata could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(doc)
}

func spMetadata(acs string) *crewsaml.EntityDescriptor {
	yes, no := true, false
	attr := func(name, friendly string) crewsaml.RequestedAttribute {
		return crewsaml.RequestedAttribute{IsRequired: &yes, Attribute: crewsaml.Attribute{Name: name, FriendlyName: friendly,
			NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}}
	}
	return &crewsaml.EntityDescriptor{
		EntityID: EntityID,
		SPSSODescriptors: []crewsaml.SPSSODescriptor{{
			SSODescriptor: crewsaml.SSODescriptor{
				RoleDescriptor: crewsaml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"},
				NameIDFormats: []crewsaml.NameIDFormat{"urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
					"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
			},
			AuthnRequestsSigned: &no, WantAssertionsSigned: &yes,
			AssertionConsumerServices: []crewsaml.IndexedEndpoint{{Binding: crewsaml.HTTPPostBinding, Location: acs, Index: 1, IsDefault: &yes}},
			AttributeConsumingServices: []crewsaml.AttributeConsumingService{{Index: 1, IsDefault: &yes,
				ServiceNames: []crewsaml.LocalizedName{{Lang: "en", Value: "credbroker embedded IAM/STS core"}},
				RequestedAttributes: []crewsaml.RequestedAttribute{
					attr("https://aws.amazon.com/SAML/Attributes/Role", "Role"),
					attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", "RoleSessionName"),
				}}},
		}},
	}
}
