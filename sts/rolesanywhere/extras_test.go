package rolesanywhere_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ra "github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"

	"github.com/credbroker/credbroker/broker/x509cred"
	"github.com/credbroker/credbroker/internal/x509test"
	"github.com/credbroker/credbroker/sts/store"
)

// sessionAs asks the fixture's core for a session of role through profile, signed by
// id, chained to anchor, and returns who STS says the session is, or the refusal.
func (f *fixture) sessionAs(t *testing.T, id x509cred.Identity, anchorARN, profileARN, roleARN string) (string, error) {
	t.Helper()
	c := &x509cred.Client{Endpoint: f.srv.URL, Region: testRegion, HTTPClient: f.srv.Client()}
	creds, err := c.CreateSession(f.ctx, id, x509cred.SessionInput{TrustAnchorARN: anchorARN, ProfileARN: profileARN, RoleARN: roleARN})
	if err != nil {
		return "", err
	}
	return f.callerARN(t, helperOutput{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}), nil
}

// wantSerialSession is sessionAs for an identity of leaf, failing t unless the session
// is the role's under leaf's serial number in hex, the session name CreateSession
// gives when none is asked for.
func (f *fixture) wantSerialSession(t *testing.T, id x509cred.Identity, leaf *x509test.Cert, anchorARN, profileARN, roleARN string) {
	t.Helper()
	got, err := f.sessionAs(t, id, anchorARN, profileARN, roleARN)
	if err != nil {
		t.Fatal(err)
	}
	role := roleARN[strings.LastIndex(roleARN, "/")+1:]
	if want := "arn:aws:sts::123456789012:assumed-role/" + role + "/" + leaf.Cert.SerialNumber.Text(16); got != want {
		t.Fatalf("caller %s, want %s", got, want)
	}
}

