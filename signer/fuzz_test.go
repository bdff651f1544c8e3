package signer

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", true)
	f.Add("AWS4-HMAC-SHA256 Signature=x,Credential=a/b/c/d/e,SignedHeaders=host", false)
	f.Add("Bearer token", true)
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=", true)
	f.Add("AWS4-HMAC-SHA256 Credential=a, Credential=b", true)
	f.Fuzz(func(t *testing.T, header string, hasDate bool) {
		a, err := parseAuthorization(header, hasDate)
		if err != nil {
			if err.Code != CodeIncompleteSignature || err.Message == "" {
				t.Fatalf("failure %+v is not IncompleteSignature with a message", err)
			}
			if strings.Contains(err.Message, header) && len(header) > 32 {
				t.Fatalf("message echoes the header: %q", err.Message)
			}
			return
		}
		if !hasDate || a.Credential == "" || a.SignedHeaders == "" || a.Signature == "" {
			t.Fatalf("accepted an incomplete header: %+v (hasDate %v)", a, hasDate)
		}
		again, err := parseAuthorization(algorithm+" Credential="+a.Credential+", SignedHeaders="+a.SignedHeaders+", Signature="+a.Signature, true)
		if err != nil || again != a {
			t.Fatalf("re-rendered header parses as %+v, %v; want %+v", again, err, a)
		}
	})
}

func FuzzParseCredential(f *testing.F) {
	f.Add("AKIDEXAMPLE/20150830/us-east-1/service/aws4_request")
	f.Add("a/b/c/d")
	f.Add("a/b/c/d/e/f")
	f.Add("////")
	f.Fuzz(func(t *testing.T, cred string) {
		id, scope, term, err := parseCredential(cred)
		if err != nil {
			if strings.Count(cred, "/") == 4 {
				t.Fatalf("refused a five-element credential %q: %v", cred, err)
			}
			if len(err.Message) > 300 {
				t.Fatalf("unbounded message: %d bytes", len(err.Message))
			}
			return
		}
		if got := strings.Join([]string{id, scope.Date, scope.Region, scope.Service, term}, "/"); got != cred {
			t.Fatalf("parts rejoin to %q, want %q", got, cred)
		}
	})
}

// FuzzCanonicalQuery checks the invariants the verifier's unsafe string views rely on:
// the arena never grows, and every component comes out canonical and sorted.
func FuzzCanonicalQuery(f *testing.F) {
	for _, q := range []string{"", "a=b", "b=x+y&a=%7e&a=!&c", "%E1%88%B4=Value1&Param=Value2", "=&&=%", "%zz=%4", "a=%2", "é=☃"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		arena := make([]byte, 0, 3*len(q))
		params, out := canonicalQuery(nil, arena, q, true)
		if cap(out) != cap(arena) || unsafe.SliceData(out) != unsafe.SliceData(arena) {
			t.Fatalf("arena reallocated: cap %d → %d", cap(arena), cap(out))
		}
		for _, p := range params {
			if !canonicalComponent(p.key) || !canonicalComponent(p.value) {
				t.Fatalf("not canonical: %q=%q", p.key, p.value)
			}
		}
		if !slices.IsSortedFunc(params, func(a, b qparam) int {
			if c := strings.Compare(a.key, b.key); c != 0 {
				return c
			}
			return strings.Compare(a.value, b.value)
		}) {
			t.Fatalf("not sorted: %v", params)
		}
	})
}

func FuzzNormalizePath(f *testing.F) {
	for _, p := range []string{"/", "//", "/./", "/a/..", "/a/b/../..", "//example//", "/./example", "a/../..", "/..", "/a/./b/../c//d/"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := normalizePath(p)
		if normalizePath(n) != n {
			t.Fatalf("normalizePath(%q) = %q is not a fixed point", p, n)
		}
		if needsNormalizing(n) {
			t.Fatalf("normalizePath(%q) = %q still needs normalizing", p, n)
		}
	})
}

// FuzzVerify feeds arbitrary requests, seeded with the signing suite's signed requests,
// through net/http's parser and Verify: no panics, and nothing but the suite's own key
// can verify.
func FuzzVerify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(suiteDir, "*", "*-signed-request.txt"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	clock := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v := New(KeyLookupFunc(func(_ context.Context, id, _ string) (string, error) {
		if id != "AKIDEXAMPLE" {
			return "", InvalidToken()
		}
		return "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", nil
	}), func(o *Options) { o.Now = func() time.Time { return clock } })
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			return
		}
		res, err := v.Verify(context.Background(), r, body)
		if err == nil && res.AccessKeyID != "AKIDEXAMPLE" {
			t.Fatalf("verified for key %q", res.AccessKeyID)
		}
		if err != nil && CodeOf(err) == "" {
			t.Fatalf("failure without an AWS code: %v", err)
		}
	})
}

func TestEcho(t *testing.T) {
	for in, want := range map[string]string{
		"20150830":                  "20150830",
		"a\nb\x00c\x7f":             "a?b?c?",
		"\xff\xfe":                  "??",
		strings.Repeat("é", 100):    strings.Repeat("é", 64) + "…",
		strings.Repeat("x", 129):    strings.Repeat("x", 128) + "…",
		"ok/with spaces & <xml>'\"": "ok/with spaces & <xml>'\"",
	} {
		if got := echo(in); got != want {
			t.Errorf("echo(%q) = %q, want %q", in, got, want)
		}
	}
	if got := echo("x" + strings.Repeat("é", 100)); !utf8.ValidString(got) || !strings.HasSuffix(got, "é?…") {
		t.Errorf("echo cut a rune: %q", got)
	}
}
