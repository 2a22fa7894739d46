package kernel

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// Readiness bits exchanged between the kernel and its poller.
const (
	evRead  uint32 = 1 << iota // readable, or hung up, or in error
	evWrite                    // writable, or hung up, or in error
	evBad                      // the fd is not open (POLLNVAL, EBADF)
)

// fdSetSize is FD_SETSIZE: select cannot wait on fds at or above it.
const fdSetSize = 1024

// event is one ready fd reported by a poller.
type event struct {
	fd int
	ev uint32
}

// poller is the kernel's I/O readiness interface, implemented with
// select(2), poll(2) and epoll(7).
//
// A watched fd is reported by wait at most once: once reported it is no
// longer watched, and the kernel watches it again if tasks still wait on it.
type poller interface {
	// watch sets the readiness fd is waited for: evRead, evWrite, both,
	// or 0 to stop watching it. It fails with EBADF for a closed fd where
	// the mechanism can tell at once (epoll).
	watch(fd int, ev uint32) error

	// wait waits until a watched fd is ready or timeout passes
	// (negative: no timeout; zero: just look) and appends what it found
	// to evs. A watched fd that turns out not to be open is reported
	// with evBad rather than failing the whole wait.
	wait(timeout time.Duration, evs []event) ([]event, error)

	// close releases the poller's own resources.
	close() error

	// own reports whether fd is one of the poller's own (an epoll
	// instance, an io_uring ring), which no task may close or wait on.
	own(fd int) bool
}

// Pollers returns the pollers that work here, by the names WithPoller
// takes: "select", "poll", "epoll", and "uring" where io_uring works
// (CheckPoller says why it does not).
func Pollers() []string {
	names := []string{"select", "poll", "epoll"}
	if uringProbe() == nil {
		names = append(names, "uring")
	}
	return names
}

// CheckPoller returns nil if the poller name works here, and otherwise
// an error saying why: an unknown name, or io_uring that is missing or
// refused (its cause: an old kernel, a seccomp profile such as Docker's
// default, the sysctl kernel.io_uring_disabled). "auto" always works.
func CheckPoller(name string) error {
	switch name {
	case "select", "poll", "epoll", "auto":
		return nil
	case "uring":
		return uringProbe()
	}
	return fmt.Errorf("kernel: unknown poller %q (want select, poll, epoll, uring or auto)", name)
}

// newPoller makes the named poller. limit is the first fd it cannot wait
// on (FD_SETSIZE for select).
func newPoller(name string, keep bool) (p poller, limit int, err error) {
	switch name {
	case "select":
		return &selectPoller{}, fdSetSize, nil
	case "poll":
		return &pollPoller{}, math.MaxInt32 + 1, nil
	case "epoll":
		return newEpollPoller(keep)
	case "uring":
		return newUringPoller()
	case "auto":
		if p, limit, err := newUringPoller(); err == nil {
			return p, limit, nil
		}
		return newEpollPoller(keep)
	}
	return nil, 0, CheckPoller(name)
}

// maxWait bounds one wait of select: a task's deadline may lie centuries
// ahead.
const maxWait = 24 * time.Hour

// msTimeout converts a wait timeout to poll(2)'s milliseconds, rounding up.
func msTimeout(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (min(d, maxWait) + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return int(ms)
}

// growTo returns s extended with zeros so that s[i] is valid.
func growTo[T any](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	n := 2 * len(s)
	if n <= i {
		n = i + 1
	}
	if n < 64 {
		n = 64
	}
	return append(s, make([]T, n-len(s))...)
}

// fdOpen reports whether fd is an open file descriptor.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err != unix.EBADF
}
