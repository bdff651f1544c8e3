package policy

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// The grammar cases live in testdata/conformance/grammar/*.json: documents
// IAM accepts ("valid") and refuses ("invalid", with IAM's message), each
// citing the AWS text it follows. See testdata/conformance/README.md.

type grammarFile struct {
	Description string        `json:"description"`
	Source      string        `json:"source"`
	Invalid     []grammarCase `json:"invalid"`
	Valid       []grammarCase `json:"valid"`
}

type grammarCase struct {
	Name     string          `json:"name"`
	Kind     string          `json:"kind"`
	Document json.RawMessage `json:"document"`
	Error    string          `json:"error"`
	Cite     string          `json:"cite"`
}

// text returns the document as submitted: a JSON string case is the raw text.
func (c *grammarCase) text(t *testing.T) []byte {
	var s string
	if json.Unmarshal(c.Document, &s) == nil {
		return []byte(s)
	}
	return c.Document
}

func (c *grammarCase) kind(t *testing.T) Kind {
	if c.Kind == "" {
		return KindIdentity
	}
	k, err := ParseKind(c.Kind)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGrammarConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/grammar/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no grammar files: %v", err)
	}
	valid, invalid := 0, 0
	for _, file := range files {
		var gf grammarFile
		decodeStrict(t, file, &gf)
		base := filepath.Base(file)
		for _, c := range gf.Valid {
			valid++
			t.Run(base+"/valid/"+c.Name, func(t *testing.T) {
				if c.Cite == "" || c.Error != "" {
					t.Fatal("a valid case cites the AWS text it follows and has no error")
				}
				if _, err := Parse(c.text(t), c.kind(t)); err != nil {
					t.Errorf("refused a document IAM accepts: %v", err)
				}
			})
		}
		for _, c := range gf.Invalid {
			invalid++
			t.Run(base+"/invalid/"+c.Name, func(t *testing.T) {
				if c.Cite == "" || c.Error == "" {
					t.Fatal("an invalid case cites the AWS text it follows and gives IAM's message")
				}
				doc := c.text(t)
				_, err := Parse(doc, c.kind(t))
				e, ok := err.(*Error)
				if !ok {
					t.Fatalf("accepted a document IAM refuses with %q (%v)", c.Error, err)
				}
				if e.Code != CodeMalformedPolicyDocument || e.Message != c.Error {
					t.Errorf("answered %s: %q, IAM answers MalformedPolicyDocument: %q", e.Code, e.Message, c.Error)
				}
				// Validate lists IAM's fault among all, with its place for tools.
				found := false
				for _, f := range Validate(doc, c.kind(t)) {
					found = found || f == e || *f == *e
				}
				if !found {
					t.Errorf("Validate does not list %v", e)
				}
				if e.Line == 0 && len(doc) > 0 && doc[0] == '{' {
					t.Errorf("no line and column for %v", e)
				}
			})
		}
	}
	if valid < 40 || invalid < 70 {
		t.Errorf("only %d valid and %d invalid grammar cases", valid, invalid)
	}
}

// A document stored before the grammar grew stricter must keep its Deny:
// with Legacy, the faults of IAM's newer checks are not faults.
func TestLegacyKeepsStoredDeny(t *testing.T) {
	stored := []byte(`{"Version":"2008-10-17","Statement":[{"Effect":"Deny","Action":["s3:Get:Object","s3:*"],"Resource":"arn:aws:s3:eu-west-1::b/*",
		"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}},{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}`)
	if _, err := Parse(stored, KindIdentity); err == nil {
		t.Fatal("today's grammar accepted the stored document")
	}
	p, err := Parse(stored, KindIdentity, func(o *ParseOptions) { o.Legacy = true })
	if err != nil {
		t.Fatalf("Legacy refused a stored document: %v", err)
	}
	d := (&Set{Identity: []*Policy{p}}).Decide(&Request{Principal: confPrincipals["alice"], Action: "iam:CreateUser", Resource: Resource{ARN: "*"}}, nil)
	if d.Result != ExplicitlyDenied {
		t.Errorf("the stored Deny decides %v", d.Result)
	}
	// Legacy still refuses what no grammar ever accepted.
	if _, err := Parse([]byte(`{"Statement":{"Effect":"deny","Action":"*","Resource":"*"}}`), KindIdentity, func(o *ParseOptions) { o.Legacy = true }); err == nil {
		t.Error("Legacy accepted an Effect of the wrong case")
	}
}
