package policy

import "testing"

func TestContextKeyType(t *testing.T) {
	// Each type with values its Check accepts and refuses.
	tests := []struct {
		typ       string
		list      bool
		good, bad []string
	}{
		{typ: "string", good: []string{"anything"}},
		{typ: "stringList", list: true, good: []string{"x"}},
		{typ: "numeric", good: []string{"12.5"}, bad: []string{"twelve"}},
		// The engine reads Bool values case-insensitively.
		{typ: "boolean", good: []string{"true", "True"}, bad: []string{"yes"}},
		{typ: "ip", good: []string{"192.0.2.10"}, bad: []string{"192.0.2.300"}},
		{typ: "ipList", list: true, good: []string{"2001:db8::/32"}},
		{typ: "binary", good: []string{"aGVsbG8="}, bad: []string{"!!"}},
		{typ: "date", good: []string{"2025-01-31T12:00:00Z", "2025-01-31T12:00:00+01:00", "2025-01-31"}, bad: []string{"31/01/2025"}},
		{typ: "dateList", list: true, good: []string{"1738324800"}},
	}
	for _, tc := range tests {
		typ, known := ParseContextKeyType(tc.typ)
		if !known || typ.List != tc.list {
			t.Errorf("ParseContextKeyType(%q) = %+v, %v; want known, list %v", tc.typ, typ, known, tc.list)
			continue
		}
		for _, v := range tc.good {
			if err := typ.Check(v); err != nil {
				t.Errorf("%s.Check(%q) = %v, want ok", tc.typ, v, err)
			}
		}
		for _, v := range tc.bad {
			if err := typ.Check(v); err == nil {
				t.Errorf("%s.Check(%q) accepted it", tc.typ, v)
			}
		}
	}
	for unknown, list := range map[string]bool{"color": false, "List": true} {
		if typ, known := ParseContextKeyType(unknown); known || typ.List != list {
			t.Errorf("ParseContextKeyType(%q) = %+v, %v; want unknown, list %v", unknown, typ, known, list)
		}
	}
}
