package iamapi_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/credbroker/credbroker/sts/saml/samltest"
)

// boto3SAMLScript lists and reads the SAML provider, then redeems an assertion.
const boto3SAMLScript = `
import json, sys, boto3
iam = boto3.Session(profile_name="root").client("iam")
sts = boto3.Session(profile_name="root").client("sts")
arn = iam.list_saml_providers()["SAMLProviderList"][0]["Arn"]
md = iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"]
r = sts.assume_role_with_saml(RoleArn=sys.argv[1], PrincipalArn=arn, SAMLAssertion=sys.argv[2])
print(json.dumps({"arn": arn, "metadata_len": len(md), "assumed": r["AssumedRoleUser"]["Arn"], "subject": r["Subject"],
                  "issuer": r["Issuer"], "key": r["Credentials"]["AccessKeyId"][:4]}))
`

// TestCLISAMLFederation: the aws CLI creates a SAML provider from an IdP's metadata and
// a role trusting it, and redeems an assertion that xmlsec1 signed; boto3 does the same
// with another assertion.
func TestCLISAMLFederation(t *testing.T) {
	f := newFixtureClock(t, true)
	c := newCLI(t, f.srv.URL)
	samltest.Xmlsec1(t)
	c.profile("root", f.root.AccessKeyID, f.root.SecretAccessKey)
	idp := &samltest.IdP{EntityID: "https://idp.example.com/saml", Keys: []samltest.Key{samltest.NewKey(t, "idp")}}
	write := func(name, text string) string {
		p := filepath.Join(c.dir, name)
		check(t, os.WriteFile(p, []byte(text), 0o600))
		return "file://" + p
	}
	var prov struct{ SAMLProviderArn string }
	c.run(&prov, "root", "iam", "create-saml-provider", "--name", "corp", "--saml-metadata-document", write("md.xml", idp.Metadata()))
	if prov.SAMLProviderArn != "arn:aws:iam::123456789012:saml-provider/corp" {
		t.Fatalf("create-saml-provider: %+v", prov)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.SAMLProviderArn +
		`"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`
	var role struct{ Role struct{ Arn string } }
	c.run(&role, "root", "iam", "create-role", "--role-name", "federated", "--assume-role-policy-document", write("trust.json", trust))

	assertion := samltest.Encode(samltest.SignXmlsec1(t, idp.For(role.Role.Arn, prov.SAMLProviderArn, time.Now()), idp.Keys[0]))
	var out struct {
		AssumedRoleUser                                       struct{ Arn string }
		Credentials                                           struct{ AccessKeyId string }
		Subject, SubjectType, Issuer, Audience, NameQualifier string
	}
	args := []string{"sts", "assume-role-with-saml", "--role-arn", role.Role.Arn, "--principal-arn", prov.SAMLProviderArn, "--saml-assertion", assertion}
	c.run(&out, "root", args...)
	if out.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/federated/alice" || out.Subject != "alice@example.com" ||
		out.SubjectType != "persistent" || out.Issuer != idp.EntityID || out.Audience != "https://signin.aws.amazon.com/saml" || out.NameQualifier == "" {
		t.Errorf("assume-role-with-saml: %+v", out)
	}
	c.fails("InvalidIdentityToken", "already been used", "root", args...)

	// boto3, with an assertion of its own.
	r := idp.For(role.Role.Arn, prov.SAMLProviderArn, time.Now())
	r.AssertionID += "boto3"
	got := c.python("python3", nil, "-c", boto3SAMLScript, role.Role.Arn, samltest.Encode(samltest.SignXmlsec1(t, r, idp.Keys[0])))
	want := map[string]any{"arn": prov.SAMLProviderArn, "metadata_len": float64(len(idp.Metadata())),
		"assumed": "arn:aws:sts::123456789012:assumed-role/federated/alice", "subject": "alice@example.com", "issuer": idp.EntityID, "key": "ASIA"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("boto3 %s = %v, want %v", k, got[k], v)
		}
	}
}
