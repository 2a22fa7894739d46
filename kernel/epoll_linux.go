package kernel

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

func newEpollPoller(keep bool) (poller, int, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, 0, fmt.Errorf("kernel: epoll_create1: %w", err)
	}
	return &epollPoller{epfd: fd, buf: make([]unix.EpollEvent, 256), keep: keep}, math.MaxInt32 + 1, nil
}

// epollPoller waits with epoll(7): the kernel keeps the interest set, so a
// wait costs the same with 10 or 10,000 idle fds. Registrations are
// one-shot: a reported fd is disarmed by the OS itself and re-armed with
// EPOLL_CTL_MOD when tasks wait on it again, which also copes with fds
// closed and reused behind the kernel's back (MOD fails with ENOENT and
// the fd is added anew).
//
// With keep (WithOwnedFDs: no fd is closed behind the kernel's back),
// registrations are level-triggered and stay armed: a wait for what is
// armed already costs no system call, the common case of a task that
// waits on its socket again after each message. The kernel drops a
// registration that is reported while nobody waits on it (ioReady), and
// one whose task ended (exit).
type epollPoller struct {
	epfd int
	st   []uint8 // per fd: bit 0 registered, bits 1-2 the armed events
	buf  []unix.EpollEvent
	keep bool
	ctls int // epoll_ctl calls made: for the tests
}

// keeps reports whether registrations outlive the waits that armed them.
func (p *epollPoller) keeps() bool { return p.keep }

const epollReg = 1

func (p *epollPoller) watch(fd int, ev uint32) error {
	if fd < 0 {
		return unix.EBADF
	}
	p.st = growTo(p.st, fd)
	s := p.st[fd]
	if ev == 0 && s == 0 {
		return nil
	}
	if p.keep && ev != 0 && s == epollReg|uint8(ev<<1) {
		return nil // kept, armed for just this already
	}
	// Without keep, armed already for the same events, it is armed again
	// all the same: the fd may have been closed, its registration dropped
	// by the OS without a word, and its number reused (MOD then fails with
	// ENOENT and the new file is added).
	p.ctls++
	if ev == 0 {
		// No waiters left: drop the registration.
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		p.st[fd] = 0
		return nil
	}
	e := unix.EpollEvent{Events: unix.EPOLLONESHOT, Fd: int32(fd)}
	if p.keep {
		e.Events = 0 // level-triggered, armed until changed
	}
	if ev&evRead != 0 {
		e.Events |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if ev&evWrite != 0 {
		e.Events |= unix.EPOLLOUT
	}
	op := unix.EPOLL_CTL_ADD
	if s&epollReg != 0 {
		op = unix.EPOLL_CTL_MOD
	}
	err := unix.EpollCtl(p.epfd, op, fd, &e)
	switch {
	case op == unix.EPOLL_CTL_MOD && err == unix.ENOENT:
		// The fd was closed and its number reused since we saw it.
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &e)
	case op == unix.EPOLL_CTL_ADD && err == unix.EEXIST:
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &e)
	}
	if err != nil {
		p.st[fd] = 0
		return err
	}
	p.st[fd] = epollReg | uint8(ev<<1)
	return nil
}

func (p *epollPoller) wait(timeout time.Duration, evs []event) ([]event, error) {
	n, err := unix.EpollWait(p.epfd, p.buf, msTimeout(timeout))
	if err == unix.EINTR {
		return evs, nil
	}
	if err != nil {
		return evs, fmt.Errorf("kernel: epoll_wait: %w", err)
	}
	for _, e := range p.buf[:n] {
		fd := int(e.Fd)
		var ev uint32
		if e.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0 {
			ev |= evRead
		}
		if e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			ev |= evWrite
		}
		if !p.keep {
			p.st[fd] = epollReg // one-shot: disarmed, still registered
		}
		evs = append(evs, event{fd, ev})
	}
	return evs, nil
}

func (p *epollPoller) close() error { return unix.Close(p.epfd) }

func (p *epollPoller) own(fd int) bool { return fd == p.epfd }
