package iamapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestAWSManagedCatalog: every AWS managed policy is listed, attachable, and has the
// versions the catalog knows.
func TestAWSManagedCatalog(t *testing.T) {
	f := newFixture(t)
	c := f.rootClient()
	n := 0
	pages := iam.NewListPoliciesPaginator(c, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeAws, PathPrefix: aws.String("/service-role/")})
	for pages.HasMorePages() {
		out, err := pages.NextPage(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Policies {
			if !strings.HasPrefix(*p.Arn, "arn:aws:iam::aws:policy/service-role/") {
				t.Fatalf("listed %s under /service-role/", *p.Arn)
			}
		}
		n += len(out.Policies)
	}
	if n < 200 {
		t.Errorf("%d AWS managed policies under /service-role/, want them all (200 and more)", n)
	}

	arn := "arn:aws:iam::aws:policy/PowerUserAccess"
	vs := must[*iam.ListPolicyVersionsOutput](t)(c.ListPolicyVersions(f.ctx, &iam.ListPolicyVersionsInput{PolicyArn: &arn}))
	if len(vs.Versions) < 2 || !vs.Versions[0].IsDefaultVersion || vs.Versions[len(vs.Versions)-1].IsDefaultVersion {
		t.Fatalf("PowerUserAccess has %d versions listed", len(vs.Versions))
	}
	v1 := must[*iam.GetPolicyVersionOutput](t)(c.GetPolicyVersion(f.ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")}))
	doc, _ := url.QueryUnescape(*v1.PolicyVersion.Document)
	if v1.PolicyVersion.IsDefaultVersion || !strings.Contains(doc, `"NotAction": "iam:*"`) {
		t.Errorf("PowerUserAccess v1: default %v, %s", v1.PolicyVersion.IsDefaultVersion, doc)
	}

	lambda := "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	f.user("fn")
	must[*iam.AttachUserPolicyOutput](t)(c.AttachUserPolicy(f.ctx, &iam.AttachUserPolicyInput{UserName: aws.String("fn"), PolicyArn: &lambda}))
	_, err := c.AttachUserPolicy(f.ctx, &iam.AttachUserPolicyInput{UserName: aws.String("fn"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
	wantErr(t, err, "NoSuchEntity", 404, "")
}
