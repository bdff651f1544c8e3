//go:build !linux

package peer

// WatchExit fails: watching a process's exit needs Linux (pidfd).
func WatchExit(pid int, gone func()) (stop func(), err error) {
	return nil, ErrUnsupported
}
