package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	no, yes := false, true
	tests := map[string]struct {
		opts     Options
		wantErr  string
		wantJSON bool
		wantTime bool
		logged   bool // whether an info line is written
	}{
		"defaults":        {opts: Options{Journal: &no}, wantTime: true, logged: true},
		"json":            {opts: Options{Format: "JSON", Journal: &no}, wantJSON: true, wantTime: true, logged: true},
		"journal no time": {opts: Options{Journal: &yes}, logged: true},
		"warn hides info": {opts: Options{Level: "warn", Journal: &no}},
		"bad level":       {opts: Options{Level: "loud"}, wantErr: `unknown log level "loud"`},
		"bad format":      {opts: Options{Format: "xml"}, wantErr: `unknown log format "xml"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.opts.Output = &buf
			l, err := New("credbroker", tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Info("hello", "role", "dev-admin")
			out := buf.String()
			if !tc.logged {
				if out != "" {
					t.Fatalf("logged %q, want nothing", out)
				}
				return
			}
			if tc.wantJSON {
				var m map[string]any
				if err := json.Unmarshal([]byte(out), &m); err != nil {
					t.Fatalf("not JSON: %q", out)
				}
				if m["role"] != "dev-admin" || m["@message"] != "hello" {
					t.Fatalf("fields missing: %v", m)
				}
				if _, ok := m["@timestamp"]; ok != tc.wantTime {
					t.Fatalf("timestamp present = %v, want %v", ok, tc.wantTime)
				}
				return
			}
			if !strings.Contains(out, "[INFO]  credbroker: hello: role=dev-admin") {
				t.Fatalf("text line = %q", out)
			}
			if hasTime := strings.HasPrefix(out, "20"); hasTime != tc.wantTime {
				t.Fatalf("timestamp present = %v, want %v: %q", hasTime, tc.wantTime, out)
			}
		})
	}
}
