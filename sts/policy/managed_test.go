package policy

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestBuiltinCatalog(t *testing.T) {
	c, err := BuiltinCatalog()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AdministratorAccess": "/", "PowerUserAccess": "/", "IAMFullAccess": "/", "IAMReadOnlyAccess": "/",
		"AmazonEC2FullAccess": "/", "AmazonS3FullAccess": "/", "AmazonS3ReadOnlyAccess": "/",
		"CloudWatchLogsFullAccess": "/", "CloudWatchLogsReadOnlyAccess": "/", "ViewOnlyAccess": "/job-function/",
	}
	all := c.All()
	if len(all) != len(want) {
		t.Fatalf("%d built-in policies, want %d", len(all), len(want))
	}
	for i, m := range all {
		path, ok := want[m.Name]
		if !ok {
			t.Errorf("unexpected built-in %s", m.Name)
			continue
		}
		if i > 0 && all[i-1].ARN >= m.ARN {
			t.Errorf("All() not ordered by ARN at %s", m.ARN)
		}
		if m.Path != path || m.ARN != "arn:aws:iam::aws:policy"+path+m.Name {
			t.Errorf("%s: path %q, ARN %q", m.Name, m.Path, m.ARN)
		}
		if !strings.HasPrefix(m.DefaultVersionID, "v") || m.CreateDate.IsZero() || m.Description == "" {
			t.Errorf("%s: version %q, created %v, description %q", m.Name, m.DefaultVersionID, m.CreateDate, m.Description)
		}
		if m.Policy == nil || m.Policy.Name() != m.Name || m.Policy.ARN() != m.ARN || len(m.Policy.Statements()) == 0 {
			t.Errorf("%s: not compiled", m.Name)
		}
		for _, key := range []string{m.Name, m.ARN} {
			if got, ok := c.Lookup(key); !ok || got != m {
				t.Errorf("Lookup(%q) = %v, %v", key, got, ok)
			}
		}
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
