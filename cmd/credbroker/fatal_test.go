package main

import (
	"os"
	"strings"
	"testing"

	"github.com/credbroker/credbroker/internal/logging"
)

// TestFatal: the message the process dies with is an error in the journal
// (every line), and plain text anywhere else.
func TestFatal(t *testing.T) {
	tests := map[string]struct {
		journal bool
		want    string
	}{
		"journal": {journal: true, want: "<3>credbroker: serve: bad config\n<3>  at line 3\n"},
		"plain":   {want: "credbroker: serve: bad config\n  at line 3\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := os.Create(t.TempDir() + "/stderr")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			t.Setenv("JOURNAL_STREAM", "")
			if tc.journal {
				id, err := logging.StreamID(f)
				if err != nil {
					t.Fatal(err)
				}
				t.Setenv("JOURNAL_STREAM", id)
			}
			fatal(f, "serve: bad config\n  at line 3")
			got, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("wrote %q, want %q", got, tc.want)
			}
			if tc.journal && strings.Count(string(got), "<3>") != 2 {
				t.Errorf("not every line has the error priority: %q", got)
			}
		})
	}
}
