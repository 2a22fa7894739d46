package kernel

// Running one task and handling the trap it makes: pyos's Task.run and
// its system calls.

import (
	"math"

	"golang.org/x/sys/unix"
)

// exitTrap is the trap of a Go body that returned.
var exitTrap = Trap{Op: OpExit}

// runTask resumes t and handles its trap: pyos's Task.run (with Beazley's
// trampoline) and the system call handlers. A non-nil made is a trap that t
// has made already (runNativeBatch resumed it): runTask handles it first.
func (k *Kernel) runTask(t *task, made *Trap) {
	t.state = sRunning
	r := t.result
	for {
		// Step and Go bodies are resumed here directly rather than
		// through body.resume: these are the kernel's hottest lines.
		// k.cur tells loop which task a panic came from; a Go body
		// recovers its own panics.
		var tr *Trap
		if made != nil {
			tr, made = made, nil
		} else if s := t.sys; s != nil && s.next != nil {
			s.res = r
			s.running = true
			k.cur = t // for a Goexit, which next passes on
			_, ok := s.next()
			k.cur = nil
			s.running = false
			tr = &s.trap
			if !ok {
				tr = &exitTrap
			}
		} else if t.step != nil {
			k.cur = t
			k.tr = t.step.Step(r)
			k.cur = nil
			tr = &k.tr
		} else {
			k.cur = t
			k.tr = t.body.resume(t, r)
			k.cur = nil
			tr = &k.tr
		}
		if k.pending.Load() != 0 {
			k.drain() // spawned while t ran: queued before t's trap is handled
		}
		switch tr.Op {
		case OpYield:
			if k.trace != nil {
				k.traceTrap(t, tr.Op, 0, nil, 0)
			}
			t.result = 0
			t.state = sReady
			k.ready.push(t)
			return
		case OpExit:
			n := len(t.stack)
			if n == 0 {
				if k.trace != nil {
					if tr != &exitTrap { // a Go body just returned
						k.traceTrap(t, tr.Op, tr.A, nil, -1)
					}
					k.traceEnd(t, "exited")
				}
				k.exit(t)
				return
			}
			// A sub-machine returned: pop its caller and send it the
			// exit value.
			if k.trace != nil {
				k.traceTrap(t, OpCall, 0, t.body, int64(tr.A))
			}
			t.setBody(t.stack[n-1])
			t.stack[n-1] = nil
			t.stack = t.stack[:n-1]
			r = int64(tr.A)
			continue
		case OpCall:
			if tr.Task.b != nil {
				t.stack = append(t.stack, t.body)
				t.setBody(tr.Task.b)
				r = 0
				continue
			}
		}
		if k.syscall(t, *tr) {
			return // blocked, or ended
		}
		t.state = sReady
		k.ready.push(t)
		return
	}
}

// syscall handles trap tr of the running task t. It sets t.result and
// returns false if t is to be rescheduled, or returns true if t blocked or
// ended.
func (k *Kernel) syscall(t *task, tr Trap) (blocked bool) {
	var r int64
	switch tr.Op {
	case OpGetTid:
		r = int64(t.tid)
	case OpNewTask:
		if tr.Task.b == nil {
			r = int64(CodeInvalid)
		} else {
			r = int64(k.spawn(tr.Task.b))
		}
	case OpKillTask:
		target := k.tasks[TID(tr.A)]
		switch {
		case target == nil:
			r = 0
		case target == t:
			if k.trace != nil {
				k.traceTrap(t, tr.Op, tr.A, nil, 1)
			}
			k.kill(t)
			return true
		default:
			k.kill(target)
			r = 1
			if t.state != sRunning {
				return true // the target's defers killed t too
			}
		}
	case OpWaitTask:
		target := k.tasks[TID(tr.A)]
		if target == nil || target == t || target.state == sDying {
			r = 0
			break
		}
		t.state, t.op, t.arg = sWait, tr.Op, tr.A
		t.waitFor = target
		target.waiters = append(target.waiters, t)
		return true
	case OpReadWait, OpWriteWait:
		var ok bool
		if r, ok = k.ioWait(t, tr.Op, int(tr.A)); ok {
			return true
		}
	case OpAccept, OpRecv, OpSend:
		var ok bool
		if r, ok = k.startOp(t, tr); ok {
			return true
		}
	case OpClose:
		r = k.closeFD(t, tr.A)
	case OpMailSend:
		var ok bool
		if r, ok = k.mailSend(t, tr); ok {
			return true
		}
	case OpMailRecv:
		var ok bool
		if r, ok = k.mailRecv(t, tr); ok {
			return true
		}
	case OpSleep:
		// A is unsigned: 2^63 ns and more, beyond time.Duration, sleep
		// the longest representable time rather than wrap to a Yield.
		d := int64(min(tr.A, math.MaxInt64))
		if d == 0 {
			break // like Yield
		}
		now := k.now()
		t.when = now + d
		if t.when < now {
			t.when = math.MaxInt64
		}
		k.seq++
		t.seq = k.seq
		t.state, t.op, t.arg = sSleep, tr.Op, tr.A
		k.timers.push(t)
		k.pollSoon()
		return true
	case OpCall:
		r = int64(CodeInvalid) // a call of the zero Task
	default:
		r = int64(CodeNoSys)
	}
	if k.trace != nil {
		k.traceTrap(t, tr.Op, tr.A, tr.Task.b, r)
	}
	t.result = r
	return false
}

