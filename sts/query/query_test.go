package query

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/credbroker/credbroker/signer"
	"github.com/credbroker/credbroker/sts/account"
	"github.com/credbroker/credbroker/sts/policy"
	"github.com/credbroker/credbroker/sts/store/kv"
)

func loadModel(t testing.TB, name string) *Model {
	t.Helper()
	raw, err := os.ReadFile("../" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseForm(t *testing.T) {
	cases := map[string]struct {
		query, body string
		want        []KV
		err         string
	}{
		"body": {body: "Action=AssumeRole&Version=2011-06-15&RoleSessionName=a%2Bb+c",
			want: []KV{{"Action", "AssumeRole"}, {"RoleSessionName", "a+b c"}, {"Version", "2011-06-15"}}},
		"query then body, first wins": {query: "Action=GetCallerIdentity&Version=2011-06-15", body: "Action=Other",
			want: []KV{{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}}},
		"empty pairs and values": {body: "&&A=&B&=x",
			err: "MalformedQueryString"},
		"empty value": {body: "A=&B",
			want: []KV{{"A", ""}, {"B", ""}}},
		"semicolon is data": {body: "A=1;B=2", want: []KV{{"A", "1;B=2"}}},
		"bad escape":        {body: "A=%zz", err: "MalformedQueryString"},
		"long key":          {body: strings.Repeat("k", MaxKeyLength+1) + "=1", err: "MalformedQueryString"},
		"too many":          {body: strings.Repeat("a=1&", MaxParams+1), err: "MalformedQueryString"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := ParseForm(c.query, []byte(c.body))
			if c.err != "" {
				var qe *Error
				if !errors.As(err, &qe) || qe.Code != c.err {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, f.All()); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestParams(t *testing.T) {
	f, err := ParseForm("", []byte("Tags.member.2.Key=k2&Tags.member.2.Value=v2&Tags.member.10.Key=k10&Tags.member.1.Key=k1&Tags.member.1.Value=v1"+
		"&TransitiveTagKeys.member.2=b&TransitiveTagKeys.member.1=a&DurationSeconds=900&Flag=TRUE&Empty=&When=2024-01-02T03:04:05Z"+
		"&Struct.Inner=x&Attrs.entry.1.key=k&Attrs.entry.1.value=v&List.member.x=bad"))
	if err != nil {
		t.Fatal(err)
	}
	p := NewParams(f)
	var tags [][2]string
	for _, it := range p.List("Tags") {
		tags = append(tags, [2]string{it.String("Key"), it.String("Value")})
	}
	if diff := cmp.Diff([][2]string{{"k1", "v1"}, {"k2", "v2"}, {"k10", ""}}, tags); diff != "" {
		t.Error("List:", diff)
	}
	if diff := cmp.Diff([]string{"a", "b"}, p.Strings("TransitiveTagKeys")); diff != "" {
		t.Error("Strings:", diff)
	}
	if n, ok := p.Int("DurationSeconds"); !ok || n != 900 {
		t.Errorf("Int = %d %v", n, ok)
	}
	if b, ok := p.Bool("Flag"); !ok || !b {
		t.Errorf("Bool = %v %v", b, ok)
	}
	if tm, ok := p.Time("When"); !ok || !tm.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Time = %v %v", tm, ok)
	}
	if !p.Has("Empty") || !p.Has("Struct") || !p.Has("Tags") || p.Has("Nothing") || p.Has("Tag") {
		t.Error("Has")
	}
	if p.Struct("Struct").String("Inner") != "x" {
		t.Error("Struct")
	}
	if diff := cmp.Diff(map[string]string{"k": "v"}, p.Map("Attrs")); diff != "" {
		t.Error("Map:", diff)
	}
	if got := p.Strings("List"); got != nil {
		t.Errorf("Strings ignores bad indexes: %q", got)
	}
}

func TestValidateSTS(t *testing.T) {
	m := loadModel(t, "model_sts.json.gz")
	op, ok := m.Operation("AssumeRole")
	if !ok {
		t.Fatal("no AssumeRole")
	}
	const arn = "arn:aws:iam::123456789012:role/r"
	cases := map[string]struct {
		body string
		want string
	}{
		"ok": {body: "RoleArn=" + arn + "&RoleSessionName=s1&DurationSeconds=3600&Tags.member.1.Key=k&Tags.member.1.Value=v"},
		"missing both": {body: "",
			want: "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"},
		"short name": {body: "RoleArn=" + arn + "&RoleSessionName=x",
			want: "1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		"bad name": {body: "RoleArn=" + arn + "&RoleSessionName=a%20b",
			want: `1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		"long and bad": {body: "RoleArn=" + arn + "&RoleSessionName=" + strings.Repeat("%21", 65),
			want: "2 validation errors detected: Value '" + strings.Repeat("!", 65) + "' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64; Value '" + strings.Repeat("!", 65) + `' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		"duration": {body: "RoleArn=" + arn + "&RoleSessionName=ab&DurationSeconds=899",
			want: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		"duration not a number": {body: "RoleArn=" + arn + "&RoleSessionName=ab&DurationSeconds=1h",
			want: "1 validation error detected: Value '1h' at 'durationSeconds' failed to satisfy constraint: Member must be a number"},
		"tag key": {body: "RoleArn=" + arn + "&RoleSessionName=ab&Tags.member.1.Key=&Tags.member.1.Value=v",
			want: `2 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`},
		"tag value missing": {body: "RoleArn=" + arn + "&RoleSessionName=ab&Tags.member.1.Key=k",
			want: "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"},
		"token code": {body: "RoleArn=" + arn + "&RoleSessionName=ab&TokenCode=12345a",
			want: `1 validation error detected: Value '12345a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\d]*`},
		"supplementary characters in an ARN": {body: "RoleArn=arn:aws:iam::123456789012:role/%F0%9F%98%80&RoleSessionName=ab"},
		"control character in an ARN": {body: "RoleArn=arn:aws:iam::123456789012:role/%01&RoleSessionName=ab",
			want: "1 validation error detected: Value 'arn:aws:iam::123456789012:role/\x01' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := ParseForm("", []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(op.Input, NewParams(f))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var qe *Error
			if !errors.As(err, &qe) || qe.Code != CodeValidationError {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if qe.Message != c.want {
				t.Errorf("message\n got %s\nwant %s", qe.Message, c.want)
			}
		})
	}
}

func TestValidateHidesSensitiveValues(t *testing.T) {
	m := loadModel(t, "model_sts.json.gz")
	op, _ := m.Operation("AssumeRoleWithWebIdentity")
	f, _ := ParseForm("", []byte("RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=ab&WebIdentityToken=abc"))
	err := Validate(op.Input, NewParams(f))
	if err == nil || strings.Contains(err.Error(), "abc") || !strings.Contains(err.Error(), "Value at 'webIdentityToken'") {
		t.Fatalf("err = %v", err)
	}
}

func TestEveryModelPatternCompiles(t *testing.T) {
	for _, name := range []string{"model_sts.json.gz", "iamapi/model_iam.json.gz"} {
		m := loadModel(t, name)
		seen := map[*Shape]bool{}
		var walk func(s *Shape)
		walk = func(s *Shape) {
			if s == nil || seen[s] {
				return
			}
			seen[s] = true
			if s.Pattern != "" && !s.Enforced() && !strings.Contains(s.Pattern, "(?!") {
				t.Errorf("%s: pattern of %s does not translate: %s", name, s.Name, s.Pattern)
			}
			for _, mem := range s.Members {
				walk(mem.Shape)
			}
			walk(s.Member)
			walk(s.Key)
			walk(s.Value)
		}
		for _, op := range m.Operations() {
			o, _ := m.Operation(op)
			walk(o.Input)
		}
		if len(seen) < 10 {
			t.Errorf("%s: only %d shapes", name, len(seen))
		}
	}
}

func TestJavaToRE2(t *testing.T) {
	cases := map[string]string{
		`[\u0020-\u00FF]+`:          `[\x{0020}-\x{00FF}]+`,
		`[\uE000-\u10000-\u10FFFF]`: `[\x{E000}-\x{10000}-\x{10FFFF}]`,
		`[\w+=,.@-]*`:               `[\w+=,.@-]*`,
		`\u002F[\u0021-\u007F]*`:    `\x{002F}[\x{0021}-\x{007F}]*`,
		`a\`:                        `a\`,
	}
	for in, want := range cases {
		if got := javaToRE2(in); got != want {
			t.Errorf("javaToRE2(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestWriteResultAndError(t *testing.T) {
	type res struct {
		Name string    `xml:"Name"`
		When Timestamp `xml:"When"`
	}
	rec := httptest.NewRecorder()
	when := time.Date(2024, 5, 6, 7, 8, 9, 123, time.FixedZone("x", 3600))
	if err := WriteResult(rec, "https://iam.amazonaws.com/doc/2010-05-08/", "GetThing", "rid-1", &res{Name: "a<b", When: Timestamp(when)}); err != nil {
		t.Fatal(err)
	}
	want := `<GetThingResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetThingResult><Name>a&lt;b</Name><When>2024-05-06T06:08:09Z</When></GetThingResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetThingResponse>`
	if rec.Body.String() != want || rec.Code != 200 || rec.Header().Get(RequestIDHeader) != "rid-1" || rec.Header().Get("Content-Type") != "text/xml" {
		t.Errorf("got %d %v\n%s", rec.Code, rec.Header(), rec.Body)
	}

	rec = httptest.NewRecorder()
	if err := WriteResult(rec, "ns", "DeleteThing", "rid-2", nil); err != nil {
		t.Fatal(err)
	}
	if want := `<DeleteThingResponse xmlns="ns"><ResponseMetadata><RequestId>rid-2</RequestId></ResponseMetadata></DeleteThingResponse>`; rec.Body.String() != want {
		t.Errorf("no result: %s", rec.Body)
	}

	m := loadModel(t, "model_sts.json.gz")
	cases := []struct {
		err    *Error
		status int
		typ    string
	}{
		{NewError("AccessDenied", "User: x & y"), 403, "Sender"},
		{NewError("PackedPolicyTooLarge", "p"), 400, "Sender"},
		{NewError("IDPRejectedClaim", "p"), 403, "Sender"},
		{Internal(errors.New("disk on fire")), 500, "Receiver"},
		{&Error{Code: "Custom", Message: "m", Status: 418}, 418, "Sender"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		if got := WriteError(rec, m, m.Namespace, "rid", c.err); got != c.status || rec.Code != c.status {
			t.Errorf("%s: status %d/%d, want %d", c.err.Code, got, rec.Code, c.status)
		}
		var doc struct {
			XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
			Type    string   `xml:"Error>Type"`
			Code    string   `xml:"Error>Code"`
			Message string   `xml:"Error>Message"`
			ID      string   `xml:"RequestId"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", c.err.Code, err, rec.Body)
		}
		if doc.Type != c.typ || doc.Code != c.err.Code || doc.Message != c.err.Message || doc.ID != "rid" {
			t.Errorf("%s: %+v", c.err.Code, doc)
		}
		if strings.Contains(rec.Body.String(), "disk on fire") {
			t.Error("internal cause sent to the client")
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err    error
		code   string
		status int
	}{
		{signer.InvalidToken(), "InvalidClientTokenId", 403},
		{signer.ExpiredToken(), "ExpiredToken", 400},
		{account.Errorf(account.NoSuchEntity, "x"), "NoSuchEntity", 404},
		{account.Errorf(account.EntityAlreadyExists, "x"), "EntityAlreadyExists", 409},
		{&policy.Error{Code: policy.CodeMalformedPolicyDocument, Message: "Syntax errors in policy."}, "MalformedPolicyDocument", 400},
		{errors.New("boom"), "InternalFailure", 500},
		{fmt.Errorf("reading: %w", fmt.Errorf("%w: dial tcp: refused", kv.ErrUnavailable)), "ServiceUnavailable", 503},
	}
	for _, c := range cases {
		qe := Classify(c.err)
		rec := httptest.NewRecorder()
		if qe.Code != c.code || WriteError(rec, nil, "ns", "r", qe) != c.status {
			t.Errorf("%v: %s %d", c.err, qe.Code, rec.Code)
		}
	}
	if StatusOf("Unknown") != http.StatusBadRequest {
		t.Error("unknown codes are 400")
	}
}
