package kernel

import (
	"iter"
	"time"

	"golang.org/x/sys/unix"
)

// Go returns a stackful task that runs fn on one of the runtime's
// coroutines (iter.Pull). fn traps into the kernel by calling the methods
// of s, which look like blocking calls: the task is suspended in the
// method until the kernel answers. The task ends when fn returns.
//
// When the task is killed, the method it is suspended in does not return:
// the task's stack unwinds, running its deferred calls, as a Python
// generator does on GeneratorExit. If fn panics, the task ends, the kernel
// records the value (see Kernel.Panic) and goes on.
//
// Go returns the zero Task if fn is nil.
func Go(fn func(s *Sys)) Task {
	if fn == nil {
		return Task{}
	}
	return Task{&Sys{fn: fn}}
}

// Sys is a Go task's interface to the kernel: each method is one trap.
//
// A Sys belongs to its task's coroutine. Called from anywhere else (from
// another task, after the task ended, from the goroutine that runs the
// kernel) its methods do not trap: they return ErrNotTask, false or 0.
// Like the functions of iter.Pull, a Sys must not be used concurrently
// with the kernel from another goroutine.
//
// While a killed task unwinds, GetTid, NewTask and KillTask still work
// (they never block), so deferred calls can clean up child tasks; the
// blocking methods panic again to go on unwinding, as Python raises an
// error for a generator that yields after GeneratorExit.
type Sys struct {
	fn    func(*Sys)
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	t     *task
	trap  Trap  // the trap being made
	res   int64 // its result word
	// running is true while the kernel resumes the task: only then may
	// a method trap. dying is true while a kill unwinds the task.
	running, dying bool
	// buf is the buffer of the completion trap being made (Trap.Buf
	// points here, so that a trap allocates nothing).
	buf []byte
}

// killed is the panic value that unwinds a killed Go task.
type killed struct{}

var unwind any = &killed{}

// resume runs the coroutine to its next trap.
func (s *Sys) resume(t *task, r int64) Trap {
	if s.next == nil {
		s.t = t
		s.next, s.stop = iter.Pull(s.seq)
	}
	s.res = r
	s.running = true
	_, ok := s.next()
	s.running = false
	if !ok {
		return Trap{Op: OpExit}
	}
	return s.trap
}

// seq is the iterator body the coroutine runs: fn, with panics caught.
func (s *Sys) seq(yield func(struct{}) bool) {
	s.yield = yield
	defer func() {
		if p := recover(); p != nil && p != unwind {
			s.t.k.recordPanic(s.t, p)
		}
	}()
	s.fn(s)
}

// kill unwinds a suspended task: stop makes the yield it is suspended in
// return false, and call panics with unwind.
func (s *Sys) kill(t *task) {
	if s.stop == nil {
		return // never started: fn never runs
	}
	s.dying = true
	s.stop()
	s.dying = false
}

// call makes trap tr and returns its result word.
func (s *Sys) call(tr Trap) int64 {
	if s == nil || !s.running {
		return s.outside(tr)
	}
	s.trap = tr
	if !s.yield(struct{}{}) {
		s.unwind()
	}
	s.trap.Task = Task{} // do not keep a spawned or called body alive
	return s.res
}

// unwind starts the unwinding of a killed task.
func (s *Sys) unwind() { panic(unwind) }

// outside serves a trap made while the task is not running: from
// elsewhere, or while it unwinds after a kill.
func (s *Sys) outside(tr Trap) int64 {
	if s != nil && s.dying {
		return s.dyingCall(tr)
	}
	return int64(CodeNotTask)
}

// dyingCall serves a trap made while the task unwinds after a kill.
func (s *Sys) dyingCall(tr Trap) int64 {
	k := s.t.k
	switch tr.Op {
	case OpGetTid:
		return int64(s.t.tid)
	case OpNewTask:
		if tr.Task.b == nil {
			return int64(CodeInvalid)
		}
		return int64(k.spawn(tr.Task.b))
	case OpKillTask:
		target := k.tasks[TID(tr.A)]
		if target == nil {
			return 0
		}
		k.kill(target) // a no-op for s's own, dying, task
		return 1
	}
	panic(unwind)
}

// GetTid returns the task's TID.
func (s *Sys) GetTid() TID {
	r := s.call(Trap{Op: OpGetTid})
	if r < 0 {
		return 0
	}
	return TID(r)
}

// NewTask spawns t, which goes on the ready queue before the caller, and
// returns its TID, or 0 if t is the zero Task.
func (s *Sys) NewTask(t Task) TID {
	r := s.call(Trap{Op: OpNewTask, Task: t})
	if r < 0 {
		return 0
	}
	return TID(r)
}

// KillTask kills task tid and reports whether it existed. The killed task
// never runs again; a Go task's defers run before KillTask returns. A task
// that kills itself unwinds at once.
func (s *Sys) KillTask(tid TID) bool {
	return s.call(Trap{Op: OpKillTask, A: uintptr(tid)}) == 1
}

// WaitTask waits until task tid ends. It returns false at once if there is
// no such task or tid is the caller's own TID.
func (s *Sys) WaitTask(tid TID) bool {
	return s.call(Trap{Op: OpWaitTask, A: uintptr(tid)}) == 1
}

