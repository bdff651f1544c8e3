package logging

import (
	"bytes"
	"encoding/json"
	"os"
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

// TestJournalPriorities: under the journal every line of an entry carries its
// level's priority prefix, which journald turns into PRIORITY=.
func TestJournalPriorities(t *testing.T) {
	yes := true
	var buf bytes.Buffer
	l, err := New("credbroker", Options{Level: "trace", Output: &buf, Journal: &yes})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		log  func(string, ...any)
		want string
	}{
		{l.Error, "<3>"},
		{l.Warn, "<4>"},
		{l.Info, "<6>"},
		{l.Debug, "<7>"},
		{l.Trace, "<7>"},
	}
	for _, tc := range tests {
		buf.Reset()
		tc.log("two\nlines", "k", "v")
		out := buf.String()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) < 2 {
			t.Fatalf("%s: want a multi-line entry, got %q", tc.want, out)
		}
		for _, line := range lines {
			if !strings.HasPrefix(line, tc.want) {
				t.Errorf("line %q of %q: want prefix %s", line, out, tc.want)
			}
		}
	}
	no := false
	buf.Reset()
	l, _ = New("credbroker", Options{Output: &buf, Journal: &no})
	l.Error("boom")
	if strings.HasPrefix(buf.String(), "<") {
		t.Errorf("off the journal: %q has a priority prefix", buf.String())
	}
}

func TestOnJournal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stream")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, err := StreamID(f)
	if err != nil {
		t.Fatal(err)
	}
	dev, ino, _ := strings.Cut(id, ":")
	tests := map[string]struct {
		env  string
		want bool
	}{
		"this file":    {env: id, want: true},
		"another file": {env: dev + ":1" + ino},
		"unset":        {env: ""},
		"garbage":      {env: "journal"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("JOURNAL_STREAM", tc.env)
			if got := OnJournal(f); got != tc.want {
				t.Errorf("OnJournal = %v, want %v", got, tc.want)
			}
		})
	}
}
