package gaad

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/store"
)

const sample = "testdata/get-account-authorization-details.json"

func readSample(t testing.TB) *Document {
	t.Helper()
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newStore(t testing.TB, acct string) *store.Store {
	t.Helper()
	s, err := store.OpenMemory(context.Background(), acct, func(o *store.Options) { o.UsageFlushInterval = -1 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func importDoc(s *store.Store, d *Document) error {
	return s.Update(context.Background(), func(tx *store.Tx) error { return Import(tx, d) })
}

func exportDoc(t testing.TB, s *store.Store) *Document {
	t.Helper()
	var d *Document
	err := s.View(context.Background(), func(tx *store.Tx) error {
		var err error
		d, err = Export(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// normalize makes two documents comparable: lists in name order, AWS managed policies
// dropped (the store does not keep them), policy documents canonical.
func normalize(d *Document) *Document {
	var c Document
	b, _ := json.Marshal(d)
	_ = json.Unmarshal(b, &c)
	c.Policies = slices.DeleteFunc(c.Policies, func(p ManagedPolicyDetail) bool { return account.IsAWSManagedPolicyARN(p.Arn) })
	slices.SortFunc(c.UserDetailList, func(a, b UserDetail) int { return strings.Compare(a.UserName, b.UserName) })
	slices.SortFunc(c.GroupDetailList, func(a, b GroupDetail) int { return strings.Compare(a.GroupName, b.GroupName) })
	slices.SortFunc(c.RoleDetailList, func(a, b RoleDetail) int { return strings.Compare(a.RoleName, b.RoleName) })
	slices.SortFunc(c.Policies, func(a, b ManagedPolicyDetail) int { return strings.Compare(a.PolicyName, b.PolicyName) })
	for i := range c.RoleDetailList {
		r := &c.RoleDetailList[i]
		r.MaxSessionDuration, r.Description = 0, "" // not in AWS's GAAD
	}
	return &c
}

func TestRoundTrip(t *testing.T) {
	d := readSample(t)
	acct, ok := d.AccountID()
	if !ok || acct != "123456789012" {
		t.Fatalf("AccountID = %q, %v", acct, ok)
	}
	s1 := newStore(t, acct)
	if err := importDoc(s1, d); err != nil {
		t.Fatal(err)
	}
	if err := s1.Check(context.Background()); err != nil {
		t.Fatalf("store after import: %v", err)
	}
	e1 := exportDoc(t, s1)
	// The export says what the sample says (for what the store keeps).
	if diff := cmp.Diff(normalize(d), normalize(e1)); diff != "" {
		t.Errorf("sample → import → export changed the account (-sample +export):\n%s", diff)
	}
	// Through JSON and into a second store: the same again.
	var buf bytes.Buffer
	if err := e1.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	d2, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t, acct)
	if err := importDoc(s2, d2); err != nil {
		t.Fatal(err)
	}
	e2 := exportDoc(t, s2)
	if diff := cmp.Diff(e1, e2); diff != "" {
		t.Errorf("import → export → import → export is not stable (-first +second):\n%s", diff)
	}
	// Facts the import must have applied, read through the store's API.
	err = s2.View(context.Background(), func(tx *store.Tx) error {
		r, err := tx.Role("incident-responder")
		if err != nil {
			return err
		}
		if want := time.Date(2024, 3, 18, 9, 30, 0, 0, time.UTC); !r.RevokeSessionsBefore.Equal(want) || len(r.InlinePolicies) != 0 {
			t.Errorf("AWSRevokeOlderSessions became %v and inline %v", r.RevokeSessionsBefore, r.InlinePolicies.Names())
		}
		web, err := tx.Role("web-server")
		if err != nil {
			return err
		}
		if web.ID != "AROAWEBSERVERROLEEXAM" || web.LastUsed.Region != "eu-west-1" || web.MaxSessionDuration != time.Hour {
			t.Errorf("web-server role %+v", web)
		}
		set, err := tx.PoliciesFor(account.UserRef("bob"))
		if err != nil {
			return err
		}
		if len(set.Identity) != 3 || set.Boundary == nil || !strings.Contains(set.Boundary.Document, "iam:*") {
			t.Errorf("bob's policies %+v", set)
		}
		p, err := tx.Policy("arn:aws:iam::123456789012:policy/app/DeveloperLogsAndBucket")
		if err != nil {
			return err
		}
		if p.DefaultVersion != "v3" || p.NextVersion != 4 {
			t.Errorf("policy versions: default %s next %d", p.DefaultVersion, p.NextVersion)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEncodeLikeTheCLI(t *testing.T) {
	s := newStore(t, "123456789012")
	if err := importDoc(s, readSample(t)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := exportDoc(t, s).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`"CreateDate": "2021-02-03T09:15:42+00:00"`,
		`"AssumeRolePolicyDocument": {` + "\n",
		`"Action": "sts:AssumeRoleWithWebIdentity"`,
		`"PermissionsBoundaryType": "PermissionsBoundaryPolicy"`,
		`"RoleLastUsed": {}`,
		`"aws:TokenIssueTime": "2024-03-18T09:30:00Z"`,
		`"Resource": "arn:aws:iam::*:user/${aws:username}"`, // no HTML escaping of $ { }
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %s", want)
		}
	}
	if strings.Contains(out, "%7B") {
		t.Error("export has URL-encoded documents; the CLI prints objects")
	}
}

func TestPolicyDocumentForms(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a b+c"}]}`
	cases := map[string]struct {
		in   string
		want string
		bad  bool
	}{
		"object":      {in: "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::b/a b+c\"}]\n}", want: doc},
		"url-encoded": {in: `"` + account.EscapePolicyDocument(doc) + `"`, want: doc},
		"json string": {in: mustJSON(doc), want: doc},
		"padded":      {in: mustJSON("  " + doc + "\n"), want: "  " + doc + "\n"},
		"number":      {in: `42`, bad: true},
		"array":       {in: `[1]`, bad: true},
		"null":        {in: `null`, bad: true},
		"not json":    {in: `"hello"`, bad: true},
		"bad escape":  {in: `"%7B%zz"`, bad: true},
	}
	for name, c := range cases {
		var p PolicyDocument
		err := json.Unmarshal([]byte(c.in), &p)
		if c.bad {
			if err == nil {
				t.Errorf("%s: accepted %s as %q", name, c.in, p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var got, want any
		_ = json.Unmarshal([]byte(p), &got)
		_ = json.Unmarshal([]byte(c.want), &want)
		if !cmp.Equal(got, want) {
			t.Errorf("%s: %s, want %s", name, p, c.want)
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestImportIsAllOrNothing(t *testing.T) {
	cases := map[string]struct {
		edit func(d *Document)
		code account.Code
	}{
		"other account": {func(d *Document) {
			d.UserDetailList[1].Arn = strings.Replace(d.UserDetailList[1].Arn, "123456789012", "210987654321", 1)
		}, account.InvalidInput},
		"path mismatch":     {func(d *Document) { d.RoleDetailList[0].Path = "/" }, account.InvalidInput},
		"duplicate user":    {func(d *Document) { d.UserDetailList = append(d.UserDetailList, d.UserDetailList[0]) }, account.EntityAlreadyExists},
		"unknown group":     {func(d *Document) { d.UserDetailList[2].GroupList = []string{"Nobody"} }, account.NoSuchEntity},
		"unknown policy":    {func(d *Document) { d.Policies = d.Policies[1:] }, account.NoSuchEntity},
		"six versions":      {func(d *Document) { p := &d.Policies[0]; p.PolicyVersionList = slices.Repeat(p.PolicyVersionList, 6) }, account.InvalidInput},
		"no default":        {func(d *Document) { d.Policies[0].PolicyVersionList[0].IsDefaultVersion = false }, account.InvalidInput},
		"bad tag":           {func(d *Document) { d.RoleDetailList[1].Tags = []Tag{{Key: "aws:reserved", Value: "x"}} }, account.InvalidInput},
		"session too long":  {func(d *Document) { d.RoleDetailList[1].MaxSessionDuration = 50000 }, account.ValidationError},
		"profile, no role":  {func(d *Document) { d.RoleDetailList[3].InstanceProfileList[0].Roles[0].RoleName = "ghost" }, account.NoSuchEntity},
		"bad user name":     {func(d *Document) { d.UserDetailList[0].UserName = "al ice"; d.UserDetailList[0].Arn = "" }, account.ValidationError},
		"duplicate role id": {func(d *Document) { d.RoleDetailList[1].RoleID = d.RoleDetailList[0].RoleID }, account.EntityAlreadyExists},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := readSample(t)
			c.edit(d)
			s := newStore(t, "123456789012")
			gen := s.Generation()
			err := importDoc(s, d)
			var e *account.Error
			if !errors.As(err, &e) || e.Code != c.code {
				t.Fatalf("Import = %v, want %s", err, c.code)
			}
			if s.Generation() != gen {
				t.Error("a failed import moved the generation")
			}
			if got := exportDoc(t, s); len(got.UserDetailList)+len(got.GroupDetailList)+len(got.RoleDetailList)+len(got.Policies) != 0 {
				t.Errorf("a failed import left entities behind: %+v", got)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `{"UserDetailList": [`,
		"two values":   `{} {}`,
		"bad date":     `{"UserDetailList":[{"UserName":"a","CreateDate":"yesterday"}]}`,
		"bad document": `{"RoleDetailList":[{"RoleName":"a","AssumeRolePolicyDocument":7}]}`,
	} {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Decode accepted %s", name, in)
		}
	}
	d, err := Decode(strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.AccountID(); ok {
		t.Error("an empty document has an account")
	}
	s := newStore(t, "123456789012")
	if err := importDoc(s, d); err != nil {
		t.Errorf("importing an empty document: %v", err)
	}
}

// FuzzImport decodes arbitrary input and imports it into a fresh store: it must never
// panic, and whatever imports must export and pass the store's integrity check.
func FuzzImport(f *testing.F) {
	raw, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(`{"UserDetailList":[{"Path":"/","UserName":"u","GroupList":["g"]}],"GroupDetailList":[{"Path":"/","GroupName":"g"}]}`))
	f.Add([]byte(`{"RoleDetailList":[{"Path":"/","RoleName":"r","AssumeRolePolicyDocument":"%7B%7D","RolePolicyList":[{"PolicyName":"AWSRevokeOlderSessions","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"2024-01-01T00:00:00Z"}}}]}}]}]}`))
	f.Add([]byte(`{"Policies":[{"PolicyName":"p","Path":"/","Arn":"arn:aws:iam::123456789012:policy/p","PolicyVersionList":[{"Document":"{}","VersionId":"v1","IsDefaultVersion":true}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		s, err := store.OpenMemory(context.Background(), "123456789012", func(o *store.Options) { o.UsageFlushInterval = -1 })
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := importDoc(s, d); err != nil {
			var e *account.Error
			if !errors.As(err, &e) {
				t.Fatalf("Import failed with a non-client error: %v", err)
			}
			return
		}
		if err := s.Check(context.Background()); err != nil {
			t.Fatalf("store after import: %v", err)
		}
		var buf bytes.Buffer
		if err := exportDoc(t, s).Encode(&buf); err != nil {
			t.Fatalf("Encode after import: %v", err)
		}
		if _, err := Decode(&buf); err != nil {
			t.Fatalf("our own export does not decode: %v", err)
		}
	})
}
