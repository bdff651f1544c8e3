package account

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestArgon2id(t *testing.T) {
	h := Argon2id{Time: 1, MemoryKiB: 256, Threads: 1}
	enc, err := h.Hash("correct horse battery staple", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=256,t=1,p=1$") || strings.Contains(enc, "horse") {
		t.Fatalf("hash %q", enc)
	}
	again, _ := h.Hash("correct horse battery staple", rand.Reader)
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		got, err := VerifyPassword(enc, pw)
		if err != nil || got != want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, got, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=256,t=1,p=1$!!$aGFzaA"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword accepted hash %q", bad)
		}
	}
	if _, err := (Argon2id{}).Hash("x", rand.Reader); err == nil {
		t.Error("Hash with zero parameters succeeded")
	}
	d := DefaultArgon2id()
	if d.MemoryKiB < 19*1024 || d.Time < 2 {
		t.Errorf("default parameters %+v are below OWASP's minimum", d)
	}
}

func TestCheckPassword(t *testing.T) {
	strict := &PasswordPolicy{MinimumPasswordLength: 12, RequireSymbols: true, RequireNumbers: true, RequireUppercaseCharacters: true, RequireLowercaseCharacters: true}
	cases := map[string]struct {
		policy *PasswordPolicy
		pw     string
		want   string // "" valid, else the message
	}{
		"default ok":        {nil, "Abcdefg1", ""},
		"default short":     {nil, "Abcde1", "Password should have a minimum length of 8"},
		"default 2 classes": {nil, "abcdefgh1", "Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols"},
		"strict ok":         {strict, "Correct-Horse-9", ""},
		"strict all wrong":  {strict, "short", "Password should have a minimum length of 12; Password should have at least one uppercase letter; Password should have at least one number; Password should have at least one symbol"},
		"strict no symbol":  {strict, "CorrectHorse99", "Password should have at least one symbol"},
	}
	for name, c := range cases {
		err := CheckPassword(c.policy, c.pw)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != PasswordPolicyViolation || e.Message != c.want {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.pw) {
			t.Errorf("%s: the error contains the password", name)
		}
	}
	lp := LoginProfile{}
	for i, h := range []string{"h1", "h2", "h3", "h4"} {
		lp.SetPassword(h, lp.PasswordChanged, 2)
		if len(lp.History) > 2 || (i > 0 && lp.History[0] != []string{"h1", "h2", "h3"}[i-1]) {
			t.Errorf("after %s: history %v", h, lp.History)
		}
	}
}
