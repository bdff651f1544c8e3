package iamapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestCLIGrammar sends the real AWS CLI the recorded grammar cases (documents
// IAM accepts and refuses, with IAM's message) through CreatePolicy, and checks
// what AWS owns is refused in AWS's words.
func TestCLIGrammar(t *testing.T) {
	f := newFixtureClock(t, true)
	c := newCLI(t, f.srv.URL)
	c.profile("root", f.root.AccessKeyID, f.root.SecretAccessKey)
	data, err := os.ReadFile(filepath.Join("..", "policy", "testdata", "conformance", "grammar", "moto.json"))
	check(t, err)
	var cases struct {
		Invalid, Valid []struct {
			Name     string
			Document json.RawMessage
			Error    string
		}
	}
	check(t, json.Unmarshal(data, &cases))
	doc := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	// A few of each keep the run short; the policy package checks them all.
	for i, tc := range cases.Invalid {
		if i%8 != 0 {
			continue
		}
		c.fails("MalformedPolicyDocument", tc.Error, "root", "iam", "create-policy", "--policy-name", "refused", "--policy-document", doc(tc.Document))
	}
	for i, tc := range cases.Valid {
		if i%8 != 0 {
			continue
		}
		c.run(nil, "root", "iam", "create-policy", "--policy-name", "accepted"+string(rune('a'+i/8)), "--policy-document", doc(tc.Document))
	}
	c.fails("AccessDenied", "Cannot delete policies outside your own account.", "root", "iam", "delete-policy", "--policy-arn", adminARN)
}
