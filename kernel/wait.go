package kernel

// Waits: the poll for I/O and timers, and how a waiting task is woken or
// taken out of its wait.

import (
	"cmp"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// poll waits for I/O and timers, without blocking while tasks are ready.
func (k *Kernel) poll() error {
	if k.stopped.Load() {
		return nil
	}
	if len(k.timers) > 0 {
		k.expire()
	}
	timeout := time.Duration(0)
	if k.ready.n == 0 {
		switch {
		case len(k.timers) > 0:
			timeout = max(time.Duration(k.timers[0].when-k.now()), 0)
		case k.nio == 0:
			k.killAll()
			return ErrDeadlock
		default:
			timeout = -1
		}
	} else if k.nio == 0 {
		return nil // nothing to poll for; Stop is seen through k.stopped
	}
	if k.sweepEvery > 0 && k.nio > 0 {
		now := k.now()
		if now >= k.nextSweep {
			k.sweep()
			k.nextSweep = now + k.sweepEvery
			if k.ready.n > 0 {
				timeout = 0
			}
		}
		if d := time.Duration(k.nextSweep - now); timeout < 0 || timeout > d {
			timeout = max(d, 0)
		}
	}
	if len(k.heldEvs) > 0 {
		timeout = 0 // events are there already
	}
	if timeout != 0 && k.mailWaits > 0 && k.spinForMail() {
		return nil // mail came: mainLoop applies it, and polls next pass
	}
	evs, err := k.p.wait(timeout, append(k.evs[:0], k.heldEvs...))
	k.heldEvs = k.heldEvs[:0]
	k.evs = evs[:0]
	if err != nil {
		return err
	}
	if len(k.starved) > 0 {
		k.retryStarved() // buffers taken by the completions just reaped were replaced from the spares
	}
	for _, e := range evs {
		if e.fd == k.wakefd {
			var b [8]byte
			unix.Read(k.wakefd, b[:])
			k.p.watch(k.wakefd, evRead)
			continue
		}
		k.ioReady(e.fd, e.ev)
	}
	// The woken tasks join the ready queue in the order their waits
	// began, as pyos's, whatever order the poller reported the fds in:
	// a program's output does not depend on the poller.
	k.flushWoken()
	if len(k.timers) > 0 {
		k.expire()
	}
	return nil
}

// flushWoken wakes the tasks in k.woken in the order their waits began.
func (k *Kernel) flushWoken() {
	if len(k.woken) > 1 {
		slices.SortFunc(k.woken, func(a, b wakeup) int { return cmp.Compare(a.t.seq, b.t.seq) })
	}
	for i, w := range k.woken {
		k.wake(w.t, w.r)
		k.woken[i] = wakeup{}
	}
	k.woken = k.woken[:0]
}

// now reads the kernel's monotonic clock, in nanoseconds.
func (k *Kernel) now() int64 { return int64(time.Since(k.epoch)) }

// expire makes the tasks whose sleep is over ready, earliest first.
func (k *Kernel) expire() {
	now := k.now()
	for len(k.timers) > 0 && k.timers[0].when <= now {
		k.wake(k.timers.remove(0), 0)
	}
}

// ioReady wakes the tasks waiting on fd for the readiness in ev.
func (k *Kernel) ioReady(fd int, ev uint32) {
	if fd >= len(k.fds) {
		return
	}
	w := &k.fds[fd]
	if k.keeps && len(w.r)+len(w.w) == 0 {
		// A kept registration nobody waits on any more (its task did
		// not wait again before this poll): level-triggered, it would be
		// reported on every wait, so it is dropped until the next wait.
		k.p.watch(fd, 0)
		return
	}
	if ev&evBad != 0 {
		k.wakeLater(&w.r, int64(CodeBadFD))
		k.wakeLater(&w.w, int64(CodeBadFD))
		return
	}
	if ev&evRead != 0 {
		k.wakeLater(&w.r, 0)
	}
	if ev&evWrite != 0 {
		k.wakeLater(&w.w, 0)
	}
	if want := w.want(); want != 0 {
		if err := k.p.watch(fd, want); err != nil {
			code := errCode(err)
			k.wakeLater(&w.r, code)
			k.wakeLater(&w.w, code)
		}
	}
}

// wakeLater moves every task in *l to k.woken with result r and empties
// the list: poll wakes them all in the order their waits began.
func (k *Kernel) wakeLater(l *[]*task, r int64) {
	for i, t := range *l {
		k.nio--
		k.woken = append(k.woken, wakeup{t, r})
		(*l)[i] = nil
	}
	*l = (*l)[:0]
}

// sweep fails the waits on fds that are no longer open. Only the epoll
// kernel needs it: select and poll report such fds themselves.
func (k *Kernel) sweep() {
	if k.uring != nil {
		k.sweepOps()
	}
	for fd := range k.fds {
		w := &k.fds[fd]
		if len(w.r)+len(w.w) > 0 && !fdOpen(fd) {
			k.wakeLater(&w.r, int64(CodeBadFD))
			k.wakeLater(&w.w, int64(CodeBadFD))
			k.p.watch(fd, 0)
		}
	}
}

// wake makes a blocked task ready with result r for its trap. A task in
// an emulated completion trap makes its system call first, and may wait
// again instead.
func (k *Kernel) wake(t *task, r int64) {
	if o := t.io; o != nil {
		var done bool
		if r, done = k.opReady(t, o, r); !done {
			return
		}
		t.io = nil
	}
	if k.trace != nil {
		k.traceTrap(t, t.op, t.arg, nil, r)
	}
	t.result = r
	t.state = sReady
	k.ready.push(t)
}

// unwait takes t out of whatever it waits in: the ready queue, an fd wait,
// the timer heap or another task's exit waiters.
func (k *Kernel) unwait(t *task) {
	switch t.state {
	case sReady:
		k.ready.remove(t)
	case sWait:
		t.waitFor.waiters = deleteTask(t.waitFor.waiters, t)
		t.waitFor = nil
	case sMail:
		k.unwaitMail(t)
	case sOp:
		if t.io == nil {
			// Completed while another task's kill reaped its own
			// request (reapOp): the wakeup waits in k.woken.
			k.dropWoken(t)
			break
		}
		k.abandonOp(t)
	case sIO:
		t.io = nil // an emulated completion trap: nothing in flight
		w := &k.fds[t.fd]
		if t.write {
			w.w = deleteTask(w.w, t)
		} else {
			w.r = deleteTask(w.r, t)
		}
		k.nio--
		k.p.watch(t.fd, w.want())
	case sSleep:
		k.timers.remove(t.hidx)
	}
}

func deleteTask(l []*task, t *task) []*task {
	if i := slices.Index(l, t); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	return l
}
