// Package logging builds the one hclog.Logger that credbroker passes down to every
// component. Nothing else in the project constructs a root logger.
package logging

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

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
	// every line itself and reads its priority from a "<N>" prefix; when nil it is
	// detected from $JOURNAL_STREAM and stderr (see OnJournal).
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
	journal := OnJournal(os.Stderr)
	if o.Journal != nil {
		journal = *o.Journal
	}
	if journal {
		out = &journalWriter{w: out}
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

// OnJournal reports whether f is the stream systemd connected to the journal:
// $JOURNAL_STREAM names its device and inode (systemd.exec(5)), so a child
// whose stderr was redirected elsewhere does not take the journal's format.
func OnJournal(f *os.File) bool {
	env := os.Getenv("JOURNAL_STREAM")
	if env == "" {
		return false
	}
	id, err := StreamID(f)
	return err == nil && id == env
}

// StreamID is f's "DEVICE:INODE", as systemd writes it to $JOURNAL_STREAM.
func StreamID(f *os.File) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return "", err
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10), nil
}

// Priority is the syslog priority journald files a line of level under
// (sd-daemon(3)): error 3, warn 4, info 6, debug and trace 7.
func Priority(level hclog.Level) int {
	switch {
	case level >= hclog.Error:
		return 3
	case level == hclog.Warn:
		return 4
	case level == hclog.Info:
		return 6
	}
	return 7
}

// JournalPrefix is the "<N>" prefix that gives a line written to the journal
// level's priority.
func JournalPrefix(level hclog.Level) string { return "<" + strconv.Itoa(Priority(level)) + ">" }

// journalWriter puts each entry's priority in front of every line of it:
// journald splits a stream at newlines and reads a "<N>" prefix on each.
type journalWriter struct{ w io.Writer }

func (j *journalWriter) Write(p []byte) (int, error) { return j.LevelWrite(hclog.Info, p) }

// LevelWrite implements hclog.LevelWriter.
func (j *journalWriter) LevelWrite(level hclog.Level, p []byte) (int, error) {
	prefix := []byte(JournalPrefix(level))
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		b.Write(prefix)
		b.Write(line)
	}
	if _, err := j.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}
