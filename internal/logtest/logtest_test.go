package logtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB whose Fatalf panics with its message (the real
// one does not return either), for failing to see what a failure says.
type fatalRecorder struct{ testing.TB }

type fatal string

func (fatalRecorder) Helper() {}

func (fatalRecorder) Fatalf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }

// failure runs fn and returns the message of the Fatalf that ended it ("" if none).
func failure(fn func()) (msg string) {
	defer func() {
		if f, ok := recover().(fatal); ok {
			msg = string(f)
		}
	}()
	fn()
	return ""
}

// writeLater writes each part to b from another goroutine, 20ms apart, as a
// process's output arrives while the test waits.
func writeLater(b *Buffer, parts ...string) {
	go func() {
		for _, p := range parts {
			time.Sleep(20 * time.Millisecond)
			b.Write([]byte(p))
		}
	}()
}

func TestConcurrentWritesAllKept(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "w%d line %d\n", i, j)
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

func TestWaitLineHandsOutEachLineOnce(t *testing.T) {
	var b Buffer
	writeLater(&b, "level=info msg=\"fetch\" role=a\nlevel=info msg=fetch role=b\nlevel=info msg=fetch role=a partial", " done\n")
	if got := b.WaitLine(t, "fetch", "role=b"); got != "level=info msg=fetch role=b" {
		t.Errorf("first wait: %q", got)
	}
	// role=a's first line was passed over by the first wait: the next is the one
	// finished by the last write.
	if got := b.WaitLine(t, "role=a"); got != "level=info msg=fetch role=a partial done" {
		t.Errorf("second wait: %q", got)
	}
}

func TestWaitForAndTimeouts(t *testing.T) {
	var b Buffer
	writeLater(&b, "READY=1\n")
	b.WaitFor(t, "READY=1", 5*time.Second)

	r := fatalRecorder{t}
	msg := failure(func() { b.WaitFor(r, "never", 30*time.Millisecond) })
	if !strings.Contains(msg, `no "never" in the output`) || !strings.Contains(msg, "READY=1") {
		t.Errorf("WaitFor's failure: %q", msg)
	}
}
