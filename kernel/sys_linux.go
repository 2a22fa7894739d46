package kernel

import "golang.org/x/sys/unix"

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
