package query

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseForm: any input either fails with MalformedQueryString or yields sorted,
// distinct keys that round-trip through url.QueryEscape; Params and Validate never
// panic on it, and a validation message never exceeds what it may echo.
func FuzzParseForm(f *testing.F) {
	f.Add("Action=GetCallerIdentity&Version=2011-06-15", "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Add("", "Tags.member.01.Key=a&Tags.member.1.Key=b&Tags.member.-1.Key=c&Tags.member.99999999999999999999.Key=d")
	f.Add("a=%", "b=+%2B&&=&c")
	f.Add("", "TransitiveTagKeys.member.1=a&TransitiveTagKeys.member.1.x=b&DurationSeconds=%F0%9F%98%80")
	m := loadModel(f, "model_sts.json.gz")
	ops := m.Operations()
	f.Fuzz(func(t *testing.T, query, body string) {
		form, err := ParseForm(query, []byte(body))
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != CodeMalformedQueryString {
				t.Fatalf("error %v is not MalformedQueryString", err)
			}
			return
		}
		kv := form.All()
		if !slices.IsSortedFunc(kv, func(a, b KV) int { return strings.Compare(a.Key, b.Key) }) {
			t.Fatal("keys not sorted")
		}
		for i, e := range kv {
			if i > 0 && kv[i-1].Key == e.Key {
				t.Fatalf("key %q twice", e.Key)
			}
			if v, ok := form.Get(e.Key); !ok || v != e.Value {
				t.Fatalf("Get(%q) = %q, %v", e.Key, v, ok)
			}
			again, err := ParseForm("", []byte(url.QueryEscape(e.Key)+"="+url.QueryEscape(e.Value)))
			if err != nil || again.Len() != 1 || again.All()[0] != e {
				t.Fatalf("%q=%q does not round-trip: %v", e.Key, e.Value, err)
			}
		}
		p := NewParams(form)
		for _, op := range ops {
			o, _ := m.Operation(op)
			err := Validate(o.Input, p)
			if err == nil {
				continue
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != CodeValidationError {
				t.Fatalf("%s: %v", op, err)
			}
			if !utf8.ValidString(qe.Message) {
				t.Fatalf("%s: message is not UTF-8", op)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, m, m.Namespace, "id", qe)
			if rec.Code != 400 {
				t.Fatalf("status %d", rec.Code)
			}
		}
		for _, l := range p.List("Tags") {
			_ = l.String("Key")
		}
		_ = p.Strings("TransitiveTagKeys")
		_ = p.Map("Attributes")
	})
}
