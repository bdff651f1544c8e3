package account

import (
	"errors"
	"testing"
)

func TestARNs(t *testing.T) {
	const a = "123456789012"
	cases := map[string]struct{ got, want string }{
		"user root path":   {UserARN(a, "/", "alice"), "arn:aws:iam::123456789012:user/alice"},
		"user empty path":  {UserARN(a, "", "alice"), "arn:aws:iam::123456789012:user/alice"},
		"user nested":      {UserARN(a, "/division_abc/subdivision_xyz/", "Bob"), "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob"},
		"role":             {RoleARN(a, "/service-role/", "web"), "arn:aws:iam::123456789012:role/service-role/web"},
		"group":            {GroupARN(a, "/", "Admins"), "arn:aws:iam::123456789012:group/Admins"},
		"policy":           {PolicyARN(a, "/team/", "Logs"), "arn:aws:iam::123456789012:policy/team/Logs"},
		"aws policy":       {PolicyARN(AWSAccount, "/", "ReadOnlyAccess"), "arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"instance profile": {InstanceProfileARN(a, "/", "web"), "arn:aws:iam::123456789012:instance-profile/web"},
		"mfa":              {MFADeviceARN(a, "/", "alice"), "arn:aws:iam::123456789012:mfa/alice"},
		"oidc":             {OIDCProviderARN(a, "https://token.actions.githubusercontent.com"), "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		"oidc with path":   {OIDCProviderARN(a, "https://gitlab.example.com/group"), "arn:aws:iam::123456789012:oidc-provider/gitlab.example.com/group"},
		"root":             {RootARN(a), "arn:aws:iam::123456789012:root"},
		"assumed role":     {AssumedRoleARN(a, "web", "i-0abc"), "arn:aws:sts::123456789012:assumed-role/web/i-0abc"},
		"federated":        {FederatedUserARN(a, "bob"), "arn:aws:sts::123456789012:federated-user/bob"},
	}
	for name, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", name, c.got, c.want)
		}
	}
}

func TestParseARN(t *testing.T) {
	cases := map[string]struct {
		in              string
		want            ARN
		typ, path, name string
		bad             bool
	}{
		"role":        {in: "arn:aws:iam::123456789012:role/service/app/web", want: ARN{"aws", "iam", "", "123456789012", "role/service/app/web"}, typ: "role", path: "/service/app/", name: "web"},
		"user":        {in: "arn:aws:iam::123456789012:user/alice", want: ARN{"aws", "iam", "", "123456789012", "user/alice"}, typ: "user", path: "/", name: "alice"},
		"root":        {in: "arn:aws:iam::123456789012:root", want: ARN{"aws", "iam", "", "123456789012", "root"}, typ: "root"},
		"colons":      {in: "arn:aws:logs:eu-west-1:123456789012:log-group:/a:*", want: ARN{"aws", "logs", "eu-west-1", "123456789012", "log-group:/a:*"}, typ: "log-group:", path: "/", name: "a:*"},
		"s3":          {in: "arn:aws:s3:::bucket/key", want: ARN{"aws", "s3", "", "", "bucket/key"}, typ: "bucket", path: "/", name: "key"},
		"no prefix":   {in: "aws:iam::1:role/x", bad: true},
		"few fields":  {in: "arn:aws:iam::123456789012", bad: true},
		"no service":  {in: "arn:aws:::123456789012:role/x", bad: true},
		"no resource": {in: "arn:aws:iam::123456789012:", bad: true},
		"empty":       {in: "", bad: true},
	}
	for name, c := range cases {
		got, err := ParseARN(c.in)
		if c.bad {
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s: ParseARN(%q) = %v, %v; want InvalidInput", name, c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want || got.String() != c.in {
			t.Errorf("%s: ParseARN(%q) = %+v, %v", name, c.in, got, err)
			continue
		}
		typ, path, n := got.SplitResource()
		if typ != c.typ || path != c.path || n != c.name {
			t.Errorf("%s: SplitResource = %q %q %q, want %q %q %q", name, typ, path, n, c.typ, c.path, c.name)
		}
	}
	if !IsAWSManagedPolicyARN("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess") || IsAWSManagedPolicyARN("arn:aws:iam::123456789012:policy/x") {
		t.Error("IsAWSManagedPolicyARN")
	}
}

func FuzzParseARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::123456789012:role/a/b", "arn:aws:s3:::b/k", "arn:::::", "arn:aws:iam::aws:policy/x", "arn:a:b:c:d:e:f:g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseARN(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, a.String())
		}
		typ, path, name := a.SplitResource()
		if path != "" && (path[0] != '/' || path[len(path)-1] != '/') {
			t.Fatalf("SplitResource(%q) path %q", a.Resource, path)
		}
		if path != "" && typ+path+name != a.Resource && typ+path[:len(path)-1]+name != a.Resource && typ+"/"+path[1:]+name != a.Resource {
			t.Fatalf("SplitResource(%q) = %q %q %q does not rebuild it", a.Resource, typ, path, name)
		}
	})
}

func TestEscapePolicyDocument(t *testing.T) {
	doc := "{\n  \"Sid\": \"A b+c\",\n  \"Action\": \"sts:AssumeRole\"\n}"
	want := "%7B%0A%20%20%22Sid%22%3A%20%22A%20b%2Bc%22%2C%0A%20%20%22Action%22%3A%20%22sts%3AAssumeRole%22%0A%7D"
	if got := EscapePolicyDocument(doc); got != want {
		t.Errorf("EscapePolicyDocument = %s, want %s", got, want)
	}
	back, err := UnescapePolicyDocument(want)
	if err != nil || back != doc {
		t.Errorf("UnescapePolicyDocument = %q, %v", back, err)
	}
	if back, _ := UnescapePolicyDocument("a+b"); back != "a+b" {
		t.Errorf("a literal + became %q", back)
	}
}
