package kernel

import (
	"golang.org/x/sys/unix"
)

// This file holds pyos8's I/O subroutines, twice: as step sub-machines
// that a step task runs with Call, and as ordinary Go functions for Go
// tasks. They trap only through ReadWait and WriteWait and never block
// the kernel, whatever the fd's flags: sockets are read and written with
// MSG_DONTWAIT (and MSG_NOSIGNAL: a closed peer gives EPIPE, not SIGPIPE),
// and any other fd, a pipe the caller forgot to make non-blocking, or the
// listening socket of Accept, gets O_NONBLOCK set (it stays set). Their
// error results are negative errno values (the Code values are negative
// errnos too); in Go they are unix.Errno or the errors of Err.

// errnoResult turns a system call error into a result word: -errno.
func errnoResult(err error) int64 {
	if e, ok := err.(unix.Errno); ok {
		return -int64(e)
	}
	return int64(CodeIOFailed)
}

// Accept returns a sub-machine that waits until the non-blocking listening
// socket fd has a connection and accepts it, like pyos8's Accept. Its exit
// value is the new connection's fd, non-blocking and close-on-exec, or a
// negative errno or Code.
func Accept(fd int) Task { return Step(&acceptMachine{fd: fd}) }

type acceptMachine struct {
	fd     int
	waited bool
}

func (m *acceptMachine) Step(r int64) Trap {
	if m.waited && r < 0 {
		return Exit(r) // ReadWait failed
	}
	for {
		if !m.waited {
			m.waited = true
			return ReadWait(m.fd)
		}
		if err := ensureNonblock(m.fd); err != nil {
			return Exit(errnoResult(err))
		}
		nfd, err := acceptNB(m.fd)
		switch err {
		case nil:
			return Exit(int64(nfd))
		case unix.EINTR:
		case unix.EAGAIN, unix.ECONNABORTED:
			m.waited = false
		default:
			return Exit(errnoResult(err))
		}
	}
}

// Recv returns a sub-machine that waits until the non-blocking fd is
// readable and reads into buf, like pyos8's Recv. Its exit value is the
// number of bytes read, 0 at end of file, or a negative errno or Code.
func Recv(fd int, buf []byte) Task { return Step(&recvMachine{fd: fd, buf: buf}) }

type recvMachine struct {
	fd     int
	buf    []byte
	waited bool
}

func (m *recvMachine) Step(r int64) Trap {
	if m.waited && r < 0 {
		return Exit(r)
	}
	if !m.waited {
		m.waited = true
		return ReadWait(m.fd)
	}
	for {
		n, err := readNB(m.fd, m.buf)
		switch err {
		case nil:
			return Exit(int64(n))
		case unix.EINTR:
		case unix.EAGAIN:
			return ReadWait(m.fd)
		default:
			return Exit(errnoResult(err))
		}
	}
}

// Send returns a sub-machine that writes all of buf to the non-blocking
// fd, waiting whenever the fd is not writable, like pyos8's Send. Unlike
// pyos8 it writes before it waits, since a socket is usually writable.
// Its exit value is len(buf), or a negative errno or Code.
func Send(fd int, buf []byte) Task { return Step(&sendMachine{fd: fd, buf: buf}) }

type sendMachine struct {
	fd  int
	buf []byte
	off int
}

func (m *sendMachine) Step(r int64) Trap {
	if r < 0 {
		return Exit(r) // WriteWait failed
	}
	for m.off < len(m.buf) {
		n, err := writeNB(m.fd, m.buf[m.off:])
		switch err {
		case nil:
			m.off += n
		case unix.EINTR:
		case unix.EAGAIN:
			return WriteWait(m.fd)
		default:
			return Exit(errnoResult(err))
		}
	}
	return Exit(int64(len(m.buf)))
}

// GoAccept is Accept for Go tasks: straight-line code that waits until the
// non-blocking listening socket fd has a connection and accepts it. It
// returns the new fd, non-blocking and close-on-exec.
func GoAccept(s *Sys, fd int) (int, error) {
	for {
		if err := s.ReadWait(fd); err != nil {
			return -1, err
		}
		if err := ensureNonblock(fd); err != nil {
			return -1, err
		}
		for {
			nfd, err := acceptNB(fd)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN || err == unix.ECONNABORTED {
				break
			}
			if err != nil {
				return -1, err
			}
			return nfd, nil
		}
	}
}

// GoRecv is Recv for Go tasks: it waits until the non-blocking fd is
// readable and reads into buf. It returns 0, nil at end of file.
func GoRecv(s *Sys, fd int, buf []byte) (int, error) {
	for {
		if err := s.ReadWait(fd); err != nil {
			return 0, err
		}
		for {
			n, err := readNB(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				return 0, err
			}
			return n, nil
		}
	}
}

// GoSend is Send for Go tasks: it writes all of buf to the non-blocking fd,
// waiting whenever the fd is not writable, and returns len(buf) or the
// number written before an error.
func GoSend(s *Sys, fd int, buf []byte) (int, error) {
	off := 0
	for off < len(buf) {
		n, err := writeNB(fd, buf[off:])
		switch err {
		case nil:
			off += n
		case unix.EINTR:
		case unix.EAGAIN:
			if err := s.WriteWait(fd); err != nil {
				return off, err
			}
		default:
			return off, err
		}
	}
	return off, nil
}

// ensureNonblock sets O_NONBLOCK on fd if it lacks it: a blocking read or
// write would stop every task of the kernel. The flag stays set: it is the
// file's, shared with every other descriptor of it.
func ensureNonblock(fd int) error {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if fl&unix.O_NONBLOCK != 0 {
		return nil
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl|unix.O_NONBLOCK)
	return err
}
