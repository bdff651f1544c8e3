package account

import (
	"crypto/rand"
	"regexp"
	"testing"
)

func TestIDs(t *testing.T) {
	keyRE := regexp.MustCompile(`^(AKIA|ASIA)[A-Z2-7]{16}$`)
	idRE := regexp.MustCompile(`^(AIDA|AROA|AGPA|ANPA|AIPA)[A-Z2-7]{17}$`)
	for _, acct := range []string{"000000000000", "123456789012", "999999999999", "000000000001"} {
		seen := map[string]bool{}
		for range 200 {
			for _, p := range []string{PrefixAccessKey, PrefixSessionKey} {
				id, err := NewAccessKeyID(p, acct, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if !keyRE.MatchString(id) || id[:4] != p {
					t.Fatalf("access key id %q is not in AWS's shape", id)
				}
				if got, ok := AccountFromID(id); !ok || got != acct {
					t.Fatalf("AccountFromID(%s) = %q, %v; want %s", id, got, ok, acct)
				}
				if seen[id] {
					t.Fatalf("id %s repeated", id)
				}
				seen[id] = true
			}
			for _, p := range []string{PrefixUser, PrefixRole, PrefixGroup, PrefixPolicy, PrefixInstanceProfile} {
				id, err := NewUniqueID(p, acct, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if !idRE.MatchString(id) || id[:4] != p {
					t.Fatalf("unique id %q is not in AWS's shape", id)
				}
				if got, ok := AccountFromID(id); !ok || got != acct {
					t.Fatalf("AccountFromID(%s) = %q, %v; want %s", id, got, ok, acct)
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
