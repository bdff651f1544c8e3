package policy_test

import (
	"fmt"
	"net/netip"

	"github.com/credbroker/credbroker/sts/policy"
)

// A role with a managed policy and a permissions boundary; the boundary
// keeps it out of IAM.
func ExampleSet_Decide() {
	catalog, err := policy.BuiltinCatalog()
	if err != nil {
		panic(err)
	}
	admin, _ := catalog.Lookup("AdministratorAccess")
	boundary, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [
	    {"Sid": "NoIAM", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
	    {"Sid": "FromOffice", "Effect": "Allow", "Action": "*", "Resource": "*",
	     "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}
	  ]}`), policy.KindBoundary, func(o *policy.ParseOptions) { o.Name = "office-boundary" })
	if err != nil {
		panic(err)
	}
	set := &policy.Set{Identity: []*policy.Policy{admin.Policy}, Boundary: boundary}

	req := policy.Request{
		Principal: policy.Principal{
			Type:    policy.PrincipalAssumedRole,
			ARN:     "arn:aws:sts::123456789012:assumed-role/dev-admin/alice",
			RoleARN: "arn:aws:iam::123456789012:role/dev-admin",
			Account: "123456789012",
		},
		Action:   "s3:GetObject",
		Resource: policy.Resource{ARN: "arn:aws:s3:::reports/2025.csv"},
		Context:  policy.Context{SourceIP: netip.MustParseAddr("192.0.2.10")},
	}
	var buf [8]policy.Match // Decide allocates nothing when buf has room
	for _, action := range []string{"s3:GetObject", "iam:CreateUser"} {
		req.Action = action
		d := set.Decide(&req, buf[:0])
		fmt.Println(action, d.Result.EvalDecision(), d.Statements)
	}
	req.Action, req.Context.SourceIP = "s3:GetObject", netip.MustParseAddr("198.51.100.1")
	d := set.Decide(&req, buf[:0])
	fmt.Println("from elsewhere:", d.Result, "-", d.Reason)
	// Output:
	// s3:GetObject allowed [AdministratorAccess:#0 office-boundary:FromOffice]
	// iam:CreateUser explicitDeny [office-boundary:NoIAM]
	// from elsewhere: ImplicitlyDenied - the permissions boundary does not allow it
}

// Documents IAM would refuse are refused with IAM's words and a JSON path.
func ExampleValidate() {
	doc := []byte(`{"Version": "2012-10-17", "Statement": [
	  {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
	  {"Effect": "Allow", "Action": "s3:GetObject"}]}`)
	for _, e := range policy.Validate(doc, policy.KindIdentity) {
		fmt.Printf("%d:%d %s: %s\n", e.Line, e.Column, e.Path, e.Message)
	}
	// Output:
	// 3:4 $.Statement[1]: Policy statement must contain resources.
	// 2:37 $.Statement[0].Principal: Policy document should not specify a principal.
}
