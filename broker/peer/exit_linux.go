package peer

import (
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// WatchExit calls gone once, in a goroutine of its own, when process pid
// exits, however it ends (SIGKILL included): it holds a pidfd of the
// process and waits on it in the runtime's poller, so a watch costs one
// file descriptor and no thread. stop ends the watch without calling gone;
// it is safe to call more than once and after gone ran.
//
// The pid must be of a process known to be alive while WatchExit runs
// (the peer of a connection still open): a pid reused after the process
// died would be watched instead.
func WatchExit(pid int, gone func()) (stop func(), err error) {
	if pid <= 0 {
		return nil, fmt.Errorf("peer: watching the exit of pid %d: not a process id", pid)
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("peer: watching the exit of pid %d: pidfd_open: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("peer: watching the exit of pid %d: %w", pid, err)
	}
	var stopped atomic.Bool
	go func() {
		// A pidfd polls readable when the process exits; Read waits for
		// that in the poller, and fails once stop closed the file.
		err := rc.Read(func(fd uintptr) bool { return exited(int(fd)) })
		if err == nil || !stopped.Load() {
			gone() // exited, or the watch broke: fail closed
		}
		f.Close()
	}()
	return func() {
		stopped.Store(true)
		f.Close()
	}, nil
}

// exited polls the pidfd without waiting.
func exited(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
	}
}
