package iamapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/credbroker/credbroker/sts/saml/samltest"
)

func TestSAMLProviders(t *testing.T) {
	f := newFixture(t)
	c := f.rootClient()
	idp := &samltest.IdP{EntityID: "https://idp.example.com/saml", Keys: []samltest.Key{samltest.NewKey(t, "k1")}}
	md := idp.Metadata()

	created := must[*iam.CreateSAMLProviderOutput](t)(c.CreateSAMLProvider(f.ctx, &iam.CreateSAMLProviderInput{
		Name: aws.String("corp"), SAMLMetadataDocument: aws.String(md), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}}))
	arn := "arn:aws:iam::123456789012:saml-provider/corp"
	if *created.SAMLProviderArn != arn || len(created.Tags) != 1 {
		t.Fatalf("created %s %v", *created.SAMLProviderArn, created.Tags)
	}
	got := must[*iam.GetSAMLProviderOutput](t)(c.GetSAMLProvider(f.ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: &arn}))
	if *got.SAMLMetadataDocument != md || len(*got.SAMLProviderUUID) < 22 || got.CreateDate == nil ||
		got.ValidUntil.Before(time.Now().AddDate(99, 0, 0)) || len(got.Tags) != 1 {
		t.Errorf("get: uuid %v created %v valid until %v tags %v", got.SAMLProviderUUID, got.CreateDate, got.ValidUntil, got.Tags)
	}
	sum := must[*iam.GetAccountSummaryOutput](t)(c.GetAccountSummary(f.ctx, &iam.GetAccountSummaryInput{}))
	if sum.SummaryMap["Providers"] != 1 {
		t.Errorf("GetAccountSummary Providers = %d, want the SAML provider counted", sum.SummaryMap["Providers"])
	}
	list := must[*iam.ListSAMLProvidersOutput](t)(c.ListSAMLProviders(f.ctx, &iam.ListSAMLProvidersInput{}))
	if len(list.SAMLProviderList) != 1 || *list.SAMLProviderList[0].Arn != arn {
		t.Errorf("list %+v", list.SAMLProviderList)
	}

	// Rotation: the new metadata names two keys, and a validUntil.
	idp.Keys = append(idp.Keys, samltest.NewKey(t, "k2"))
	rotated := strings.Replace(idp.Metadata(), `entityID=`, `validUntil="2031-01-02T03:04:05Z" entityID=`, 1)
	must[*iam.UpdateSAMLProviderOutput](t)(c.UpdateSAMLProvider(f.ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: &arn, SAMLMetadataDocument: &rotated}))
	got = must[*iam.GetSAMLProviderOutput](t)(c.GetSAMLProvider(f.ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: &arn}))
	if *got.SAMLMetadataDocument != rotated || !got.ValidUntil.Equal(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("after update: valid until %v", got.ValidUntil)
	}

	must[*iam.TagSAMLProviderOutput](t)(c.TagSAMLProvider(f.ctx, &iam.TagSAMLProviderInput{SAMLProviderArn: &arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}))
	must[*iam.UntagSAMLProviderOutput](t)(c.UntagSAMLProvider(f.ctx, &iam.UntagSAMLProviderInput{SAMLProviderArn: &arn, TagKeys: []string{"team"}}))
	tags := must[*iam.ListSAMLProviderTagsOutput](t)(c.ListSAMLProviderTags(f.ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: &arn}))
	if len(tags.Tags) != 1 || *tags.Tags[0].Key != "env" {
		t.Errorf("tags %+v", tags.Tags)
	}

	bad := strings.Replace(md, "<ds:X509Certificate>", "<ds:X509Certificate>!!", -1)
	noKeys := idp.Metadata()
	noKeys = noKeys[:strings.Index(noKeys, "<md:KeyDescriptor")] + "<!--" + strings.Repeat(" ", 1000) + "-->" +
		noKeys[strings.LastIndex(noKeys, "</md:KeyDescriptor>")+len("</md:KeyDescriptor>"):]
	wantErrs(t, f.ctx, c, map[string]errCase{
		"duplicate":              {"CreateSAMLProvider", in{"Name": "corp", "SAMLMetadataDocument": md}, "EntityAlreadyExists", 409, "corp"},
		"certificate not base64": {"CreateSAMLProvider", in{"Name": "bad", "SAMLMetadataDocument": bad}, "InvalidInput", 400, "X509Certificate"},
		"no signing certificate": {"CreateSAMLProvider", in{"Name": "nokeys", "SAMLMetadataDocument": noKeys}, "InvalidInput", 400, "signing certificate"},
		"too short": {"CreateSAMLProvider", in{"Name": "short", "SAMLMetadataDocument": "<x/>"},
			"ValidationError", 400, "length greater than or equal to 1000"},
		"encryption not served": {"CreateSAMLProvider", in{"Name": "enc", "SAMLMetadataDocument": md,
			"AssertionEncryptionMode": types.AssertionEncryptionModeTypeRequired}, "InvalidInput", 400, "AssertionEncryptionMode"},
		"missing": {"GetSAMLProvider", in{"SAMLProviderArn": "arn:aws:iam::123456789012:saml-provider/nope"}, "NoSuchEntity", 404, ""},
	})

	// A user without permissions is denied, with IAM's reason.
	nobody := f.client(f.user("nobody"))
	_, err := nobody.GetSAMLProvider(f.ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: &arn})
	wantErr(t, err, "AccessDenied", 403, "is not authorized to perform: iam:GetSAMLProvider on resource: "+arn)

	must[*iam.DeleteSAMLProviderOutput](t)(c.DeleteSAMLProvider(f.ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: &arn}))
	_, err = c.DeleteSAMLProvider(f.ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: &arn})
	wantErr(t, err, "NoSuchEntity", 404, "")
}
