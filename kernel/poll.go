package kernel

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

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

func (p *pollPoller) own(int) bool { return false }
