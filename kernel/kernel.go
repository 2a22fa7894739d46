package kernel

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corokernel/corokernel/internal/kctx"
	"golang.org/x/sys/unix"
)

// Errors returned by Run.
var (
	// ErrDeadlock is returned by Run when tasks remain but none can ever
	// run again: every one waits for another task, none for I/O or a
	// timer. Run kills them before returning it.
	ErrDeadlock = errors.New("kernel: deadlock: all tasks wait for each other")

	// ErrRunning is returned by Run when the kernel is already running.
	ErrRunning = errors.New("kernel: Run called while running")

	// ErrGoexit is what Panic reports for a task whose body called
	// runtime.Goexit (t.FailNow in a test does): the task ended like one
	// that panicked, and the kernel went on.
	ErrGoexit = errors.New("kernel: the task called runtime.Goexit")
)

// A Kernel is a trap-driven scheduler of tasks: the operating system of
// Beazley's pyos. Create one with New, give it tasks with Spawn, and call
// Run. A Kernel is not safe for concurrent use, except for Stop.
type Kernel struct {
	tasks   map[TID]*task // pyos's taskmap
	ready   ring          // pyos's ready queue
	timers  timers        // sleeping tasks
	fds     []fdWaits     // tasks in ReadWait/WriteWait, by fd
	nio     int           // number of tasks in ReadWait/WriteWait
	nextTID atomic.Int64
	ntasks  atomic.Int64 // tasks spawned and not ended, for NumTasks

	// Spawn from other goroutines while Run runs: the tasks wait in inbox
	// until the scheduler takes them (drain), at the next trap or poll.
	spawnMu sync.Mutex // guards inbox, and running against Run's start and end
	inbox   []*task
	pending atomic.Int32 // len(inbox), read without the lock
	seq     uint64
	budget  int       // tasks to run before the next poll
	cur     *task     // the task whose body runs now, for panics of step bodies
	ring    kctx.Ring // native tasks run in one cycle (runNative); made on first use
	window  int       // how many ready native tasks runNative's next ring may hold
	// schedTID is the OS thread the scheduler's goroutine is locked to
	// while Run runs (0 otherwise): code on it runs while the scheduler
	// waits for it (a task, a callback, a Kill), and spawns directly.
	schedTID atomic.Int64
	cycling  bool    // a ring cycle is running: spawns wait in born, in order
	born     []*task // tasks spawned during the ring cycle, in order
	tr       Trap    // the trap of a step body being handled
	panics   map[TID]any

	log, trace io.Writer
	pollerName string
	p          poller
	fdLimit    int
	evs        []event
	woken      []wakeup // tasks one poll makes ready, put in the order their waits began
	epoch      time.Time

	// epoll drops the registration of an fd closed while waited on
	// without a word, so under epoll the kernel checks the waited fds
	// itself every sweepEvery (ns), and wakes at least that often.
	sweepEvery int64
	nextSweep  int64

	running atomic.Bool
	stopped atomic.Bool
	wakeMu  sync.Mutex // guards wakefd and wakew against Stop
	wakefd  int        // fd that wakes the poller for Stop, or -1
	wakew   int        // its write end: the same eventfd on Linux, a pipe elsewhere
}

// wakeup is a task an I/O event makes ready, with its trap's result.
type wakeup struct {
	t *task
	r int64
}

// fdWaits are the tasks waiting on one fd.
type fdWaits struct {
	r, w []*task
}

func (w *fdWaits) want() uint32 {
	var ev uint32
	if len(w.r) > 0 {
		ev |= evRead
	}
	if len(w.w) > 0 {
		ev |= evWrite
	}
	return ev
}

// An Option configures a Kernel made by New.
type Option func(*Kernel)

// WithLog makes the kernel write "Task N terminated" to w each time a task
// ends, as pyos's scheduler prints. By default nothing is written.
func WithLog(w io.Writer) Option {
	return func(k *Kernel) { k.log = w }
}

