package kernel

import (
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// uringPoller is the "uring" poller: readiness waits through io_uring's
// one-shot poll requests (IORING_OP_POLL_ADD), and the ring the kernel
// submits its completion traps to (ops.go). One io_uring_enter submits
// everything a scheduler pass queued and waits for, or just reaps, the
// completions.
//
// A poll request names its fd and a generation in its user data; a watch
// that changes what an fd is waited for removes the old request
// (IORING_OP_POLL_REMOVE) and adds one of the next generation, so a
// completion of an old one is recognised and dropped. A poll request holds
// its file open: an fd closed while watched stays open in the OS until
// the request goes, which the kernel's sweep of closed fds does (as under
// epoll, which loses such fds silently).
type uringPoller struct {
	r   *uring
	st  []uint64 // per fd: the armed events (bits 0-1) | the generation << 8
	buf *bufRing // the lent buffers of the completion traps, group 0
	ts  unix.Timespec

	// done receives the completions of the kernel's operations (user
	// data with opTag set: Kernel.opDone).
	done func(ud uint64, res int32, flags uint32)
}

func newUringPoller() (poller, int, error) {
	if err := uringProbe(); err != nil {
		return nil, 0, err
	}
	r, err := newUring()
	if err != nil {
		return nil, 0, err
	}
	b, err := newBufRing(r, 0, lendRing, lendSize)
	if err != nil {
		r.close()
		return nil, 0, err
	}
	return &uringPoller{r: r, buf: b}, 1 << 31, nil
}

func (p *uringPoller) watch(fd int, ev uint32) error {
	if fd < 0 {
		return unix.EBADF
	}
	p.st = growTo(p.st, fd)
	s := p.st[fd]
	armed := uint32(s & 3)
	if armed == 0 && ev == 0 {
		return nil
	}
	// Armed already for the same events, the request is made anew all the
	// same, as under epoll: the fd may have been closed and its number
	// reused, and the old request watches the old file.
	gen := s >> 8
	if armed != 0 {
		e, err := p.r.get()
		if err != nil {
			return err
		}
		e.opcode = iorOpPollRemove
		e.fd = -1
		e.addr = uint64(fd) | gen<<32
		e.userData = ignoreTag
	}
	p.st[fd] = gen << 8
	if ev == 0 {
		return nil
	}
	e, err := p.r.get()
	if err != nil {
		return err
	}
	gen = (gen + 1) & (1<<30 - 1)
	e.opcode = iorOpPollAdd
	e.fd = int32(fd)
	if ev&evRead != 0 {
		e.opFlags |= unix.POLLIN | unix.POLLRDHUP
	}
	if ev&evWrite != 0 {
		e.opFlags |= unix.POLLOUT
	}
	e.userData = uint64(fd) | gen<<32
	p.st[fd] = gen<<8 | uint64(ev)
	return nil
}

func (p *uringPoller) wait(timeout time.Duration, evs []event) ([]event, error) {
	var ts *unix.Timespec
	wait := uint32(1)
	switch {
	case timeout == 0:
		wait = 0
	case timeout > 0:
		p.ts = unix.NsecToTimespec(int64(min(timeout, maxWait)))
		ts = &p.ts
	}
	// GETEVENTS even without waiting: with DEFER_TASKRUN, completions
	// are made only then.
	if _, err := p.r.enter(wait, iorEnterGetEvents, ts); err != nil {
		return evs, err
	}
	runtime.KeepAlive(ts)
	reap := func(c *cqe) {
		switch {
		case c.userData&opTag != 0:
			if c.flags&cqeFBuffer != 0 {
				p.buf.taken()
			}
			p.done(c.userData, c.res, c.flags)
		case c.userData&ignoreTag != 0:
		default:
			evs = p.polled(c, evs)
		}
	}
	// One wait runs a bounded batch of the OS's deferred work (20 items
	// in Linux 6.x): while batches come full, enter again without
	// waiting, so that everything ready now is reported by this one wait
	// and the kernel wakes its tasks in the order their waits began.
	for p.r.reap(reap) >= 16 {
		if _, err := p.r.enter(0, iorEnterGetEvents, nil); err != nil {
			return evs, err
		}
	}
	return evs, nil
}

// polled turns a poll request's completion into an event, unless the
// request was an old generation's.
func (p *uringPoller) polled(c *cqe, evs []event) []event {
	fd := int(uint32(c.userData))
	gen := c.userData >> 32
	if fd >= len(p.st) || p.st[fd]>>8 != gen {
		return evs // removed, or superseded
	}
	p.st[fd] = gen << 8 // one-shot: disarmed
	var ev uint32
	switch {
	case c.res == -int32(unix.EBADF):
		ev = evBad
	case c.res < 0:
		ev = evRead | evWrite // let the waiters find the error themselves
	default:
		if c.res&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|unix.POLLRDHUP) != 0 {
			ev |= evRead
		}
		if c.res&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR) != 0 {
			ev |= evWrite
		}
	}
	return append(evs, event{fd, ev})
}

func (p *uringPoller) own(fd int) bool { return fd == p.r.fd }

func (p *uringPoller) close() error {
	p.buf.close(p.r)
	p.r.close()
	return nil
}

// submitOp queues o's request (completer).
func (p *uringPoller) submitOp(o *ioOp, ud uint64) error {
	e, err := p.r.get()
	if err != nil {
		return err
	}
	e.fd = int32(int(o.fd))
	e.userData = ud
	switch o.kind() {
	case OpAccept:
		e.opcode = iorOpAccept
		e.opFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
		return nil
	case OpRecv:
		e.opcode = iorOpRecv
		if o.flags&opPlain != 0 {
			e.opcode, e.off = iorOpRead, ^uint64(0) // the file's position
		}
		if o.buf == nil {
			e.flags = iosqeBufferSelect
			e.bufGroup = p.buf.group
			e.len = uint32(p.buf.size)
			return nil
		}
		e.addr = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(o.buf))))
		e.len = uint32(min(len(o.buf), 1<<30))
	case OpSend:
		e.opcode = iorOpSend
		e.opFlags = unix.MSG_NOSIGNAL
		if o.flags&opPlain != 0 {
			e.opcode, e.off, e.opFlags = iorOpWrite, ^uint64(0), 0
		}
		rest := o.buf[o.n:]
		e.addr = uint64(uintptr(unsafe.Pointer(unsafe.SliceData(rest))))
		e.len = uint32(min(len(rest), 1<<30))
	}
	return nil
}

// cancelOp queues the cancel of the request with user data ud.
func (p *uringPoller) cancelOp(ud uint64) error {
	e, err := p.r.get()
	if err != nil {
		return err
	}
	e.opcode = iorOpAsyncCancel
	e.fd = -1
	e.addr = ud
	e.userData = ignoreTag
	_, err = p.r.enter(0, 0, nil)
	return err
}

func (p *uringPoller) lentBuf(id uint16) []byte { return p.buf.buf(id) }

func (p *uringPoller) giveBack(id uint16) { p.buf.giveBack(id) }

func (p *uringPoller) onDone(f func(ud uint64, res int32, flags uint32)) { p.done = f }

func (p *uringPoller) lendable() int { return p.buf.inRing }

func (p *uringPoller) lentOut() int { return int(p.buf.mask) + 1 - p.buf.inRing - len(p.buf.spare) }