// sessionFor is sessionAs for leaf's certificate and key; it returns the refusal.
func (f *fixture) sessionFor(t *testing.T, leaf *x509test.Cert, anchorARN, profileARN, roleARN string) error {
	t.Helper()
	id, err := x509cred.NewIdentity(leaf.Cert, nil, leaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.sessionAs(t, id, anchorARN, profileARN, roleARN)
	return err
}

// TestAttributeMappings: a new profile has AWS's default mappings; PutAttributeMapping
// replaces a field's rules and DeleteAttributeMapping removes specifiers or a field,
// and CreateSession's principal tags follow: a trust policy on
// aws:PrincipalTag/x509Subject/O passes only while O is mapped.
func TestAttributeMappings(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	root := x509test.NewCA(t, "Root CA", x509test.ECDSA)
	leaf := root.Issue(t, x509test.Template{CommonName: "app-1", Org: "Example", OU: "Build", KeyType: x509test.ECDSA})
	roleARN := f.role("by-org", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},
"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"aws:PrincipalTag/x509Subject/O":"Example","aws:PrincipalTag/x509Issuer/CN":"Root CA"}}}]}`)
	anchorARN, profileARN := f.anchor("a", root.PEM()), f.profile("p", roleARN)
	pid := aws.String(idOf(profileARN))

	got, err := c.GetProfile(f.ctx, &ra.GetProfileInput{ProfileId: pid})
	if err != nil {
		t.Fatal(err)
	}
	if want := "x509Subject=[*] x509Issuer=[*] x509SAN=[DNS URI Name/*]"; mappingsString(got.Profile.AttributeMappings) != want {
		t.Fatalf("default mappings %s, want %s", mappingsString(got.Profile.AttributeMappings), want)
	}
	if err := f.sessionFor(t, leaf, anchorARN, profileARN, roleARN); err != nil {
		t.Fatalf("default mappings: %v", err)
	}

	steps := []struct {
		name  string
		do    func() (*types.ProfileDetail, error)
		want  string
		allow bool
	}{
		{"put CN only", func() (*types.ProfileDetail, error) {
			out, err := c.PutAttributeMapping(f.ctx, &ra.PutAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509Subject,
				MappingRules: []types.MappingRule{{Specifier: aws.String("CN")}}})
			return profileOf(out, err, func(o *ra.PutAttributeMappingOutput) *types.ProfileDetail { return o.Profile })
		}, "x509Subject=[CN] x509Issuer=[*] x509SAN=[DNS URI Name/*]", false},
		{"put CN and O", func() (*types.ProfileDetail, error) {
			out, err := c.PutAttributeMapping(f.ctx, &ra.PutAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509Subject,
				MappingRules: []types.MappingRule{{Specifier: aws.String("CN")}, {Specifier: aws.String("O")}}})
			return profileOf(out, err, func(o *ra.PutAttributeMappingOutput) *types.ProfileDetail { return o.Profile })
		}, "x509Subject=[CN O] x509Issuer=[*] x509SAN=[DNS URI Name/*]", true},
		{"delete the SAN field", func() (*types.ProfileDetail, error) {
			out, err := c.DeleteAttributeMapping(f.ctx, &ra.DeleteAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509SAN})
			return profileOf(out, err, func(o *ra.DeleteAttributeMappingOutput) *types.ProfileDetail { return o.Profile })
		}, "x509Subject=[CN O] x509Issuer=[*]", true},
		{"delete specifier O", func() (*types.ProfileDetail, error) {
			out, err := c.DeleteAttributeMapping(f.ctx, &ra.DeleteAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509Subject,
				Specifiers: []string{"O"}})
			return profileOf(out, err, func(o *ra.DeleteAttributeMappingOutput) *types.ProfileDetail { return o.Profile })
		}, "x509Subject=[CN] x509Issuer=[*]", false},
		{"delete the issuer field", func() (*types.ProfileDetail, error) {
			_, _ = c.PutAttributeMapping(f.ctx, &ra.PutAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509Subject,
				MappingRules: []types.MappingRule{{Specifier: aws.String("O")}}})
			out, err := c.DeleteAttributeMapping(f.ctx, &ra.DeleteAttributeMappingInput{ProfileId: pid, CertificateField: types.CertificateFieldX509Issuer})
			return profileOf(out, err, func(o *ra.DeleteAttributeMappingOutput) *types.ProfileDetail { return o.Profile })
		}, "x509Subject=[O]", false},
	}
	for _, s := range steps {
		p, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := mappingsString(p.AttributeMappings); got != s.want {
			t.Fatalf("%s: mappings %s, want %s", s.name, got, s.want)
		}
		err = f.sessionFor(t, leaf, anchorARN, profileARN, roleARN)
		if s.allow != (err == nil) {
			t.Fatalf("%s: CreateSession %v, want allowed=%v", s.name, err, s.allow)
		}
	}

	_, err = c.PutAttributeMapping(f.ctx, &ra.PutAttributeMappingInput{ProfileId: pid, CertificateField: "x509Other",
		MappingRules: []types.MappingRule{{Specifier: aws.String("CN")}}})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)
	_, err = c.PutAttributeMapping(f.ctx, &ra.PutAttributeMappingInput{ProfileId: aws.String("00000000-0000-4000-8000-000000000000"),
		CertificateField: types.CertificateFieldX509Subject, MappingRules: []types.MappingRule{{Specifier: aws.String("CN")}}})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

func profileOf[T any](out *T, err error, get func(*T) *types.ProfileDetail) (*types.ProfileDetail, error) {
	if err != nil {
		return nil, err
	}
	return get(out), nil
}

func mappingsString(ms []types.AttributeMapping) string {
	var parts []string
	for _, m := range ms {
		var specs []string
		for _, r := range m.MappingRules {
			specs = append(specs, aws.ToString(r.Specifier))
		}
		parts = append(parts, string(m.CertificateField)+"=["+strings.Join(specs, " ")+"]")
	}
	return strings.Join(parts, " ")
}

