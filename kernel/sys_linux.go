package kernel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollRDHUP is poll(2)'s peer-closed event.
const pollRDHUP = unix.POLLRDHUP

// newWaker returns the eventfd that wakes the poller for Stop, as both its
// read and write end.
func newWaker() (r, w int, err error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	return fd, fd, err
}

// acceptNB accepts a connection on fd as a non-blocking, close-on-exec fd.
func acceptNB(fd int) (int, error) {
	nfd, _, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	return nfd, err
}

// socketNB makes a non-blocking, close-on-exec stream socket.
func socketNB(domain int) (int, error) {
	return unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// readNB reads from fd without ever blocking the kernel: a socket is read
// with MSG_DONTWAIT, whatever its own flags; any other fd is first made
// non-blocking (ensureNonblock).
func readNB(fd int, buf []byte) (int, error) {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(p), uintptr(len(buf)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.ENOTSOCK {
		if err := ensureNonblock(fd); err != nil {
			return 0, err
		}
		return unix.Read(fd, buf)
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// writeNB writes to fd without ever blocking the kernel, as readNB reads;
// on a socket without SIGPIPE either (MSG_NOSIGNAL: EPIPE instead).
func writeNB(fd int, buf []byte) (int, error) {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(buf)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
	if e == unix.ENOTSOCK {
		if err := ensureNonblock(fd); err != nil {
			return 0, err
		}
		return unix.Write(fd, buf)
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// gettid is this thread's id.
func gettid() int { return unix.Gettid() }

// setReusePort sets SO_REUSEPORT on fd.
func setReusePort(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) }
