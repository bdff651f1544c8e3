package policy

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestBuiltinCatalog(t *testing.T) {
	c, err := BuiltinCatalog()
	if err != nil {
		t.Fatal(err)
	}
	// A few policies by path, with the description the data set lacks for them.
	want := map[string]string{
		"AdministratorAccess": "/", "PowerUserAccess": "/", "IAMFullAccess": "/", "IAMReadOnlyAccess": "/",
		"AmazonEC2FullAccess": "/", "AmazonS3FullAccess": "/", "AmazonS3ReadOnlyAccess": "/",
		"CloudWatchLogsFullAccess": "/", "CloudWatchLogsReadOnlyAccess": "/", "ViewOnlyAccess": "/job-function/",
		"AWSLambdaBasicExecutionRole": "/service-role/", "AWSSupportServiceRolePolicy": "/aws-service-role/",
		"IAMAuditRootUserCredentials": "/root-task/",
	}
	all := c.All()
	if len(all) < 1500 {
		t.Fatalf("%d built-in policies, want every AWS managed policy (1500 and more)", len(all))
	}
	seen := 0
	for i, m := range all {
		if i > 0 && all[i-1].ARN >= m.ARN {
			t.Errorf("All() not ordered by ARN at %s", m.ARN)
		}
		if m.ARN != "arn:aws:iam::aws:policy"+m.Path+m.Name || !strings.HasPrefix(m.Path, "/") || !strings.HasSuffix(m.Path, "/") {
			t.Errorf("%s: path %q, ARN %q", m.Name, m.Path, m.ARN)
		}
		if !strings.HasPrefix(m.DefaultVersionID, "v") || m.CreateDate.IsZero() {
			t.Errorf("%s: version %q, created %v", m.Name, m.DefaultVersionID, m.CreateDate)
		}
		// Every AWS managed policy compiles (Lookup finds only those that do).
		got, ok := c.Lookup(m.ARN)
		if !ok || got != m || m.Policy == nil || m.Policy.Name() != m.Name || m.Policy.ARN() != m.ARN || len(m.Policy.Statements()) == 0 {
			t.Errorf("%s: not compiled (found %v)", m.ARN, ok)
		}
		if path, ok := want[m.Name]; ok {
			seen++
			if m.Path != path {
				t.Errorf("%s: path %q, want %q", m.Name, m.Path, path)
			}
			if path != "/service-role/" && path != "/aws-service-role/" && path != "/root-task/" && m.Description == "" {
				t.Errorf("%s: no description", m.Name)
			}
			if got, ok := c.Lookup(m.Name); !ok || got != m {
				t.Errorf("Lookup(%q) = %v, %v", m.Name, got, ok)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d policies looked for", seen, len(want))
	}
	if _, ok := c.Lookup("arn:aws:iam::aws:policy/ViewOnlyAccess"); ok {
		t.Error("ViewOnlyAccess found without its /job-function/ path")
	}
	// Each catalog is its own: adding to one does not change another.
	other, _ := BuiltinCatalog()
	if _, err := other.Add(ManagedPolicy{Name: "Mine", ARN: "arn:aws:iam::111122223333:policy/Mine", Document: json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("Mine"); ok {
		t.Error("catalogs share state")
	}
}

func TestBuiltinVersions(t *testing.T) {
	c, err := BuiltinCatalog()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := c.Lookup("arn:aws:iam::aws:policy/PowerUserAccess")
	vs, err := c.Versions(m.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 || vs[0].ID != m.DefaultVersionID || string(vs[0].Document) != string(m.Document) {
		t.Fatalf("PowerUserAccess: %d versions, newest %+v, default %s", len(vs), vs[0].ID, m.DefaultVersionID)
	}
	last := vs[len(vs)-1]
	if last.ID != "v1" || !strings.Contains(string(last.Document), `"NotAction": "iam:*"`) || last.CreateDate.Year() != 2015 {
		t.Errorf("PowerUserAccess v1: %s %v %s", last.ID, last.CreateDate, last.Document)
	}
	for i := 1; i < len(vs); i++ {
		prev, _ := strconv.Atoi(vs[i-1].ID[1:])
		this, _ := strconv.Atoi(vs[i].ID[1:])
		if this >= prev {
			t.Errorf("versions not newest first at %s", vs[i].ID)
		}
	}
	if vs, err := c.Versions("arn:aws:iam::aws:policy/NoSuchPolicy"); err != nil || vs != nil {
		t.Errorf("versions of a missing policy: %v, %v", vs, err)
	}
}

func TestImport(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`
	quoted, _ := json.Marshal(doc)
	encoded, _ := json.Marshal(url.QueryEscape(doc))
	for name, form := range map[string]string{"object": doc, "string": string(quoted), "url-encoded string": string(encoded)} {
		t.Run(name, func(t *testing.T) {
			c := NewCatalog()
			m, err := c.Import([]byte(`{"PolicyName":"Queues","Arn":"arn:aws:iam::111122223333:policy/team/Queues","Path":"/team/","DefaultVersionId":"v3","Document":` + form + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if m.Policy.Statements()[0].Sid != "X" || m.Path != "/team/" || m.DefaultVersionID != "v3" {
				t.Errorf("imported %+v", m)
			}
			if got, ok := c.Lookup("Queues"); !ok || got != m {
				t.Error("not found by name")
			}
		})
	}
	c := NewCatalog()
	for name, data := range map[string]string{
		"not JSON":         `{`,
		"no ARN":           `{"PolicyName":"X","Document":{}}`,
		"invalid document": `{"PolicyName":"X","Arn":"arn:aws:iam::1:policy/X","Document":{"Statement":{"Effect":"Allow","Action":"s3:*"}}}`,
	} {
		if _, err := c.Import([]byte(data)); err == nil {
			t.Errorf("%s: imported", name)
		}
	}
	_, err := c.Import([]byte(`{"PolicyName":"X","Arn":"arn:aws:iam::1:policy/X","Document":{"Statement":{"Effect":"Allow","Action":"s3:*"}}}`))
	if err == nil || !strings.Contains(err.Error(), "Policy statement must contain resources.") {
		t.Errorf("the error does not say why: %v", err)
	}
}

func TestAWSNamesWinLookupByName(t *testing.T) {
	c, _ := BuiltinCatalog()
	mine := ManagedPolicy{Name: "AdministratorAccess", ARN: "arn:aws:iam::111122223333:policy/AdministratorAccess",
		Document: json.RawMessage(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`)}
	if _, err := c.Add(mine); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Lookup("AdministratorAccess"); m.ARN != "arn:aws:iam::aws:policy/AdministratorAccess" {
		t.Errorf("name lookup found %s", m.ARN)
	}
	if m, ok := c.Lookup(mine.ARN); !ok || m.Policy.Statements()[0].Effect != Deny {
		t.Error("the customer policy is not found by its ARN")
	}
}