// ioWait puts t in the wait of op (ReadWait or WriteWait) on fd. It
// returns ok if t now waits, or the result word to return at once.
func (k *Kernel) ioWait(t *task, op Op, fd int) (r int64, ok bool) {
	if fd < 0 || fd == k.wakefd || fd > math.MaxInt32 || k.p.own(fd) {
		return int64(CodeBadFD), false // the kernel's own fds are no task's; fds are C ints
	}
	if fd >= k.fdLimit {
		return int64(CodeFDSet), false
	}
	if fd >= len(k.fds) {
		// Tables grow with the largest fd waited on: only ever for an
		// open one, whose number the process's fd table bounds, so that
		// no fd number costs memory or time by its size alone.
		if !fdOpen(fd) {
			return int64(CodeBadFD), false
		}
		k.fds = growTo(k.fds, fd)
	}
	w := &k.fds[fd]
	ev := evRead
	if op == OpWriteWait {
		ev = evWrite
	}
	if err := k.p.watch(fd, w.want()|ev); err != nil {
		if err == unix.EPERM {
			return 0, false // epoll: a regular file, always ready
		}
		return errCode(err), false
	}
	if op == OpWriteWait {
		w.w = append(w.w, t)
	} else {
		w.r = append(w.r, t)
	}
	t.state, t.op, t.arg = sIO, op, uintptr(fd)
	t.fd, t.write, t.waited = fd, op == OpWriteWait, true
	k.seq++
	t.seq = k.seq
	k.nio++
	k.pollSoon()
	return 0, true
}

// closeFD is trap Close of t: the other tasks' waits on fd fail with
// CodeBadFD (under uring their requests in flight are cancelled, and end
// with it when their completions come), the poller forgets fd, and it is
// closed.
func (k *Kernel) closeFD(t *task, a uintptr) int64 {
	fd := int(a)
	if a > math.MaxInt32 || fd == k.wakefd || k.p.own(fd) || !fdOpen(fd) {
		return int64(CodeBadFD) // the kernel's own fds are no task's
	}
	if fd < len(k.fds) {
		w := &k.fds[fd]
		k.wakeLater(&w.r, int64(CodeBadFD))
		k.wakeLater(&w.w, int64(CodeBadFD))
	}
	if k.uring != nil {
		k.closeOps(fd)
	}
	k.flushWoken()
	k.p.watch(fd, 0)
	if t.waited && t.fd == fd {
		t.waited = false // nothing to forget at its end
	}
	if err := unix.Close(fd); err != nil {
		if e, ok := err.(unix.Errno); ok {
			return -int64(e)
		}
		return int64(CodeIOFailed)
	}
	return 0
}

// errCode maps a poller error to a trap result word.
func errCode(err error) int64 {
	switch err {
	case unix.EBADF:
		return int64(CodeBadFD)
	case unix.ERANGE:
		return int64(CodeFDSet)
	}
	return int64(CodeIOFailed)
}