// WithTrace makes the kernel write one line to w per trap, in the manner of
// strace: "[tid] Op(args) = result". A trap that blocks is written when it
// completes. The ends of tasks are written as "[tid] +++ exited +++",
// "+++ killed +++" or "+++ panic: value +++".
func WithTrace(w io.Writer) Option {
	return func(k *Kernel) { k.trace = w }
}

// WithPoller selects how the kernel waits for I/O: "select" (the default),
// "poll" or "epoll". New accepts any name; Run fails with an error for a
// name not in Pollers.
func WithPoller(name string) Option {
	return func(k *Kernel) { k.pollerName = name }
}

// New returns a kernel with no tasks.
func New(opts ...Option) *Kernel {
	k := &Kernel{
		tasks:      make(map[TID]*task),
		panics:     make(map[TID]any),
		pollerName: "select",
		wakefd:     -1,
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Spawn adds a task to the kernel, at the end of the ready queue, and
// returns its TID. It returns 0 for the zero Task. Spawn is safe to call
// from any goroutine, before or during Run: that is how work is fed into a
// running kernel. While Run runs, the task joins the ready queue at the
// next trap any task makes, or at once when the kernel waits for I/O or a
// timer (Spawn wakes it); a task that calls Spawn sees the new task
// queued before its own trap is handled, as with the NewTask trap, which
// tasks normally use instead.
func (k *Kernel) Spawn(t Task) TID {
	if t.b == nil {
		return 0
	}
	k.spawnMu.Lock()
	if !k.running.Load() || k.onScheduler() {
		defer k.spawnMu.Unlock()
		if k.cycling {
			// From a native task's Go callback during a ring cycle: the
			// cycle stops after this task, and runNative queues the new
			// task where running the tasks one at a time would have.
			nt := k.newTask(t.b)
			k.tasks[nt.tid] = nt
			k.born = append(k.born, nt)
			k.ring.Stop()
			return nt.tid
		}
		return k.spawn(t.b)
	}
	nt := k.newTask(t.b)
	k.inbox = append(k.inbox, nt)
	k.pending.Add(1)
	k.spawnMu.Unlock()
	k.interrupt()
	return nt.tid
}

// onScheduler reports whether the caller runs on the scheduler's thread,
// that is, synchronously with the scheduler: a task's body, a Go callback
// of a native task, a step task's Kill. No other goroutine runs there
// while Run runs (its goroutine is locked to it).
func (k *Kernel) onScheduler() bool {
	tid := k.schedTID.Load()
	return tid != 0 && tid == int64(unix.Gettid())
}

// newTask makes a task for body b, with a fresh TID.
func (k *Kernel) newTask(b body) *task {
	t := &task{k: k, tid: TID(k.nextTID.Add(1)), state: sReady, hidx: -1}
	t.setBody(b)
	k.ntasks.Add(1)
	return t
}

// spawn adds a task for b to the ready queue: the scheduler's own Spawn.
func (k *Kernel) spawn(b body) TID {
	t := k.newTask(b)
	k.tasks[t.tid] = t
	k.ready.push(t)
	return t.tid
}

// drain moves the tasks other goroutines spawned into the ready queue.
func (k *Kernel) drain() {
	k.spawnMu.Lock()
	k.drainLocked()
	k.spawnMu.Unlock()
}

func (k *Kernel) drainLocked() {
	for i, t := range k.inbox {
		k.tasks[t.tid] = t
		k.ready.push(t)
		k.inbox[i] = nil
	}
	k.inbox = k.inbox[:0]
	k.pending.Store(0)
}

// NumTasks returns the number of tasks that have not ended. It is safe to
// call from any goroutine.
func (k *Kernel) NumTasks() int { return int(k.ntasks.Load()) }

// Panic returns the value a task panicked with, if task tid ended by
// panicking. It must not be called while Run runs, except from a task.
func (k *Kernel) Panic(tid TID) (v any, ok bool) {
	v, ok = k.panics[tid]
	return v, ok
}

// Stop ends the kernel: it wakes Run if it waits for I/O or a timer, and
// Run then kills every task (a Go task's defers run) and returns nil.
// Stop is permanent: a stopped kernel's Run kills its tasks at once.
// Stop is safe to call from any goroutine, for example one that receives
// signals; a task spinning without traps cannot be stopped.
func (k *Kernel) Stop() {
	k.stopped.Store(true)
	k.interrupt()
}

// interrupt makes a poller wait of Run's return at once.
func (k *Kernel) interrupt() {
	k.wakeMu.Lock()
	defer k.wakeMu.Unlock()
	if k.wakefd >= 0 {
		var one = [8]byte{1}
		unix.Write(k.wakew, one[:])
	}
}

// Run runs the tasks until none is left, or until Stop. It returns an error
// only for a fault of the kernel itself (the poller failed, an unknown
// poller name) or for ErrDeadlock; tasks that panic or fail traps do not
// make it fail. When it returns an error it has killed the remaining tasks.
func (k *Kernel) Run() error {
	k.spawnMu.Lock()
	if !k.running.CompareAndSwap(false, true) {
		k.spawnMu.Unlock()
		return ErrRunning
	}
	k.spawnMu.Unlock()
	if err := k.start(); err != nil {
		k.killAll()
		k.end(true)
		return err
	}
	defer k.shutdown()
	for {
		err := k.runLoops()
		if k.end(err != nil) {
			return err
		}
		// Tasks were spawned from elsewhere as the last one ended.
	}
}

// end marks the kernel not running, unless tasks that other goroutines
// spawned are waiting and neither force nor Stop says to end anyway; it
// reports whether it did. Waiting tasks join k.tasks either way (a
// stopped kernel's next Run kills them). After it, Spawn adds tasks
// directly again.
func (k *Kernel) end(force bool) bool {
	k.spawnMu.Lock()
	defer k.spawnMu.Unlock()
	more := len(k.inbox) > 0
	k.drainLocked()
	if more && !force && !k.stopped.Load() {
		return false
	}
	k.running.Store(false)
	return true
}

// runLoops runs the scheduler until no task is left, on a goroutine of its
// own, locked to its OS thread: native tasks are C code whose frames may
// hold thread-owned state (a mutex, TLS, errno) and are never resumed on
// another thread (ctx binds each to the thread it first ran on), and Go
// tasks are the runtime's coroutines (iter.Pull), which must always be
// switched to from the thread, and with the lock count, they were made
// with. A panic outside any task goes on in Run's goroutine.
func (k *Kernel) runLoops() error {
	done := make(chan loopResult, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		k.schedule(done)
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// loopResult is how the scheduler's goroutine ended.
type loopResult struct {
	err   error
	panic any
}

// schedule runs the loop until no task is left and sends the result. A
// task's runtime.Goexit, which no recover stops, unwinds it after loop
// has ended the task: the deferred call then goes on scheduling from
// there, on the same goroutine and thread, and the goroutine ends only
// when the scheduler does.
func (k *Kernel) schedule(done chan<- loopResult) {
	k.schedTID.Store(int64(unix.Gettid()))
	finished := false
	defer func() {
		if finished {
			return
		}
		if p := recover(); p != nil {
			k.schedTID.Store(0)
			done <- loopResult{panic: p}
			return
		}
		k.schedule(done) // Goexit
	}()
	var err error
	for len(k.tasks) > 0 || k.pending.Load() != 0 {
		if err = k.loop(); err != nil {
			k.killAll()
			break
		}
	}
	finished = true
	k.schedTID.Store(0)
	done <- loopResult{err: err}
}

// start makes the poller and the wakeup fd Stop writes to.
func (k *Kernel) start() error {
	p, limit, err := newPoller(k.pollerName)
	if err != nil {
		return err
	}
	efd, wfd, err := newWaker()
	if err != nil {
		p.close()
		return fmt.Errorf("kernel: cannot make the wakeup fd: %w", err)
	}
	if err := p.watch(efd, evRead); err != nil {
		p.close()
		unix.Close(efd)
		return fmt.Errorf("kernel: cannot watch the wakeup eventfd %d: %w", efd, err)
	}
	k.p, k.fdLimit, k.epoch = p, limit, time.Now()
	k.sweepEvery, k.nextSweep = 0, 0
	if k.pollerName == "epoll" {
		k.sweepEvery = int64(sweepInterval)
		k.nextSweep = k.sweepEvery
	}
	k.wakeMu.Lock()
	k.wakefd, k.wakew = efd, wfd
	k.wakeMu.Unlock()
	k.budget = 0
	return nil
}

// shutdown releases what start made. No task is left, so no fd is watched
// but the eventfd.
func (k *Kernel) shutdown() {
	k.wakeMu.Lock()
	unix.Close(k.wakefd)
	if k.wakew != k.wakefd {
		unix.Close(k.wakew)
	}
	k.wakefd, k.wakew = -1, -1
	k.wakeMu.Unlock()
	k.p.close()
	k.p = nil
	k.fds = nil
	k.evs = nil
}

// loop is the scheduler's main loop: pyos's mainloop. It returns early,
// with a nil error, after a step body panicked, so that Run can call it
// again with the panic handled.
func (k *Kernel) loop() (err error) {
	defer func() {
		if k.cur == nil {
			return // no panic, or one outside any task: let it go on
		}
		t := k.cur
		k.cur = nil
		p := recover()
		if p == nil {
			p = ErrGoexit // it goes on: schedule's deferred call goes on scheduling
		}
		k.crash(t, p)
	}()
	for len(k.tasks) > 0 || k.pending.Load() != 0 {
		if k.pending.Load() != 0 {
			k.drain()
		}
		if k.budget == 0 || k.ready.n == 0 {
			// Part 7's I/O task, folded into the loop: poll once per
			// pass over the tasks that were ready, without blocking
			// while tasks are ready.
			k.budget = k.ready.n
			if k.ready.n == 0 || k.nio > 0 || len(k.timers) > 0 {
				if err := k.poll(); err != nil {
					return err
				}
				k.budget = k.ready.n
			} else {
				// Nothing to poll for: look for Stop less often. A
				// task that starts waiting cuts the pass short (see
				// pollSoon).
				k.budget = max(k.budget, idleBudget)
			}
			if k.stopped.Load() {
				k.killAll()
				return nil
			}
			continue
		}
		if k.ready.at(0).nat != nil && k.trace == nil {
			k.runNative() // with the trace on, one trap at a time
			continue
		}
		k.budget--
		k.run(k.ready.pop(), nil)
	}
	return nil
}

// sweepInterval is how often the epoll kernel checks the fds waited on
// (a variable for the tests: export_test.go).
var sweepInterval = time.Second

// idleBudget is how many tasks the kernel runs between looks at Stop when
// no task waits for I/O or a timer.
const idleBudget = 64

// pollSoon makes the scheduler poll after one pass over the ready tasks,
// as Part 7's I/O task would, once a task waits for I/O or a timer.
func (k *Kernel) pollSoon() {
	k.budget = min(k.budget, k.ready.n)
}

// exitTrap is the trap of a Go body that returned.
var exitTrap = Trap{Op: OpExit}

// run resumes t and handles its trap: pyos's Task.run (with the trampoline
// of Part 8) and the system call handlers. A non-nil made is a trap that t
// has made already (runNative resumed it): run handles it first.
func (k *Kernel) run(t *task, made *Trap) {
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
	if fd < 0 || fd == k.wakefd || fd > math.MaxInt32 {
		return int64(CodeBadFD), false // the kernel's own eventfd is no task's; fds are C ints
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
	t.fd, t.write = fd, op == OpWriteWait
	k.seq++
	t.seq = k.seq
	k.nio++
	k.pollSoon()
	return 0, true
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
	evs, err := k.p.wait(timeout, k.evs[:0])
	k.evs = evs[:0]
	if err != nil {
		return err
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
	if len(k.woken) > 1 {
		slices.SortFunc(k.woken, func(a, b wakeup) int { return cmp.Compare(a.t.seq, b.t.seq) })
	}
	for i, w := range k.woken {
		k.wake(w.t, w.r)
		k.woken[i] = wakeup{}
	}
	k.woken = k.woken[:0]
	if len(k.timers) > 0 {
		k.expire()
	}
	return nil
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
	for fd := range k.fds {
		w := &k.fds[fd]
		if len(w.r)+len(w.w) > 0 && !fdOpen(fd) {
			k.wakeList(&w.r, int64(CodeBadFD))
			k.wakeList(&w.w, int64(CodeBadFD))
			k.p.watch(fd, 0)
		}
	}
}

// wakeList wakes every task in *l with result r and empties the list.
func (k *Kernel) wakeList(l *[]*task, r int64) {
	for i, t := range *l {
		k.nio--
		k.wake(t, r)
		(*l)[i] = nil
	}
	*l = (*l)[:0]
}

// wake makes a blocked task ready with result r for its trap.
func (k *Kernel) wake(t *task, r int64) {
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
	case sIO:
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

// kill ends t wherever it is: pyos's KillTask, which closes the generator.
// Its body's cleanup runs now (a Go task's defers) and it never runs again.
func (k *Kernel) kill(t *task) {
	if t.state == sDying || t.state == sDead {
		return
	}
	k.unwait(t)
	t.state = sDying
	if k.trace != nil {
		k.traceEnd(t, "killed")
	}
	t.body.kill(t)
	for i := len(t.stack) - 1; i >= 0; i-- {
		t.stack[i].kill(t)
	}
	k.exit(t)
}

// exit removes an ended task and wakes the tasks waiting for it.
func (k *Kernel) exit(t *task) {
	delete(k.tasks, t.tid)
	k.ntasks.Add(-1)
	t.state = sDead
	t.setBody(nil)
	t.stack = nil
	if k.log != nil {
		fmt.Fprintf(k.log, "Task %d terminated\n", t.tid)
	}
	for _, w := range t.waiters {
		w.waitFor = nil
		k.wake(w, 1)
	}
	t.waiters = nil
}

// crash ends t, whose body panicked with p while it ran, and records p.
func (k *Kernel) crash(t *task, p any) {
	k.recordPanic(t, p)
	// The callers of the panicking sub-machine clean up as if killed.
	for i := len(t.stack) - 1; i >= 0; i-- {
		t.stack[i].kill(t)
	}
	k.exit(t)
}

func (k *Kernel) recordPanic(t *task, p any) {
	k.panics[t.tid] = p
	if k.trace != nil {
		k.traceEnd(t, fmt.Sprintf("panic: %v", p))
	}
}

// killAll kills every task, lowest TID first, for Stop and kernel faults.
func (k *Kernel) killAll() {
	for len(k.tasks) > 0 {
		// Empty the ready queue first: removing tasks one by one from
		// its middle would be quadratic.
		for k.ready.n > 0 {
			k.ready.pop().state = sRunning
		}
		tids := make([]TID, 0, len(k.tasks))
		for tid := range k.tasks {
			tids = append(tids, tid)
		}
		slices.Sort(tids)
		for _, tid := range tids {
			if t := k.tasks[tid]; t != nil {
				k.kill(t)
			}
		}
	}
	for k.ready.n > 0 {
		k.ready.pop()
	}
	k.budget = 0
}
