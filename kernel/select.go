package kernel

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

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

func (p *selectPoller) own(int) bool { return false }