// TestNotificationSettings: a trust anchor starts with AWS's default settings;
// PutNotificationSettings changes one (configured by the account), and
// ResetNotificationSettings puts the default back.
func TestNotificationSettings(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	anchorARN := f.anchor("a", x509test.NewCA(t, "Root CA", x509test.ECDSA).PEM())
	id := aws.String(idOf(anchorARN))
	show := func(ns []types.NotificationSettingDetail) string {
		var out []string
		for _, n := range ns {
			out = append(out, fmt.Sprintf("%s,%v,%d,%s,%s", n.Event, aws.ToBool(n.Enabled), aws.ToInt32(n.Threshold), n.Channel, aws.ToString(n.ConfiguredBy)))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	defaults := "CA_CERTIFICATE_EXPIRY,true,45,ALL,rolesanywhere.amazonaws.com END_ENTITY_CERTIFICATE_EXPIRY,true,45,ALL,rolesanywhere.amazonaws.com"
	got, err := c.GetTrustAnchor(f.ctx, &ra.GetTrustAnchorInput{TrustAnchorId: id})
	if err != nil || show(got.TrustAnchor.NotificationSettings) != defaults {
		t.Fatalf("defaults: %v %s", err, show(got.TrustAnchor.NotificationSettings))
	}
	put, err := c.PutNotificationSettings(f.ctx, &ra.PutNotificationSettingsInput{TrustAnchorId: id, NotificationSettings: []types.NotificationSetting{
		{Event: types.NotificationEventCaCertificateExpiry, Enabled: aws.Bool(false), Threshold: aws.Int32(30)}}})
	if want := "CA_CERTIFICATE_EXPIRY,false,30,ALL,123456789012 END_ENTITY_CERTIFICATE_EXPIRY,true,45,ALL,rolesanywhere.amazonaws.com"; err != nil || show(put.TrustAnchor.NotificationSettings) != want {
		t.Fatalf("put: %v %s, want %s", err, show(put.TrustAnchor.NotificationSettings), want)
	}
	reset, err := c.ResetNotificationSettings(f.ctx, &ra.ResetNotificationSettingsInput{TrustAnchorId: id,
		NotificationSettingKeys: []types.NotificationSettingKey{{Event: types.NotificationEventCaCertificateExpiry}}})
	if err != nil || show(reset.TrustAnchor.NotificationSettings) != defaults {
		t.Fatalf("reset: %v %s", err, show(reset.TrustAnchor.NotificationSettings))
	}
	_, err = c.PutNotificationSettings(f.ctx, &ra.PutNotificationSettingsInput{TrustAnchorId: id, NotificationSettings: []types.NotificationSetting{
		{Event: types.NotificationEventEndEntityCertificateExpiry, Enabled: aws.Bool(true), Threshold: aws.Int32(400)}}})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)
	_, err = c.ResetNotificationSettings(f.ctx, &ra.ResetNotificationSettingsInput{TrustAnchorId: aws.String("00000000-0000-4000-8000-000000000000"),
		NotificationSettingKeys: []types.NotificationSettingKey{{Event: types.NotificationEventCaCertificateExpiry}}})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

// TestSubjects: CreateSession records the subject of each certificate that chains to
// a trust anchor, with each certificate seen and whether its session was refused;
// a certificate of an unknown CA records nothing.
func TestSubjects(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	first := root.Issue(t, x509test.Template{CommonName: "worker", Org: "Example", KeyType: x509test.ECDSA})
	second := root.Issue(t, x509test.Template{CommonName: "worker", Org: "Example", KeyType: x509test.ECDSA})
	roleARN, other := f.role("r", trustRA), f.role("not-in-profile", trustRA)
	anchorARN, profileARN := f.anchor("a", root.PEM()), f.profile("p", roleARN)
	if err := f.sessionFor(t, first, anchorARN, profileARN, roleARN); err != nil {
		t.Fatal(err)
	}
	if err := f.sessionFor(t, second, anchorARN, profileARN, other); err == nil {
		t.Fatal("a role outside the profile was granted")
	}
	stranger := x509test.NewCA(t, "Other", x509test.RSA).Issue(t, x509test.Template{CommonName: "intruder", KeyType: x509test.ECDSA})
	if err := f.sessionFor(t, stranger, anchorARN, profileARN, roleARN); err == nil {
		t.Fatal("an unknown CA's certificate was granted")
	}

	// Close writes what was seen (the daemon closes it before the store).
	if err := f.api.Close(); err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := f.store.View(f.ctx, func(tx *store.Tx) (err error) { names, err = tx.SecretNames("rolesanywhere/subject/"); return }); err != nil || len(names) != 1 {
		t.Fatalf("subjects in the store after Close: %v %v", names, err)
	}
	list, err := c.ListSubjects(f.ctx, &ra.ListSubjectsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Subjects) != 1 || aws.ToString(list.Subjects[0].X509Subject) != "CN=worker,O=Example" || !aws.ToBool(list.Subjects[0].Enabled) ||
		list.Subjects[0].LastSeenAt == nil || !strings.HasPrefix(aws.ToString(list.Subjects[0].SubjectArn), "arn:aws:rolesanywhere:us-east-1:123456789012:subject/") {
		t.Fatalf("subjects %+v", list.Subjects)
	}
	got, err := c.GetSubject(f.ctx, &ra.GetSubjectInput{SubjectId: list.Subjects[0].SubjectId})
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]bool{}
	for _, cr := range got.Subject.Credentials {
		creds[aws.ToString(cr.SerialNumber)] = aws.ToBool(cr.Failed)
		if aws.ToString(cr.Issuer) != "CN=Root CA" || !strings.HasPrefix(aws.ToString(cr.X509CertificateData), "-----BEGIN CERTIFICATE-----") {
			t.Errorf("credential %+v", cr)
		}
	}
	want := map[string]bool{first.Cert.SerialNumber.Text(16): false, second.Cert.SerialNumber.Text(16): true}
	if len(creds) != 2 || creds[first.Cert.SerialNumber.Text(16)] != false || creds[second.Cert.SerialNumber.Text(16)] != true {
		t.Fatalf("credentials %v (serial: failed), want %v", creds, want)
	}
	_, err = c.GetSubject(f.ctx, &ra.GetSubjectInput{SubjectId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

// TestACMPCAAnchor: an AWS_ACM_PCA trust anchor is accepted with a private CA's ARN
// (so a configuration made for AWS applies), and CreateSession refuses its
// certificates as untrusted, since no ACM PCA is reachable from the core; other
// sources are refused at once.
func TestACMPCAAnchor(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	pca := "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/11111111-2222-4333-8444-555555555555"
	out, err := c.CreateTrustAnchor(f.ctx, &ra.CreateTrustAnchorInput{Name: aws.String("pca"), Enabled: aws.Bool(true),
		Source: &types.Source{SourceType: types.TrustAnchorTypeAwsAcmPca, SourceData: &types.SourceDataMemberAcmPcaArn{Value: pca}}})
	if err != nil {
		t.Fatal(err)
	}
	if sd, ok := out.TrustAnchor.Source.SourceData.(*types.SourceDataMemberAcmPcaArn); !ok || sd.Value != pca {
		t.Fatalf("source %+v", out.TrustAnchor.Source)
	}
	root := x509test.NewCA(t, "Root CA", x509test.RSA)
	roleARN := f.role("r", trustRA)
	err = f.sessionFor(t, root.Issue(t, x509test.Template{CommonName: "a", KeyType: x509test.ECDSA}), *out.TrustAnchor.TrustAnchorArn, f.profile("p", roleARN), roleARN)
	var xe *x509cred.Error
	if !asError(err, &xe) || xe.Code != "AccessDeniedException" || !strings.HasPrefix(xe.Message, "Untrusted certificate") {
		t.Fatalf("CreateSession through a PCA anchor: %v", err)
	}
	for name, src := range map[string]*types.Source{
		"not a PCA ARN":          {SourceType: types.TrustAnchorTypeAwsAcmPca, SourceData: &types.SourceDataMemberAcmPcaArn{Value: "arn:aws:iam::123456789012:role/x"}},
		"self-signed repository": {SourceType: types.TrustAnchorTypeSelfSignedRepository, SourceData: &types.SourceDataMemberAcmPcaArn{Value: pca}},
	} {
		_, err := c.CreateTrustAnchor(f.ctx, &ra.CreateTrustAnchorInput{Name: aws.String("bad"), Source: src})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		wantErr(t, err, "ValidationException", http.StatusBadRequest)
	}
}
