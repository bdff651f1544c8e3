package policy

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestPatterns(t *testing.T) {
	tests := []struct {
		mode    patMode
		pattern string
		text    string
		want    bool
	}{
		// Resources: case-sensitive; '*' spans '/'.
		{modeARN, "*", "arn:aws:s3:::anything/at:all", true},
		{modeARN, "arn:aws:s3:::bucket", "arn:aws:s3:::bucket", true},
		{modeARN, "arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", false},
		{modeARN, "arn:aws:s3:::Bucket", "arn:aws:s3:::bucket", false},
		{modeARN, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.txt", true},
		{modeARN, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/", true},
		{modeARN, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false},
		{modeARN, "arn:aws:s3:::bucket/*/file", "arn:aws:s3:::bucket/a/b/file", true},
		// A '*' that ends a segment may match beyond the colons…
		{modeARN, "arn:aws:logs:*:*:*", "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1", true},
		{modeARN, "arn:aws:logs:us-east-1:123456789012:log-group:app*", "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1", true},
		{modeARN, "arn:aws:logs:us-east-1:123456789012:log-group:*", "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s1", true},
		{modeARN, "arn:aws:iam::*:role/app", "arn:aws:iam::123456789012:role/app", true},
		// …any other '*', and '?', stay within their segment.
		{modeARN, "arn:aws:s3:::a*c", "arn:aws:s3:::abbc", true},
		{modeARN, "arn:aws:s3:::a*c", "arn:aws:s3:::a:b:c", false},
		{modeARN, "arn:aws:logs:us-*-1:*:log-group:x", "arn:aws:logs:us-east-1:1:log-group:x", true},
		{modeARN, "arn:aws:logs:us-*-1:*:log-group:x", "arn:aws:logs:us-east:2:1:log-group:x", false},
		{modeARN, "arn:aws:s3:::b?t", "arn:aws:s3:::bat", true},
		{modeARN, "arn:aws:s3:::b?t", "arn:aws:s3:::b:t", false},
		{modeARN, "arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", true},
		{modeARN, "arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:123456789012:volume/vol-1", false},
		{modeARN, "arn:aws:s3:::b/?", "arn:aws:s3:::b/é", true},
		{modeARN, "arn:aws:s3:::b/??", "arn:aws:s3:::b/é", false},
		{modeARN, "arn:aws:s3:::b/*é?x", "arn:aws:s3:::b/aaéééx", true},
		// StringLike: '*' and '?' match anything, colons included.
		{modeLike, "home/*", "home/a:b/c", true},
		{modeLike, "a?c", "a:c", true},
		{modeLike, "*", "", true},
		{modeLike, "a*b*c", "axxbyyc", true},
		{modeLike, "a*b*c", "acb", false},
		{modeLike, "*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
		{modeLike, "Alice", "alice", false},
		// Actions: lower-cased on both sides by the caller.
		{modeAction, "S3:Get*", "s3:getobject", true},
		{modeAction, "s3:?etObject", "s3:getobject", true},
		{modeAction, "*:Get*", "iam:getuser", true},
	}
	for _, tc := range tests {
		p := compilePattern(tc.pattern, tc.mode)
		if got := matchPattern(&p, tc.text); got != tc.want {
			t.Errorf("%q ~ %q = %v, want %v (matcher %d)", tc.pattern, tc.text, got, tc.want, p.kind)
		}
	}
}

func TestPatternKinds(t *testing.T) {
	tests := map[string]pkind{
		"*":                      pAll,
		"arn:aws:s3:::b":         pExact,
		"arn:aws:s3:::b/*":       pPrefix,
		"arn:aws:logs:*:*:*":     pGreedy,
		"arn:aws:s3:::a*c":       pNFA,
		"arn:aws:s3:::b/?":       pNFA,
		"arn:aws:s3:::b/**":      pPrefix,
		"arn:aws:s3:::b/*/x/*":   pNFA,
		"arn:aws:iam::*:role/r*": pGreedy,
	}
	for pat, want := range tests {
		if got := compilePattern(pat, modeARN).kind; got != want {
			t.Errorf("%q compiles to matcher %d, want %d", pat, got, want)
		}
	}
}

// TestMatchersAgree checks the greedy matcher and the NFA against regular
// expressions on random patterns where every wildcard may cross colons, and
// the NFA against regular expressions with segment-bound wildcards.
func TestMatchersAgree(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", ":", "*", "?", "é"}
	textAlphabet := []string{"a", "b", ":", "é"}
	for i := 0; i < 20000; i++ {
		var pat, txt strings.Builder
		for k := rnd.IntN(8); k >= 0; k-- {
			pat.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		for k := rnd.IntN(10); k >= 0; k-- {
			txt.WriteString(textAlphabet[rnd.IntN(len(textAlphabet))])
		}
		p, s := pat.String(), txt.String()
		like := tokenize(nil, p, modeLike, -1)
		re := regexp.MustCompile("(?s)^" + strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(regexp.QuoteMeta(p)) + "$")
		want := re.MatchString(s)
		if got := matchGreedy(like, s); got != want {
			t.Fatalf("greedy %q ~ %q = %v, want %v", p, s, got, want)
		}
		if got := matchNFA(like, s); got != want {
			t.Fatalf("NFA %q ~ %q = %v, want %v", p, s, got, want)
		}
		arn := tokenize(nil, p, modeARN, -1)
		reARN, _ := refContext{}.refRegexp(p, false, true)
		if got, want := matchNFA(arn, s), reARN.MatchString(s); got != want {
			t.Fatalf("ARN NFA %q ~ %q = %v, want %v", p, s, got, want)
		}
	}
}

func TestLongPatternUsesHeapBitSet(t *testing.T) {
	pat := "arn:aws:s3:::" + strings.Repeat("a*", 400) + "b"
	p := compilePattern(pat, modeARN)
	if p.kind != pNFA {
		t.Fatalf("matcher %d", p.kind)
	}
	if !matchPattern(&p, "arn:aws:s3:::"+strings.Repeat("a", 500)+"b") {
		t.Error("long pattern did not match")
	}
	if matchPattern(&p, "arn:aws:s3:::"+strings.Repeat("a", 300)+"b") {
		t.Error("long pattern matched too few a's")
	}
}

func TestTemplates(t *testing.T) {
	r := &Request{Principal: Principal{Type: PrincipalUser, Username: "alice", Tags: []Tag{{"Team", "blue"}}},
		Context: Context{Keys: []ContextKey{{"custom:two", []string{"a", "b"}}, {"custom:colon", []string{"x:y"}}}}}
	tests := []struct {
		in      string
		text    string // expansion; "!" when it cannot resolve; "=" when it is not a template
		matches string // a resource the pattern form matches ("" to skip)
		misses  string
	}{
		{"arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/*", "arn:aws:s3:::b/alice/x", "arn:aws:s3:::b/bob/x"},
		{"${aws:username}", "alice", "alice", "Alice"},
		{"${AWS:UserName}", "alice", "", ""},
		{"${aws:PrincipalTag/team}", "blue", "", ""},
		{"${aws:SourceIdentity}", "!", "", ""},
		{"${aws:SourceIdentity, 'nobody'}", "nobody", "", ""},
		{"${aws:SourceIdentity,'no body'}", "no body", "", ""},
		{"${custom:two}", "!", "", ""},
		{"${custom:two, 'x'}", "!", "", ""},
		{"a${*}b${?}c${$}d", "a*b?c$d", "a*b?c$d", "axbycd"},
		{"arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/x"},
		{"${not a var}", "=", "", ""},
		{"${noVendor}", "=", "", ""},
		{"${aws:username", "=", "", ""},
		{"$${aws:username}}", "$alice}", "", ""},
		{"arn:aws:s3:::${custom:colon}*x", "arn:aws:s3:::x:y*x", "arn:aws:s3:::x:yzx", "arn:aws:s3:::x:y:x"},
		{"b/${aws:username}/**", "b/alice/**", "b/alice/x/y", "b/bob/x"},
		{"b/${aws:username}${*}*", "b/alice**", "b/alice*x", "b/alicex"},
		{"b/${aws:username}", "b/alice", "b/alice", "b/alice/x"},
	}
	for _, tc := range tests {
		tm := parseTemplate(tc.in, modeARN)
		if tc.text == "=" {
			if tm != nil {
				t.Errorf("%q parsed as a template", tc.in)
			}
			continue
		}
		if tm == nil {
			t.Errorf("%q is not a template", tc.in)
			continue
		}
		buf, ok := r.expandText(tm, nil)
		got := string(buf)
		if !ok {
			got = "!"
		}
		if got != tc.text {
			t.Errorf("%q expands to %q, want %q", tc.in, got, tc.text)
		}
		if tc.matches != "" {
			toks, _, ok := r.expandTokens(tm, modeARN, nil, nil)
			if !ok || !matchTokens(toks, tc.matches, tm.seg) {
				t.Errorf("%q does not match %q", tc.in, tc.matches)
			}
			if matchTokens(toks, tc.misses, tm.seg) {
				t.Errorf("%q matches %q", tc.in, tc.misses)
			}
			if tm.plain != pNone && (!r.matchText(tm, tc.matches, nil) || r.matchText(tm, tc.misses, nil)) {
				t.Errorf("%q: the text comparison disagrees with the tokens", tc.in)
			}
		}
	}
}
