package account

import (
	"crypto/rand"
	"io"
	"regexp"
	"testing"
)

func TestIDs(t *testing.T) {
	kinds := []struct {
		what     string
		make     func(prefix, accountID string, rand io.Reader) (string, error)
		shape    *regexp.Regexp
		prefixes []string
	}{
		{"access key id", NewAccessKeyID, regexp.MustCompile(`^(AKIA|ASIA)[A-Z2-7]{16}$`), []string{PrefixAccessKey, PrefixSessionKey}},
		{"unique id", NewUniqueID, regexp.MustCompile(`^(AIDA|AROA|AGPA|ANPA|AIPA)[A-Z2-7]{17}$`),
			[]string{PrefixUser, PrefixRole, PrefixGroup, PrefixPolicy, PrefixInstanceProfile}},
	}
	for _, acct := range []string{"000000000000", "123456789012", "999999999999", "000000000001"} {
		seen := map[string]bool{}
		for range 200 {
			for _, k := range kinds {
				for _, p := range k.prefixes {
					id, err := k.make(p, acct, rand.Reader)
					if err != nil {
						t.Fatal(err)
					}
					if !k.shape.MatchString(id) || id[:4] != p {
						t.Fatalf("%s %q is not in AWS's shape", k.what, id)
					}
					if got, ok := AccountFromID(id); !ok || got != acct {
						t.Fatalf("AccountFromID(%s) = %q, %v; want %s", id, got, ok, acct)
					}
					if seen[id] {
						t.Fatalf("%s %s repeated", k.what, id)
					}
					seen[id] = true
				}
			}
		}
	}
	for _, bad := range []string{"", "AKIA", "AKIA1111111111111111", "AKIAIOSFODNN7EXAMPL"} {
		if got, ok := AccountFromID(bad); ok {
			t.Errorf("AccountFromID(%q) = %q, want not ok", bad, got)
		}
	}
	if _, err := NewAccessKeyID(PrefixAccessKey, "12345", rand.Reader); err == nil {
		t.Error("NewAccessKeyID accepted a 5-digit account")
	}
	s, err := NewSecretAccessKey(rand.Reader)
	if err != nil || !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(s) {
		t.Errorf("secret %q, %v", s, err)
	}
}
