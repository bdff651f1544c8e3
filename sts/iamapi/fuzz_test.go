package iamapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FuzzIAMRequest sends root-signed IAM requests with fuzzed parameters through the
// whole handler: the parameters the IAM API reads beyond the model's validation
// (simulator context entries and policy inputs, markers, tags, policy documents,
// MFA codes) must never crash it or end in an internal error, and every answer is
// well-formed XML.
func FuzzIAMRequest(f *testing.F) {
	fx := newFixture(f)
	seeds := []string{
		"Action=SimulateCustomPolicy&PolicyInputList.member.1=" + url.QueryEscape(devPolicy) +
			"&ActionNames.member.1=s3:GetObject&ContextEntries.member.1.ContextKeyName=aws:SourceIp" +
			"&ContextEntries.member.1.ContextKeyType=ipList&ContextEntries.member.1.ContextKeyValues.member.1=10.0.0.0/8",
		"Action=SimulateCustomPolicy&PolicyInputList.member.1=%7B%7D&ActionNames.member.1=s3:*&ResourceArns.member.1=*&ResourcePolicy=%7B%7D",
		"Action=SimulatePrincipalPolicy&PolicySourceArn=arn:aws:iam::123456789012:user/u&ActionNames.member.1=a:b&MaxItems=1&Marker=bzE",
		"Action=GetContextKeysForCustomPolicy&PolicyInputList.member.1=" + url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username, 'x'}/${","Condition":{"Null":{"k":"true"}}}]}`),
		"Action=ListPolicies&Marker=A.bzk5&MaxItems=3&Scope=All",
		"Action=GetAccountAuthorizationDetails&Marker=Role.&Filter.member.1=Role&Filter.member.2=User",
		"Action=ListUserTags&UserName=u&Marker=bzA",
		"Action=CreatePolicy&PolicyName=p&PolicyDocument=" + url.QueryEscape(logsPolicy) + "&Tags.member.1.Key=k&Tags.member.1.Value=v",
		"Action=CreateUser&UserName=u&Tags.member.1.Key=a&Tags.member.1.Value=b&PermissionsBoundary=arn:aws:iam::aws:policy/PowerUserAccess",
		"Action=EnableMFADevice&UserName=u&SerialNumber=arn:aws:iam::123456789012:mfa/u&AuthenticationCode1=123456&AuthenticationCode2=654321",
		"Action=UpdateAccountPasswordPolicy&MinimumPasswordLength=8&MaxPasswordAge=0",
		"Action=CreateLoginProfile&UserName=u&Password=x%00y",
		"Action=ListEntitiesForPolicy&PolicyArn=arn:aws:iam::aws:policy/AdministratorAccess&EntityFilter=User&PathPrefix=/a/",
		// The areas of issue 13: keys, certificates, task ids, ARNs and job ids read by hand.
		"Action=UploadSSHPublicKey&UserName=u&SSHPublicKeyBody=" + url.QueryEscape("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== c"),
		"Action=UploadSigningCertificate&CertificateBody=" + url.QueryEscape("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
		"Action=UploadServerCertificate&ServerCertificateName=s&CertificateBody=x&PrivateKey=" + url.QueryEscape("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----") + "&CertificateChain=y",
		"Action=GetServiceLinkedRoleDeletionStatus&DeletionTaskId=task/aws-service-role/a/b/c",
		"Action=CreateServiceLinkedRole&AWSServiceName=autoscaling.amazonaws.com&CustomSuffix=x",
		"Action=GenerateServiceLastAccessedDetails&Arn=arn:aws:iam::123456789012:policy/p&Granularity=ACTION_LEVEL",
		"Action=GetServiceLastAccessedDetailsWithEntities&JobId=00000000-0000-4000-8000-000000000000&ServiceNamespace=iam&Marker=bzE",
		"Action=ListPoliciesGrantingServiceAccess&Arn=arn:aws:iam::123456789012:group/g&ServiceNamespaces.member.1=s3",
		"Action=GetHumanReadableSummary&EntityArn=arn:aws:iam::123456789012:role/a/b/c",
		"Action=ListServiceSpecificCredentials&AllUsers=true&ServiceName=codecommit.amazonaws.com&Marker=bzE",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	handler := fx.core.Handler()
	f.Fuzz(func(t *testing.T, form string) {
		if !strings.Contains(form, "Version=") {
			form += "&Version=2010-05-08"
		}
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(form))
		if err := v4.NewSigner().SignHTTP(context.Background(), fx.root, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", fx.clock.Now()); err != nil {
			t.Skip()
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, form, rec.Body.String())
		}
		dec := xml.NewDecoder(rec.Body)
		for {
			_, err := dec.Token()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("malformed XML for %q: %v", form, err)
				}
				break
			}
		}
	})
}
