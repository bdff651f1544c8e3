package session

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestTokenIsStandardJWT: golang-jwt's generic parser verifies a sealed token with the
// key's HS256 key and reads the same claims through encoding/json.
func TestTokenIsStandardJWT(t *testing.T) {
	s := newSealer(t, t0.Add(time.Minute))
	c := typicalClaims()
	c.Tags = append(c.Tags, Tag{`quote " back \ slash`, "tab\tnew\nline \u2028 ünï ☃ \x01"})
	token, _ := seal(t, s, c)
	var got jwt.MapClaims
	tok, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return t0 })).
		ParseWithClaims(token, &got, func(tk *jwt.Token) (any, error) {
			if tk.Header["kid"] != "k2" {
				t.Errorf("kid header = %v", tk.Header["kid"])
			}
			return derive(testKey("k2", 2)).jwt, nil
		})
	if err != nil || !tok.Valid {
		t.Fatalf("golang-jwt does not accept the token: %v", err)
	}
	exp, _ := got.GetExpirationTime()
	if exp == nil || !exp.Equal(c.Expiry) || got["akid"] != c.AccessKeyID || got["sub"] != c.PrincipalARN {
		t.Errorf("golang-jwt reads exp %v akid %v sub %v", exp, got["akid"], got["sub"])
	}
	tags, _ := json.Marshal(got["tag"])
	want, _ := json.Marshal([][2]string{{c.Tags[3].Key, c.Tags[3].Value}})
	if !strings.Contains(string(tags), strings.Trim(string(want), "[]")) {
		t.Errorf("tags through encoding/json: %s, want to contain %s", tags, want)
	}
}

// TestCodecRoundTrip: random claims, strings full of what JSON must escape, come back
// exactly; encoding/json agrees that what appendClaims writes is valid JSON.
func TestCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", `"`, `\`, "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "☃", "😀", "\u2028", "{", "}", "[", "]", ",", ":"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	strs := func() []string {
		var out []string
		for range rng.IntN(3) {
			out = append(out, str())
		}
		return out
	}
	for i := range 2000 {
		w := wire{
			Kind: Kind(str()), Account: str(), Principal: str(), Identity: str(), UniqueID: str(),
			AccessKeyID: str(), IssuedAt: rng.Int64N(1 << 40), Expiry: rng.Int64() - rng.Int64(),
			Policy: str(), PolicyARNs: strs(), Transitive: strs(), Source: str(),
			MFAAuthTime: rng.Int64N(1 << 40), RoleChained: rng.IntN(2) == 0, Caller: str(),
		}
		if rng.IntN(2) == 0 {
			w.PolicyZ = []byte(str())
		}
		for range rng.IntN(3) {
			w.Tags = append(w.Tags, Tag{str(), str()})
		}
		enc := appendClaims(nil, &w)
		if !json.Valid(enc) {
			t.Fatalf("case %d: not valid JSON: %s", i, enc)
		}
		got, err := decodeClaims(string(enc))
		if err != nil {
			t.Fatalf("case %d: %v in %s", i, err, enc)
		}
		if diff := cmp.Diff(w, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("case %d: (-sealed +opened)\n%s", i, diff)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, src := range []string{
		``, `[]`, `{`, `{"akid":"A"`, `{"akid":"A",}`, `{"akid":"A"}x`, `{"akid":1}`, `{"exp":"1"}`,
		`{"exp":1.5}`, `{"akid":"A","akid":"B"}`, `{"unknown":"x"}`, `{"tag":[["k"]]}`, `{"tag":[["k","v","w"]]}`,
		`{"chn":false}`, `{"akid":"\x"}`, `{"akid":"\u12"}`, `{"akid":"\ud800"}`, `{"pma":["a",]}`, `{"polz":"!!"}`,
	} {
		if _, err := decodeClaims(src); err == nil {
			t.Errorf("decodeClaims(%q) accepted", src)
		}
	}
}

func FuzzDecodeClaims(f *testing.F) {
	f.Add(string(appendClaims(nil, &wire{Kind: KindAssumedRole, AccessKeyID: "ASIA", Expiry: 1, Tags: []Tag{{"k", "v"}}, Policy: `{"a":"\"b\""}`})))
	f.Add(`{"akid":"\ud83d\ude00","exp":-1}`)
	f.Fuzz(func(t *testing.T, src string) {
		w, err := decodeClaims(src)
		if err != nil {
			return
		}
		again, err := decodeClaims(string(appendClaims(nil, &w)))
		if err != nil {
			t.Fatalf("re-encoded claims do not decode: %v", err)
		}
		if diff := cmp.Diff(w, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("decode(encode(decode(x))) differs:\n%s", diff)
		}
	})
}

func FuzzCompactJSON(f *testing.F) {
	f.Add(typicalPolicy)
	f.Add(`{"s":"a\\\"b  c"}`)
	f.Fuzz(func(t *testing.T, src string) {
		got := compactJSON(nil, src)
		var want bytes.Buffer
		if json.Compact(&want, []byte(src)) == nil && string(got) != want.String() {
			t.Fatalf("compactJSON(%q) = %q, json.Compact gives %q", src, got, want.String())
		}
	})
}
