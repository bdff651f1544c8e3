package rolesanywhere

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"strings"

	"github.com/credbroker/credbroker/signer/session"
)

// The certificate fields an attribute mapping maps from.
const (
	fieldSubject = "x509Subject"
	fieldIssuer  = "x509Issuer"
	fieldSAN     = "x509SAN"
)

// defaultProfileMappings are the attribute mappings AWS gives a new profile ("Default
// mapping behavior" of the Roles Anywhere user guide): every supported RDN of the
// subject and of the issuer, and the first DNS name, URI and directory name of the
// subject alternative names.
func defaultProfileMappings() []attributeMapping {
	rules := func(s ...string) []mappingRule {
		out := make([]mappingRule, len(s))
		for i, x := range s {
			out[i] = mappingRule{Specifier: x}
		}
		return out
	}
	return []attributeMapping{
		{CertificateField: fieldSubject, MappingRules: rules("*")},
		{CertificateField: fieldIssuer, MappingRules: rules("*")},
		{CertificateField: fieldSAN, MappingRules: rules("DNS", "URI", "Name/*")},
	}
}

// mappingTarget is the profile and certificate field (of the body, else of the
// query) an attribute mapping operation acts on, once checked and authorized.
func (a *API) mappingTarget(in *input) (id, field string, err error) {
	field, _, err = in.str("certificateField")
	if v := in.query["certificateField"]; field == "" && len(v) > 0 {
		field = v[0]
	}
	switch {
	case err != nil:
	case field != fieldSubject && field != fieldIssuer && field != fieldSAN:
		err = invalid("certificateField must be one of x509Subject, x509Issuer, x509SAN.")
	default:
		id, err = authorizedID(a, in, profiles)
	}
	return id, field, err
}

// putAttributeMapping is PutAttributeMapping: the profile's entry for the certificate
// field becomes the rules given (added when the profile had none for it).
func (a *API) putAttributeMapping(ctx context.Context, in *input) (any, error) {
	id, field, err := a.mappingTarget(in)
	if err != nil {
		return nil, err
	}
	var rules []mappingRule
	if ok, err := in.decode("mappingRules", &rules); err != nil || !ok {
		return nil, firstErr(err, invalid("mappingRules is required."))
	}
	for _, r := range rules {
		if len(r.Specifier) > 60 {
			return nil, invalid("A mapping rule's specifier must have at most 60 characters.")
		}
	}
	return a.editMappings(ctx, in, id, func(ms []attributeMapping) []attributeMapping {
		i := slices.IndexFunc(ms, func(m attributeMapping) bool { return m.CertificateField == field })
		if i < 0 {
			return append(ms, attributeMapping{CertificateField: field, MappingRules: rules})
		}
		ms[i].MappingRules = rules
		return ms
	})
}

// deleteAttributeMapping is DeleteAttributeMapping: the specifiers given leave the
// field's entry; without specifiers, or when none is left, the entry goes.
func (a *API) deleteAttributeMapping(ctx context.Context, in *input) (any, error) {
	id, field, err := a.mappingTarget(in)
	if err != nil {
		return nil, err
	}
	specs := in.query["specifiers"]
	return a.editMappings(ctx, in, id, func(ms []attributeMapping) []attributeMapping {
		out := ms[:0]
		for _, m := range ms {
			if m.CertificateField == field && len(specs) > 0 {
				m.MappingRules = slices.DeleteFunc(m.MappingRules, func(r mappingRule) bool { return slices.Contains(specs, r.Specifier) })
			}
			if m.CertificateField != field || (len(specs) > 0 && len(m.MappingRules) > 0) {
				out = append(out, m)
			}
		}
		return out
	})
}

// editMappings changes the attribute mappings of profile id and answers the profile.
func (a *API) editMappings(ctx context.Context, in *input, id string, fn func([]attributeMapping) []attributeMapping) (any, error) {
	return edit(ctx, in, profiles, id, func(e *profile) error {
		if e.AttributeMappings = fn(e.AttributeMappings); e.AttributeMappings == nil {
			e.AttributeMappings = []attributeMapping{}
		}
		e.UpdatedAt = in.call.Now.UTC()
		return nil
	})
}

// mappingSet is what a profile's attribute mappings keep: by certificate field, the
// specifiers ("*" for every supported attribute, "Name/*" for every RDN of a
// directory name).
type mappingSet map[string][]string

func newMappingSet(ms []attributeMapping) mappingSet {
	set := mappingSet{}
	for _, m := range ms {
		for _, r := range m.MappingRules {
			set[m.CertificateField] = append(set[m.CertificateField], r.Specifier)
		}
	}
	return set
}

func (s mappingSet) keeps(field, spec string) bool {
	for _, x := range s[field] {
		if x == spec || x == "*" || (x == "Name/*" && strings.HasPrefix(spec, "Name/")) {
			return true
		}
	}
	return false
}

// attribute short names of the subject and issuer, as Roles Anywhere's specifiers.
var rdnNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.9": "STREET", "2.5.4.17": "postalCode", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID", "1.2.840.113549.1.9.1": "emailAddress",
}

// certTags are the session's principal tags: x509Subject/KEY, x509Issuer/KEY and
// x509SAN/DNS|URI|Name/KEY for what the profile's attribute mappings keep (the first
// value of each).
func certTags(leaf *x509.Certificate, mappings []attributeMapping) []session.Tag {
	keep := newMappingSet(mappings)
	var tags []session.Tag
	seen := map[string]bool{}
	add := func(field, spec, value string) {
		key := field + "/" + spec
		if value == "" || seen[key] || !keep.keeps(field, spec) {
			return
		}
		if len(value) > 256 {
			value = value[:256]
		}
		seen[key] = true
		tags = append(tags, session.Tag{Key: key, Value: value})
	}
	names := func(field, prefix string, n pkix.Name) {
		for _, atv := range n.Names {
			if s, ok := atv.Value.(string); ok && rdnNames[atv.Type.String()] != "" {
				add(field, prefix+rdnNames[atv.Type.String()], s)
			}
		}
	}
	names(fieldSubject, "", leaf.Subject)
	names(fieldIssuer, "", leaf.Issuer)
	for _, d := range leaf.DNSNames {
		add(fieldSAN, "DNS", d)
	}
	for _, u := range leaf.URIs {
		add(fieldSAN, "URI", u.String())
	}
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			if dn, ok := directoryName(ext.Value); ok {
				names(fieldSAN, "Name/", dn)
			}
		}
	}
	return tags
}

// directoryName returns the first directoryName of a SubjectAltName extension.
func directoryName(ext []byte) (pkix.Name, bool) {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(ext, &seq); err != nil || len(rest) > 0 {
		return pkix.Name{}, false
	}
	b := seq.Bytes
	for len(b) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(b, &v)
		if err != nil {
			return pkix.Name{}, false
		}
		b = rest
		if v.Class == asn1.ClassContextSpecific && v.Tag == 4 {
			var rdn pkix.RDNSequence
			if _, err := asn1.Unmarshal(v.Bytes, &rdn); err == nil {
				var n pkix.Name
				n.FillFromRDNSequence(&rdn)
				return n, true
			}
		}
	}
	return pkix.Name{}, false
}
