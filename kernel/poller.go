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
}

// pollerNames lists the pollers WithPoller accepts.
var pollerNames = []string{"select", "poll", "epoll"}

// Pollers returns the names WithPoller accepts: "select", "poll" and
// "epoll".
func Pollers() []string {
	return append([]string(nil), pollerNames...)
}

// newPoller makes the named poller. limit is the first fd it cannot wait
// on (FD_SETSIZE for select).
func newPoller(name string) (p poller, limit int, err error) {
	switch name {
	case "select":
		return &selectPoller{}, fdSetSize, nil
	case "poll":
		return &pollPoller{}, math.MaxInt32 + 1, nil
	case "epoll":
		return newEpollPoller()
	}
	return nil, 0, fmt.Errorf("kernel: unknown poller %q (want select, poll or epoll)", name)
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

// selectPoller waits with select(2), the study's baseline: every wait
// passes, and the kernel scans, the whole fd set.
type selectPoller struct {
	fds  []int    // watched fds, dense
	evs  []uint32 // events wanted for fds[i]
	pos  []int32  // pos[fd] is 1 + the index of fd in fds, or 0
	r, w unix.FdSet
}

func (p *selectPoller) watch(fd int, ev uint32) error {
	if fd < 0 || fd >= fdSetSize {
		return unix.ERANGE
	}
	p.pos = growTo(p.pos, fd)
	i := int(p.pos[fd]) - 1
	if ev == 0 {
		if i >= 0 {
			p.drop(i)
		}
		return nil
	}
	if i < 0 {
		// select(2) ignores set bits beyond the process's fd table
		// (core_sys_select clamps n to max_fds), so waiting on an fd
		// that was never open there would block for ever instead of
		// failing with EBADF: check when an fd is first watched.
		if !fdOpen(fd) {
			return unix.EBADF
		}
		p.fds = append(p.fds, fd)
		p.evs = append(p.evs, 0)
		i = len(p.fds) - 1
		p.pos[fd] = int32(i + 1)
	}
	p.evs[i] = ev
	p.r.Clear(fd)
	p.w.Clear(fd)
	if ev&evRead != 0 {
		p.r.Set(fd)
	}
	if ev&evWrite != 0 {
		p.w.Set(fd)
	}
	return nil
}

// drop stops watching fds[i], moving the last watched fd into its place.
func (p *selectPoller) drop(i int) {
	fd := p.fds[i]
	p.r.Clear(fd)
	p.w.Clear(fd)
	p.pos[fd] = 0
	last := len(p.fds) - 1
	if i != last {
		p.fds[i], p.evs[i] = p.fds[last], p.evs[last]
		p.pos[p.fds[i]] = int32(i + 1)
	}
	p.fds, p.evs = p.fds[:last], p.evs[:last]
}

func (p *selectPoller) wait(timeout time.Duration, evs []event) ([]event, error) {
	nfd := 0
	for _, fd := range p.fds {
		nfd = max(nfd, fd+1)
	}
	r, w := p.r, p.w
	var tv *unix.Timeval
	if timeout >= 0 {
		// Capped: a far deadline (a huge Sleep) would overflow the
		// rounding and the timeval; the kernel just waits again.
		t := unix.NsecToTimeval(int64(min(timeout, maxWait) + time.Microsecond - 1))
		tv = &t
	}
	_, err := unix.Select(nfd, &r, &w, nil, tv)
	switch err {
	case nil:
	case unix.EINTR:
		return evs, nil
	case unix.EBADF:
		// One or more watched fds were closed while waited on:
		// find them and report only those.
		for i := 0; i < len(p.fds); {
			if fd := p.fds[i]; !fdOpen(fd) {
				evs = append(evs, event{fd, evBad})
				p.drop(i)
				continue
			}
			i++
		}
		if len(evs) == 0 {
			return evs, fmt.Errorf("kernel: select: %w", err)
		}
		return evs, nil
	default:
		return evs, fmt.Errorf("kernel: select: %w", err)
	}
	for i := 0; i < len(p.fds); {
		fd := p.fds[i]
		var ev uint32
		if r.IsSet(fd) {
			ev |= evRead
		}
		if w.IsSet(fd) {
			ev |= evWrite
		}
		if ev == 0 {
			i++
			continue
		}
		evs = append(evs, event{fd, ev})
		p.drop(i)
	}
	return evs, nil
}

func (p *selectPoller) close() error { return nil }

// pollPoller waits with poll(2): no FD_SETSIZE limit, but still a pass
// over every watched fd per wait.
type pollPoller struct {
	pfds []unix.PollFd
	pos  []int32 // pos[fd] is 1 + the index of fd in pfds, or 0
}

func (p *pollPoller) watch(fd int, ev uint32) error {
	if fd < 0 {
		return unix.EBADF
	}
	p.pos = growTo(p.pos, fd)
	i := int(p.pos[fd]) - 1
	if ev == 0 {
		if i >= 0 {
			p.drop(i)
		}
		return nil
	}
	if i < 0 {
		p.pfds = append(p.pfds, unix.PollFd{Fd: int32(fd)})
		i = len(p.pfds) - 1
		p.pos[fd] = int32(i + 1)
	}
	var e int16
	if ev&evRead != 0 {
		e |= unix.POLLIN
	}
	if ev&evWrite != 0 {
		e |= unix.POLLOUT
	}
	p.pfds[i].Events = e
	return nil
}

func (p *pollPoller) drop(i int) {
	p.pos[p.pfds[i].Fd] = 0
	last := len(p.pfds) - 1
	if i != last {
		p.pfds[i] = p.pfds[last]
		p.pos[p.pfds[i].Fd] = int32(i + 1)
	}
	p.pfds = p.pfds[:last]
}

func (p *pollPoller) wait(timeout time.Duration, evs []event) ([]event, error) {
	n, err := unix.Poll(p.pfds, msTimeout(timeout))
	if err == unix.EINTR || n == 0 {
		return evs, nil
	}
	if err != nil {
		return evs, fmt.Errorf("kernel: poll: %w", err)
	}
	for i := 0; i < len(p.pfds); {
		re := p.pfds[i].Revents
		if re == 0 {
			i++
			continue
		}
		var ev uint32
		if re&unix.POLLNVAL != 0 {
			ev = evBad
		} else {
			if re&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|pollRDHUP) != 0 {
				ev |= evRead
			}
			if re&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR) != 0 {
				ev |= evWrite
			}
		}
		evs = append(evs, event{int(p.pfds[i].Fd), ev})
		p.pfds[i].Revents = 0
		p.drop(i) // moves an unvisited entry (revents filled) into i
	}
	return evs, nil
}

func (p *pollPoller) close() error { return nil }
