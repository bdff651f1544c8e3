package iamapi_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"
)

// devPolicy is the guides' developer policy: write logs, read and write one bucket.
const devPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Logs",
      "Effect": "Allow",
      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      "Resource": "*"
    },
    {
      "Sid": "Bucket",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject"],
      "Resource": "arn:aws:s3:::app-bucket/*"
    }
  ]
}`

func TestSimulatePrincipalPolicy(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	arn := aws.ToString(must[*iam.CreatePolicyOutput](t)(c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("dev-policy"), PolicyDocument: aws.String(devPolicy)})).Policy.Arn)
	must[*iam.CreateGroupOutput](t)(c.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("Developers")}))
	check(t, ignore(c.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("Developers"), PolicyArn: &arn})))
	must[*iam.CreateUserOutput](t)(c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}))
	check(t, ignore(c.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("Developers"), UserName: aws.String("dev")})))
	check(t, ignore(c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("no-deletes"), PolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"},
		 {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::app-bucket","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}]}`)})))

	out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"),
		ActionNames:     []string{"logs:PutLogEvents", "s3:GetObject", "s3:DeleteObject", "iam:CreateUser"},
		ResourceArns:    []string{"arn:aws:s3:::app-bucket/report.csv", "arn:aws:s3:::other-bucket/x"},
	}))
	type row struct{ action, resource, decision, source, typ string }
	var got []row
	for _, r := range out.EvaluationResults {
		x := row{aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName), string(r.EvalDecision), "", ""}
		if len(r.MatchedStatements) > 0 {
			x.source, x.typ = aws.ToString(r.MatchedStatements[0].SourcePolicyId), string(r.MatchedStatements[0].SourcePolicyType)
		}
		got = append(got, x)
	}
	const app, other = "arn:aws:s3:::app-bucket/report.csv", "arn:aws:s3:::other-bucket/x"
	want := []row{
		{"logs:PutLogEvents", app, "allowed", "dev-policy", "user-managed"},
		{"logs:PutLogEvents", other, "allowed", "dev-policy", "user-managed"},
		{"s3:GetObject", app, "allowed", "dev-policy", "user-managed"},
		{"s3:GetObject", other, "implicitDeny", "", ""},
		{"s3:DeleteObject", app, "explicitDeny", "no-deletes", "user"},
		{"s3:DeleteObject", other, "explicitDeny", "no-deletes", "user"},
		{"iam:CreateUser", app, "implicitDeny", "", ""},
		{"iam:CreateUser", other, "implicitDeny", "", ""},
	}
	if diff := cmp.Diff(got, want, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("decisions (-got +want):\n%s", diff)
	}
	// The matched statement is located in its document (the "Bucket" statement).
	st := out.EvaluationResults[2].MatchedStatements[0]
	if st.StartPosition.Line != 10 || st.EndPosition.Line != 15 {
		t.Errorf("Bucket statement at lines %d-%d, want 10-15", st.StartPosition.Line, st.EndPosition.Line)
	}

	// Conditions: without the key, the simulator says what is missing.
	listBucket := func(entries ...types.ContextEntry) types.EvaluationResult {
		out := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{"s3:ListBucket"},
			ResourceArns: []string{"arn:aws:s3:::app-bucket"}, ContextEntries: entries}))
		return out.EvaluationResults[0]
	}
	if r := listBucket(); r.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny || !cmp.Equal(r.MissingContextValues, []string{"aws:SourceIp"}) {
		t.Errorf("without aws:SourceIp: %s, missing %v", r.EvalDecision, r.MissingContextValues)
	}
	inside := types.ContextEntry{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: types.ContextKeyTypeEnumIp, ContextKeyValues: []string{"192.0.2.7"}}
	if r := listBucket(inside); r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || len(r.MissingContextValues) != 0 {
		t.Errorf("from 192.0.2.7: %s, missing %v", r.EvalDecision, r.MissingContextValues)
	}
	outside := types.ContextEntry{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: types.ContextKeyTypeEnumIp, ContextKeyValues: []string{"198.51.100.1"}}
	if r := listBucket(outside); r.EvalDecision != types.PolicyEvaluationDecisionTypeImplicitDeny {
		t.Errorf("from 198.51.100.1: %s", r.EvalDecision)
	}

	// A permissions boundary narrows what the policies allow, and says so.
	check(t, ignore(c.PutUserPermissionsBoundary(ctx, &iam.PutUserPermissionsBoundaryInput{UserName: aws.String("dev"),
		PermissionsBoundary: aws.String("arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")})))
	bounded := must[*iam.SimulatePrincipalPolicyOutput](t)(c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{"logs:PutLogEvents", "s3:GetObject"},
		ResourceArns: []string{app}}))
	for i, want := range []struct {
		decision types.PolicyEvaluationDecisionType
		boundary bool
	}{{types.PolicyEvaluationDecisionTypeAllowed, true}, {types.PolicyEvaluationDecisionTypeImplicitDeny, false}} {
		r := bounded.EvaluationResults[i]
		if r.EvalDecision != want.decision || r.PermissionsBoundaryDecisionDetail == nil || r.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary != want.boundary {
			t.Errorf("%s with a boundary: %s, %+v", aws.ToString(r.EvalActionName), r.EvalDecision, r.PermissionsBoundaryDecisionDetail)
		}
	}

	// Results page like every IAM list.
	var n int
	p := iam.NewSimulatePrincipalPolicyPaginator(c, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:group/Developers"),
		ActionNames: []string{"s3:GetObject", "s3:PutObject", "logs:PutLogEvents"}, ResourceArns: []string{app, other}, MaxItems: aws.Int32(4)})
	for p.HasMorePages() {
		n += len(must[*iam.SimulatePrincipalPolicyOutput](t)(p.NextPage(ctx)).EvaluationResults)
	}
	if n != 6 {
		t.Errorf("%d results over pages, want 6", n)
	}

	keys := must[*iam.GetContextKeysForPrincipalPolicyOutput](t)(c.GetContextKeysForPrincipalPolicy(ctx, &iam.GetContextKeysForPrincipalPolicyInput{
		PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"),
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`}}))
	if diff := cmp.Diff(keys.ContextKeyNames, []string{"aws:MultiFactorAuthPresent", "aws:SourceIp", "aws:username"}); diff != "" {
		t.Errorf("context keys (-got +want):\n%s", diff)
	}

	errs := map[string]struct {
		in        iam.SimulatePrincipalPolicyInput
		code, msg string
		status    int
	}{
		"no such user": {iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/ghost"), ActionNames: []string{"s3:GetObject"}},
			"NoSuchEntity", "ghost", http.StatusNotFound},
		"not an entity": {iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:s3:::app-bucket/xxxxxxxx"), ActionNames: []string{"s3:GetObject"}},
			"InvalidInput", "Invalid Entity Arn", http.StatusBadRequest},
		"bad context value": {iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{"s3:GetObject"},
			ContextEntries: []types.ContextEntry{{ContextKeyName: aws.String("aws:SourceIp"), ContextKeyType: types.ContextKeyTypeEnumIp, ContextKeyValues: []string{"not-an-ip"}}}},
			"InvalidInput", "is not a valid ip value", http.StatusBadRequest},
		"bad input policy": {iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{"s3:GetObject"},
			PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`}},
			"MalformedPolicyDocument", "Policy statement must contain resources.", http.StatusBadRequest},
		"action without service": {iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/dev"), ActionNames: []string{"GetObject"}},
			"InvalidInput", "prefaced by a service", http.StatusBadRequest},
	}
	for name, tc := range errs {
		t.Run(name, func(t *testing.T) {
			_, err := c.SimulatePrincipalPolicy(ctx, &tc.in)
			wantErr(t, err, tc.code, tc.status, tc.msg)
		})
	}
}

