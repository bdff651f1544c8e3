package imds

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestTokenSet(t *testing.T) {
	s := NewTokenSet()
	a, _ := NewToken(nil)
	b, _ := NewToken(nil)
	if a == b || len(a) != 43 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if err := s.Add(a, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(b, "ci-deploy"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tok, role string
		ok        bool
	}{
		{a, "", true}, {b, "ci-deploy", true}, {a + "x", "", false}, {a[:len(a)-1], "", false},
		{"", "", false}, {strings.Repeat("x", maxTokenLen+1), "", false},
	} {
		role, ok := s.Lookup(c.tok)
		if ok != c.ok || role != c.role {
			t.Errorf("Lookup(%.10q) = %q %v, want %q %v", c.tok, role, ok, c.role, c.ok)
		}
	}
	if !s.Remove(a) || s.Remove(a) || s.Len() != 1 {
		t.Fatalf("Remove: len %d", s.Len())
	}
	if _, ok := s.Lookup(a); ok {
		t.Error("removed token still accepted")
	}
	if err := s.Add(b, "other"); err != nil {
		t.Fatal(err)
	}
	if role, _ := s.Lookup(b); role != "other" || s.Len() != 1 {
		t.Errorf("re-Add did not rebind: %q", role)
	}
	for _, bad := range []string{"short", "has space in the middle!", "new\nline-token-value", strings.Repeat("x", maxTokenLen+1), "ünïcödé-token-value"} {
		if err := s.Add(bad, ""); err == nil {
			t.Errorf("Add(%.20q) accepted", bad)
		}
	}
	if _, err := NewToken(bytes.NewReader([]byte("short"))); err == nil {
		t.Error("NewToken with a failing reader succeeded")
	}
}

func TestTokenSetConcurrent(t *testing.T) {
	s := NewTokenSet()
	keep, _ := NewToken(nil)
	s.Add(keep, "")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				tok, _ := NewToken(nil)
				s.Add(tok, "r")
				s.Remove(tok)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 2000; j++ {
				if _, ok := s.Lookup(keep); !ok {
					t.Error("kept token lost during concurrent changes")
					return
				}
			}
		}()
	}
	wg.Wait()
	if s.Len() != 1 {
		t.Errorf("len %d", s.Len())
	}
}

func TestWriteTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	a, _ := NewToken(nil)
	b, _ := NewToken(nil)
	for _, tok := range []string{a, b} {
		if err := WriteTokenFile(path, tok); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tok {
			t.Fatalf("file holds %q, want %q (no newline)", got, tok)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	// A pre-existing, world-readable file is replaced, not rewritten in place.
	os.WriteFile(path, []byte("old"), 0o644)
	if err := WriteTokenFile(path, a); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after replacing a 0644 file: %v", fi.Mode().Perm())
	}
	if err := WriteTokenFile(filepath.Join(dir, "missing", "token"), a); err == nil {
		t.Error("no error for a missing directory")
	}
	if err := WriteTokenFile(path, "bad token\n"); err == nil {
		t.Error("wrote an invalid token")
	}
	if got, _ := os.ReadFile(path); string(got) != a {
		t.Error("a refused write changed the file")
	}
}

func TestTokenSetBindingsAndUserTokens(t *testing.T) {
	s := NewTokenSet()
	exec, _ := NewToken(nil)
	if err := s.AddBinding(exec, Binding{Role: "deploy", UIDBound: true, UID: 1001}); err != nil {
		t.Fatal(err)
	}
	if b, ok := s.Binding(exec); !ok || b != (Binding{Role: "deploy", UIDBound: true, UID: 1001}) {
		t.Errorf("Binding(exec) = %+v %v", b, ok)
	}
	if _, err := s.UserToken(1001); err == nil {
		t.Error("UserToken without a key")
	}
	if err := s.SetUserKey([]byte("short")); err == nil {
		t.Error("a 5-byte user key accepted")
	}
	if err := s.SetUserKey([]byte("0123456789abcdef0123")); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UserToken(1001)
	u0, _ := s.UserToken(0)
	if !strings.HasPrefix(u, "cbu1.1001.") || checkToken(u) != nil {
		t.Errorf("user token %q", u)
	}
	if b, ok := s.Binding(u); !ok || b != (Binding{UIDBound: true, UID: 1001}) {
		t.Errorf("Binding(user token) = %+v %v", b, ok)
	}
	if b, ok := s.Binding(u0); !ok || b.UID != 0 || !b.UIDBound {
		t.Errorf("Binding(uid 0 token) = %+v %v", b, ok)
	}
	mac := strings.TrimPrefix(u, "cbu1.1001.")
	for _, forged := range []string{
		"cbu1.1002." + mac, "cbu1.01001." + mac, "cbu1.+1001." + mac, "cbu1.1001." + mac + "A", "cbu1.1001." + mac[1:],
		"cbu1.1001." + mac + "=", "cbu1.4294968297." + mac, "cbu1.1001", "cbu1..", "cbu2.1001." + mac,
	} {
		if b, ok := s.Binding(forged); ok {
			t.Errorf("forged %q accepted as %+v", forged, b)
		}
	}
	if err := s.Add(u, ""); err == nil {
		t.Error("a token with the user prefix was added")
	}
	if s.Remove(u) {
		t.Error("Remove of a derived token reported it present")
	}
	s.SetUserKey([]byte("another key, another daemon"))
	if _, ok := s.Binding(u); ok {
		t.Error("a user token outlived its key")
	}
}
