package rolesanywhere_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	ra "github.com/aws/aws-sdk-go-v2/service/rolesanywhere"
	"github.com/aws/aws-sdk-go-v2/service/rolesanywhere/types"
	"github.com/aws/smithy-go"

	"github.com/credbroker/credbroker/internal/x509test"
)

// wantErr checks an SDK error's code and HTTP status.
func wantErr(t *testing.T, err error, code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("status %d, want %d", re.HTTPStatusCode(), status)
	}
}

// TestManagementAPI drives trust anchors, profiles and CRLs through the Go SDK v2's
// rolesanywhere client: every answer must decode, and say what was stored.
func TestManagementAPI(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	ca := x509test.NewCA(t, "Test Root", x509test.RSA)

	created, err := c.CreateTrustAnchor(f.ctx, &ra.CreateTrustAnchorInput{
		Name: aws.String("ta"),
		Source: &types.Source{SourceType: types.TrustAnchorTypeCertificateBundle,
			SourceData: &types.SourceDataMemberX509CertificateData{Value: string(ca.PEM())}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("infra")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ta := created.TrustAnchor
	if *ta.Name != "ta" || *ta.Enabled || ta.CreatedAt == nil || *ta.TrustAnchorArn != "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/"+*ta.TrustAnchorId {
		t.Fatalf("created %+v", ta)
	}
	if sd, ok := ta.Source.SourceData.(*types.SourceDataMemberX509CertificateData); !ok || sd.Value != string(ca.PEM()) {
		t.Fatalf("source %+v", ta.Source)
	}
	en, err := c.EnableTrustAnchor(f.ctx, &ra.EnableTrustAnchorInput{TrustAnchorId: ta.TrustAnchorId})
	if err != nil || !*en.TrustAnchor.Enabled {
		t.Fatalf("enable: %v", err)
	}
	got, err := c.GetTrustAnchor(f.ctx, &ra.GetTrustAnchorInput{TrustAnchorId: ta.TrustAnchorId})
	if err != nil || !*got.TrustAnchor.Enabled {
		t.Fatalf("get: %+v %v", got, err)
	}
	up, err := c.UpdateTrustAnchor(f.ctx, &ra.UpdateTrustAnchorInput{TrustAnchorId: ta.TrustAnchorId, Name: aws.String("renamed")})
	if err != nil || *up.TrustAnchor.Name != "renamed" {
		t.Fatalf("update: %v", err)
	}
	tags, err := c.ListTagsForResource(f.ctx, &ra.ListTagsForResourceInput{ResourceArn: ta.TrustAnchorArn})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "team" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	_, err = c.CreateTrustAnchor(f.ctx, &ra.CreateTrustAnchorInput{Name: aws.String("bad"),
		Source: &types.Source{SourceType: types.TrustAnchorTypeCertificateBundle,
			SourceData: &types.SourceDataMemberX509CertificateData{Value: "not a certificate"}}})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)

	prof, err := c.CreateProfile(f.ctx, &ra.CreateProfileInput{Name: aws.String("p"), RoleArns: []string{"arn:aws:iam::123456789012:role/r"},
		DurationSeconds: aws.Int32(1800), SessionPolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	p := prof.Profile
	if *p.Enabled || *p.DurationSeconds != 1800 || len(p.RoleArns) != 1 || len(p.AttributeMappings) != 3 || *p.CreatedBy != "arn:aws:iam::123456789012:root" {
		t.Fatalf("profile %+v", p)
	}
	if _, err := c.EnableProfile(f.ctx, &ra.EnableProfileInput{ProfileId: p.ProfileId}); err != nil {
		t.Fatal(err)
	}
	upd, err := c.UpdateProfile(f.ctx, &ra.UpdateProfileInput{ProfileId: p.ProfileId, RoleArns: []string{"arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"}})
	if err != nil || len(upd.Profile.RoleArns) != 2 || !*upd.Profile.Enabled {
		t.Fatalf("update profile: %+v %v", upd, err)
	}
	_, err = c.CreateProfile(f.ctx, &ra.CreateProfileInput{Name: aws.String("p"), RoleArns: []string{"x"}, DurationSeconds: aws.Int32(60)})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)

	crl, err := c.ImportCrl(f.ctx, &ra.ImportCrlInput{Name: aws.String("crl"), CrlData: ca.CRL(t), TrustAnchorArn: ta.TrustAnchorArn, Enabled: aws.Bool(true)})
	if err != nil || !*crl.Crl.Enabled || *crl.Crl.TrustAnchorArn != *ta.TrustAnchorArn {
		t.Fatalf("import crl: %+v %v", crl, err)
	}
	if dis, err := c.DisableCrl(f.ctx, &ra.DisableCrlInput{CrlId: crl.Crl.CrlId}); err != nil || *dis.Crl.Enabled {
		t.Fatalf("disable crl: %v", err)
	}
	_, err = c.ImportCrl(f.ctx, &ra.ImportCrlInput{Name: aws.String("crl"), CrlData: []byte("junk"), TrustAnchorArn: ta.TrustAnchorArn})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)

	lt, err := c.ListTrustAnchors(f.ctx, &ra.ListTrustAnchorsInput{})
	if err != nil || len(lt.TrustAnchors) != 1 {
		t.Fatalf("list anchors: %+v %v", lt, err)
	}
	lp, err := c.ListProfiles(f.ctx, &ra.ListProfilesInput{})
	if err != nil || len(lp.Profiles) != 1 {
		t.Fatalf("list profiles: %v", err)
	}
	lc, err := c.ListCrls(f.ctx, &ra.ListCrlsInput{})
	if err != nil || len(lc.Crls) != 1 {
		t.Fatalf("list crls: %v", err)
	}

	for _, del := range []func() error{
		func() error { _, err := c.DeleteCrl(f.ctx, &ra.DeleteCrlInput{CrlId: crl.Crl.CrlId}); return err },
		func() error {
			_, err := c.DeleteProfile(f.ctx, &ra.DeleteProfileInput{ProfileId: p.ProfileId})
			return err
		},
		func() error {
			_, err := c.DeleteTrustAnchor(f.ctx, &ra.DeleteTrustAnchorInput{TrustAnchorId: ta.TrustAnchorId})
			return err
		},
	} {
		if err := del(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetTrustAnchor(f.ctx, &ra.GetTrustAnchorInput{TrustAnchorId: ta.TrustAnchorId})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

// TestManagementAPIAuthorization: the management API is IAM-authorized like every
// other API of the core: a user without a policy allowing rolesanywhere:* is denied.
func TestManagementAPIAuthorization(t *testing.T) {
	f := newFixture(t)
	admin := f.iam(f.root)
	if _, err := admin.CreateUser(f.ctx, &iam.CreateUserInput{UserName: aws.String("u")}); err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateAccessKey(f.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("u")})
	if err != nil {
		t.Fatal(err)
	}
	u := f.ra(aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey})
	_, err = u.ListTrustAnchors(f.ctx, &ra.ListTrustAnchorsInput{})
	wantErr(t, err, "AccessDeniedException", http.StatusForbidden)

	if _, err := admin.PutUserPolicy(f.ctx, &iam.PutUserPolicyInput{UserName: aws.String("u"), PolicyName: aws.String("ra"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"rolesanywhere:List*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.ListTrustAnchors(f.ctx, &ra.ListTrustAnchorsInput{}); err != nil {
		t.Fatalf("allowed by policy: %v", err)
	}
	_, err = u.CreateProfile(f.ctx, &ra.CreateProfileInput{Name: aws.String("p"), RoleArns: []string{"x"}})
	wantErr(t, err, "AccessDeniedException", http.StatusForbidden)

	bad := f.ra(aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: "wrong"})
	_, err = bad.ListTrustAnchors(f.ctx, &ra.ListTrustAnchorsInput{})
	wantErr(t, err, "SignatureDoesNotMatchException", http.StatusForbidden)
}

// TestTagsAndPages: TagResource/UntagResource change what ListTagsForResource says,
// and the lists page with pageSize and nextToken as the SDK's paginator reads them.
func TestTagsAndPages(t *testing.T) {
	f := newFixture(t)
	c := f.ra(f.root)
	var arns []string
	for i := range 5 {
		arns = append(arns, f.profile(fmt.Sprintf("p%d", i), "arn:aws:iam::123456789012:role/r"))
	}
	if _, err := c.TagResource(f.ctx, &ra.TagResourceInput{ResourceArn: aws.String(arns[0]),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(f.ctx, &ra.UntagResourceInput{ResourceArn: aws.String(arns[0]), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(f.ctx, &ra.ListTagsForResourceInput{ResourceArn: aws.String(arns[0])})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Key != "b" || *tags.Tags[0].Value != "2" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	_, err = c.TagResource(f.ctx, &ra.TagResourceInput{ResourceArn: aws.String("arn:aws:rolesanywhere:us-east-1:123456789012:profile/nope"),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	wantErr(t, err, "ResourceNotFoundException", http.StatusNotFound)

	p := ra.NewListProfilesPaginator(c, &ra.ListProfilesInput{PageSize: aws.Int32(2)})
	var pages, seen int
	for p.HasMorePages() {
		out, err := p.NextPage(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		seen += len(out.Profiles)
	}
	if pages != 3 || seen != 5 {
		t.Fatalf("%d pages, %d profiles; want 3 and 5", pages, seen)
	}
	_, err = c.ListProfiles(f.ctx, &ra.ListProfilesInput{PageSize: aws.Int32(1000)})
	wantErr(t, err, "ValidationException", http.StatusBadRequest)
}
