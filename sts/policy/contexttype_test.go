package policy

import "testing"

func TestContextKeyType(t *testing.T) {
	tests := []struct {
		typ, value string
		known, ok  bool
		list       bool
	}{
		{"string", "anything", true, true, false},
		{"stringList", "x", true, true, true},
		{"numeric", "12.5", true, true, false},
		{"numeric", "twelve", true, false, false},
		{"boolean", "true", true, true, false},
		{"boolean", "True", true, true, false}, // the engine reads Bool values case-insensitively
		{"boolean", "yes", true, false, false},
		{"ip", "192.0.2.10", true, true, false},
		{"ipList", "2001:db8::/32", true, true, true},
		{"ip", "192.0.2.300", true, false, false},
		{"binary", "aGVsbG8=", true, true, false},
		{"binary", "!!", true, false, false},
		{"date", "2025-01-31T12:00:00Z", true, true, false},
		{"date", "2025-01-31T12:00:00+01:00", true, true, false},
		{"date", "2025-01-31", true, true, false},
		{"dateList", "1738324800", true, true, true},
		{"date", "31/01/2025", true, false, false},
		{"color", "red", false, false, false},
		{"List", "x", false, false, true},
	}
	for _, tc := range tests {
		typ, known := ParseContextKeyType(tc.typ)
		if known != tc.known || typ.List != tc.list {
			t.Errorf("ParseContextKeyType(%q) = %+v, %v; want known %v, list %v", tc.typ, typ, known, tc.known, tc.list)
			continue
		}
		if !known {
			continue
		}
		if err := typ.Check(tc.value); (err == nil) != tc.ok {
			t.Errorf("%s.Check(%q) = %v, want ok %v", tc.typ, tc.value, err, tc.ok)
		}
	}
}
