package peer

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// TestWatchExit: the watch fires when a process is SIGKILLed, and not
// after stop.
func TestWatchExit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pidfd is Linux only")
	}
	start := func() *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	killed := start()
	gone := make(chan struct{})
	if _, err := WatchExit(killed.Process.Pid, func() { close(gone) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
		t.Fatal("gone before the process exited")
	case <-time.After(100 * time.Millisecond):
	}
	killed.Process.Kill()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("no call within 10s of SIGKILL")
	}

	kept := start()
	called := make(chan struct{}, 1)
	stop, err := WatchExit(kept.Process.Pid, func() { called <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop()
	kept.Process.Kill()
	kept.Wait()
	select {
	case <-called:
		t.Fatal("gone called after stop")
	case <-time.After(200 * time.Millisecond):
	}

	if _, err := WatchExit(0, func() {}); err == nil {
		t.Error("WatchExit(0) accepted")
	}
	if _, err := WatchExit(os.Getpid(), func() {}); err != nil {
		t.Errorf("WatchExit(self): %v", err)
	}
}