// Yield gives up the CPU: the task goes to the end of the ready queue.
func (s *Sys) Yield() {
	if s == nil || !s.running {
		s.outside(Trap{Op: OpYield})
		return
	}
	s.trap.Op = OpYield // the kernel reads nothing else of a Yield
	if !s.yield(struct{}{}) {
		s.unwind()
	}
}

// ReadWait waits until fd is readable (or hung up, or in error). It fails
// with ErrBadFD for a negative or closed fd, and with ErrFDSet for an fd at
// or above FD_SETSIZE under the select poller.
func (s *Sys) ReadWait(fd int) error {
	return Err(s.call(Trap{Op: OpReadWait, A: uintptr(fd)}))
}

// WriteWait waits until fd is writable (or hung up, or in error), failing
// as ReadWait does.
func (s *Sys) WriteWait(fd int) error {
	return Err(s.call(Trap{Op: OpWriteWait, A: uintptr(fd)}))
}

// Accept accepts a connection on the listening socket fd, waiting until
// there is one, in one completion trap (AcceptOp). It returns the new fd,
// non-blocking and close-on-exec.
func (s *Sys) Accept(fd int) (int, error) {
	r := s.call(Trap{Op: OpAccept, A: uintptr(fd)})
	if r < 0 {
		return -1, opErr(r)
	}
	return int(r), nil
}

// Recv receives from fd into buf, waiting until there is data, in one
// completion trap (RecvOp). It returns 0, nil at the end of the stream,
// and ErrInvalid for an empty buf (RecvLent has the kernel lend one).
func (s *Sys) Recv(fd int, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, ErrInvalid
	}
	s.buf = buf
	r := s.call(Trap{Op: OpRecv, A: uintptr(fd), Buf: &s.buf})
	s.buf = nil
	if r < 0 {
		return 0, opErr(r)
	}
	return int(r), nil
}

// RecvLent receives from fd into a buffer the kernel lends, chosen when
// the data arrives, so that a task waiting for data holds no buffer (see
// RecvOp). The bytes are the task's until its next Recv or RecvLent, or
// its end; pass them to Send, copy them, but do not keep them. It returns
// an empty slice and nil at the end of the stream.
func (s *Sys) RecvLent(fd int) ([]byte, error) {
	s.buf = nil
	r := s.call(Trap{Op: OpRecv, A: uintptr(fd), Buf: &s.buf})
	buf := s.buf
	s.buf = nil
	if r < 0 {
		return nil, opErr(r)
	}
	return buf[:r:r], nil
}

// Send sends all of buf on fd, waiting while the socket is full, in one
// completion trap (SendOp). It returns len(buf), or 0 and the error.
func (s *Sys) Send(fd int, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	s.buf = buf
	r := s.call(Trap{Op: OpSend, A: uintptr(fd), Buf: &s.buf})
	s.buf = nil
	if r < 0 {
		return 0, opErr(r)
	}
	return int(r), nil
}

// MailSend sends word (at most 1<<63-1) and a copy of data to the
// mailbox of task tid, on this kernel or another of its Group, waiting
// while that mailbox is full (MailSendOp). It reports whether the message
// was delivered: false when there is no such task. The error is
// ErrInvalid for a word or data too large.
func (s *Sys) MailSend(tid TID, word uintptr, data []byte) (bool, error) {
	s.buf = data
	r := s.call(Trap{Op: OpMailSend, A: uintptr(tid), B: word, Buf: &s.buf})
	s.buf = nil
	if r < 0 {
		return false, Err(r)
	}
	return r == 1, nil
}

// Close closes fd through the kernel (CloseOp): the other tasks waiting
// on it get ErrBadFD, the poller forgets it, and it is closed. The error
// is ErrBadFD for an fd that is not open, else the close's (an errno).
func (s *Sys) Close(fd int) error {
	if r := s.call(Trap{Op: OpClose, A: uintptr(fd)}); r < 0 {
		return opErr(r)
	}
	return nil
}

// MailRecv takes the next message of the task's mailbox, waiting while it
// is empty (MailRecvOp): its word and its bytes, which are the task's.
func (s *Sys) MailRecv() (word uintptr, data []byte, err error) {
	s.buf = nil
	r := s.call(Trap{Op: OpMailRecv, Buf: &s.buf})
	data, s.buf = s.buf, nil
	if r < 0 {
		return 0, nil, Err(r)
	}
	return uintptr(r), data, nil
}

// opErr is the error of a completion trap's result: an errno (EPIPE,
// ECONNRESET, ...) or the error of a Code.
func opErr(r int64) error {
	switch Code(r) {
	case CodeBadFD, CodeInvalid, CodeFDSet, CodeNoSys, CodeKilled, CodeNotTask, CodeIOFailed:
		return Err(r)
	}
	return unix.Errno(-r)
}

// Sleep suspends the task for at least d. Sleep(0) is Yield.
func (s *Sys) Sleep(d time.Duration) {
	s.call(Trap{Op: OpSleep, A: uintptr(max(d, 0))})
}

// Trap makes any trap and returns its result word: the raw interface that
// step and native tasks use. With OpCall a Go task can run a step
// sub-machine such as Recv. OpExit is refused with CodeInvalid: a Go task
// ends by returning.
func (s *Sys) Trap(t Trap) int64 {
	if t.Op == OpExit {
		return int64(CodeInvalid)
	}
	return s.call(t)
}
