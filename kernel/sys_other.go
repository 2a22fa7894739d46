//go:build !linux

package kernel

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The kernel is built for Linux; elsewhere it compiles (the module is
// vetted for darwin) with these portable stand-ins, and epoll is missing.

// pollRDHUP: poll(2) has no peer-closed event here; POLLIN and POLLHUP
// report it.
const pollRDHUP = 0

func newEpollPoller(bool) (poller, int, error) {
	return nil, 0, errors.New("kernel: the epoll poller is Linux only")
}

// newWaker returns the read and write ends of the pipe that wakes the
// poller for Stop.
func newWaker() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return -1, -1, err
	}
	for _, fd := range p {
		unix.SetNonblock(fd, true)
		unix.CloseOnExec(fd)
	}
	return p[0], p[1], nil
}

// acceptNB accepts a connection on fd as a non-blocking, close-on-exec fd.
func acceptNB(fd int) (int, error) {
	nfd, _, err := unix.Accept(fd)
	if err != nil {
		return -1, err
	}
	unix.SetNonblock(nfd, true)
	unix.CloseOnExec(nfd)
	return nfd, nil
}

// socketNB makes a non-blocking, close-on-exec stream socket.
func socketNB(domain int) (int, error) {
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	unix.SetNonblock(fd, true)
	unix.CloseOnExec(fd)
	return fd, nil
}

// readNB reads from fd without ever blocking the kernel: fd is first made
// non-blocking (ensureNonblock).
func readNB(fd int, buf []byte) (int, error) {
	if err := ensureNonblock(fd); err != nil {
		return 0, err
	}
	return unix.Read(fd, buf)
}

// writeNB writes to fd without ever blocking the kernel, as readNB reads.
func writeNB(fd int, buf []byte) (int, error) {
	if err := ensureNonblock(fd); err != nil {
		return 0, err
	}
	return unix.Write(fd, buf)
}

func newUringPoller() (poller, int, error) {
	return nil, 0, errors.New("kernel: the uring poller is Linux only")
}

func uringProbe() error { return errors.New("kernel: io_uring is Linux only") }

// gettid is 0 here: the thread checks that use it are Linux's.
func gettid() int { return 0 }

// setReusePort sets SO_REUSEPORT on fd.
func setReusePort(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) }
