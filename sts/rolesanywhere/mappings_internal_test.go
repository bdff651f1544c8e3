package rolesanywhere

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestCertTags: the principal tags follow the mapping rules, "*" for every supported
// RDN and "Name/*" for every RDN of the SAN's directory name, first value of each.
func TestCertTags(t *testing.T) {
	dn, err := asn1.Marshal(pkix.Name{CommonName: "dir-cn", Organization: []string{"Dir Org"}}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	san, err := asn1.Marshal([]asn1.RawValue{
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("a.example.com")},
		{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("b.example.com")},
		{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("spiffe://example.org/w")},
		{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: dn},
	})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		Subject:         pkix.Name{CommonName: "leaf", OrganizationalUnit: []string{"one", "two"}},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	rules := func(field string, s ...string) attributeMapping {
		m := attributeMapping{CertificateField: field}
		for _, x := range s {
			m.MappingRules = append(m.MappingRules, mappingRule{Specifier: x})
		}
		return m
	}
	for name, tc := range map[string]struct {
		mappings []attributeMapping
		want     string
	}{
		"defaults": {defaultProfileMappings(), "x509Subject/OU=one x509Subject/CN=leaf x509Issuer/OU=one x509Issuer/CN=leaf " +
			"x509SAN/DNS=a.example.com x509SAN/URI=spiffe://example.org/w x509SAN/Name/O=Dir Org x509SAN/Name/CN=dir-cn"},
		"chosen": {[]attributeMapping{rules(fieldSubject, "OU"), rules(fieldSAN, "Name/O")}, "x509Subject/OU=one x509SAN/Name/O=Dir Org"},
		"none":   {nil, ""},
	} {
		var got []string
		for _, tag := range certTags(leaf, tc.mappings) {
			got = append(got, tag.Key+"="+tag.Value)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: tags %q, want %q", name, strings.Join(got, " "), tc.want)
		}
	}
}