func TestSimulateCustomPolicy(t *testing.T) {
	f := newFixture(t)
	c, ctx := f.rootClient(), f.ctx
	bucketPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	out := must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{devPolicy},
		ActionNames:     []string{"s3:PutObject", "s3:GetObject"},
		ResourceArns:    []string{"arn:aws:s3:::shared/doc"},
		ResourcePolicy:  aws.String(bucketPolicy),
		CallerArn:       aws.String("arn:aws:iam::123456789012:user/alice"),
	}))
	var got []string
	for _, r := range out.EvaluationResults {
		src := ""
		if len(r.MatchedStatements) > 0 {
			src = aws.ToString(r.MatchedStatements[0].SourcePolicyId) + "/" + string(r.MatchedStatements[0].SourcePolicyType)
		}
		got = append(got, aws.ToString(r.EvalActionName)+" "+string(r.EvalDecision)+" "+src)
	}
	want := []string{"s3:PutObject implicitDeny ", "s3:GetObject allowed ResourcePolicy/resource"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	inList := must[*iam.SimulateCustomPolicyOutput](t)(c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{
		PolicyInputList: []string{devPolicy}, ActionNames: []string{"logs:CreateLogGroup"}}))
	if r := inList.EvaluationResults[0]; r.EvalDecision != types.PolicyEvaluationDecisionTypeAllowed || aws.ToString(r.MatchedStatements[0].SourcePolicyId) != "PolicyInputList.1" ||
		aws.ToString(r.EvalResourceName) != "*" {
		t.Errorf("PolicyInputList.1: %+v", r)
	}
	keys := must[*iam.GetContextKeysForCustomPolicyOutput](t)(c.GetContextKeysForCustomPolicy(ctx, &iam.GetContextKeysForCustomPolicyInput{
		PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1","ec2:ResourceTag/env":"${aws:PrincipalTag/env}"}}}]}`}}))
	if diff := cmp.Diff(keys.ContextKeyNames, []string{"aws:PrincipalTag/env", "aws:RequestedRegion", "ec2:ResourceTag/env"}); diff != "" {
		t.Errorf("context keys (-got +want):\n%s", diff)
	}
	_, err := c.SimulateCustomPolicy(ctx, &iam.SimulateCustomPolicyInput{PolicyInputList: []string{devPolicy}, ActionNames: []string{"s3:GetObject"},
		ContextEntries: []types.ContextEntry{{ContextKeyName: aws.String("aws:CurrentTime"), ContextKeyType: types.ContextKeyTypeEnumDate, ContextKeyValues: []string{"a", "b"}}}})
	wantErr(t, err, "InvalidInput", http.StatusBadRequest, "takes one value")
}
