package samlsp_test

import (
	"encoding/xml"
	"net/http"
	"testing"

	crewsaml "github.com/crewjam/saml"

	"github.com/credbroker/credbroker/sts/samlsp"
)

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.srv.URL + samlsp.MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ed crewsaml.EntityDescriptor
	if err := xml.NewDecoder(resp.Body).Decode(&ed); err != nil {
		t.Fatal(err)
	}
	if ed.EntityID != "urn:amazon:webservices" || len(ed.SPSSODescriptors) != 1 {
		t.Fatalf("metadata: %+v", ed)
	}
	sp := ed.SPSSODescriptors[0]
	if len(sp.AssertionConsumerServices) != 1 || sp.AssertionConsumerServices[0].Location != f.acs ||
		sp.AssertionConsumerServices[0].Binding != crewsaml.HTTPPostBinding {
		t.Errorf("assertion consumer services: %+v", sp.AssertionConsumerServices)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", got)
	}
}
