// Package logtest is the one log capture of the tests: a Buffer that a logger (or
// a child process's stderr) writes to from any goroutine while the test reads it
// and waits for what it expects.
package logtest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// LineTimeout is how long WaitLine waits for a line.
const LineTimeout = 5 * time.Second

// Buffer collects output written from any goroutine. Its zero value is ready to
// use.
type Buffer struct {
	mu      sync.Mutex
	buf     []byte
	read    int           // WaitLine's cursor: the lines before it were handed out
	changed chan struct{} // closed at the next write, for waiters
}

// Write appends p and wakes the waiters.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

// String returns all that was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// next returns a channel closed at the next write. Taken before a check of the
// content, it cannot miss a write that comes after the check.
func (b *Buffer) next() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.changed
}

// WaitFor waits until the output holds s, and fails t after timeout.
func (b *Buffer) WaitFor(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		changed := b.next()
		if strings.Contains(b.String(), s) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no %q in the output within %v:\n%s", s, timeout, b.String())
		}
	}
}

// WaitLine waits for a line, after those already handed out, that holds all of
// want, and returns it; it fails t after LineTimeout. The lines it passes over are
// handed out too, so successive calls see successive events.
func (b *Buffer) WaitLine(t testing.TB, want ...string) string {
	t.Helper()
	deadline := time.After(LineTimeout)
	for {
		changed := b.next()
		if line, ok := b.nextMatch(want); ok {
			return line
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line with %q within %v; log:\n%s", want, LineTimeout, b.String())
		}
	}
}

// nextMatch hands out the complete lines after the cursor up to the first that
// holds all of want.
func (b *Buffer) nextMatch(want []string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		i := bytes.IndexByte(b.buf[b.read:], '\n')
		if i < 0 {
			return "", false
		}
		line := string(b.buf[b.read : b.read+i])
		b.read += i + 1
		if containsAll(line, want) {
			return line, true
		}
	}
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
