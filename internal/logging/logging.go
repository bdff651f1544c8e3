// Package logging builds the one hclog.Logger that credbroker passes down to every
// component. Nothing else in the project constructs a root logger.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Options says how the root logger writes. The zero value logs at info, as text, to
// stderr, with timestamps unless stderr is the systemd journal.
type Options struct {
	// Level is one of trace, debug, info, warn, error, off (case-insensitive).
	// Empty means info.
	Level string
	// Format is "text" or "json". Empty means text.
	Format string
	// Output defaults to os.Stderr.
	Output io.Writer
	// Journal reports that Output is connected to the systemd journal, which stamps
	// every line itself; when nil it is detected from $JOURNAL_STREAM.
	Journal *bool
}

// New returns the root logger for the process, or an error naming the bad option.
func New(name string, o Options) (hclog.Logger, error) {
	level := hclog.Info
	if o.Level != "" {
		level = hclog.LevelFromString(o.Level)
		if level == hclog.NoLevel {
			return nil, fmt.Errorf("unknown log level %q: use one of trace, debug, info, warn, error, off", o.Level)
		}
	}
	var json bool
	switch strings.ToLower(o.Format) {
	case "", "text":
	case "json":
		json = true
	default:
		return nil, fmt.Errorf("unknown log format %q: use text or json", o.Format)
	}
	out := o.Output
	if out == nil {
		out = os.Stderr
	}
	journal := os.Getenv("JOURNAL_STREAM") != ""
	if o.Journal != nil {
		journal = *o.Journal
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:        name,
		Level:       level,
		Output:      out,
		JSONFormat:  json,
		DisableTime: journal,
		Color:       hclog.ColorOff,
	}), nil
}
