package kernel

import (
	"errors"
	"io"
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
	ready   queue         // pyos's ready queue
	timers  timers        // sleeping tasks
	fds     []fdWaits     // tasks in ReadWait/WriteWait, by fd
	nio     int           // number of tasks in ReadWait/WriteWait
	nextTID atomic.Int64
	// tidBase and tidStride number the tasks of kernel tidBase of a group
	// of tidStride kernels (newTask); 0 and 1 for a kernel alone.
	tidBase, tidStride int
	group              *Group // the group, or nil

	// Mail (mail.go): mailMu guards the mailboxes of this kernel's tasks,
	// the writes of tasks (which other kernels read under it) and remote,
	// the wakeups other kernels (or this one) post for its tasks.
	mailMu      sync.Mutex
	remote      []remoteWake
	remoteSpare []remoteWake // applyRemote's other list, the scheduler's
	remoteN     atomic.Int32
	spinning    atomic.Bool  // spinForMail spins: a post need not write the eventfd
	mailWaits   int          // tasks waiting in mail traps (group kernels only)
	ntasks      atomic.Int64 // tasks spawned and not ended, for NumTasks

	// Spawn from other goroutines while Run runs: the tasks wait in inbox
	// until the scheduler takes them (drain), at the next trap or poll.
	spawnMu sync.Mutex // guards inbox, and running against Run's start and end
	inbox   []*task
	pending atomic.Int32 // len(inbox), read without the lock
	seq     uint64
	budget  int       // tasks to run before the next poll
	cur     *task     // the task whose body runs now, for panics of step bodies
	batch   kctx.Ring // the ring of native tasks runNativeBatch resumes in one cgocall; made on first use
	window  int       // how many ready native tasks runNativeBatch's next ring may hold
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
	ownedFDs   bool // WithOwnedFDs was given
	keeps      bool // the poller keeps registrations across waits (epoll with WithOwnedFDs)
	p          poller
	fdLimit    int
	evs        []event
	woken      []wakeup // tasks one poll makes ready, put in the order their waits began

	// The completion traps (ops.go): under uring, the poller's ring and
	// the requests in flight by slot; under the others, the pool of
	// buffers a Recv lends.
	uring   completer
	ops     []*ioOp
	opGens  []uint32
	freeOps []uint32
	starved []*ioOp // lending receives that found every buffer out, oldest first
	lend    lendPool
	// undrained is how many requests were still in flight when the
	// last Run ended and drainOps gave up: 0 unless a cancel was ignored.
	undrained int
	heldEvs   []event // readiness events a reapOp received, for the next poll
	enobufs   int     // receives that found the ring of lent buffers empty (for the tests)
	lentLeft  int     // lent buffers not given back when the last Run ended: 0 (for the tests)
	epoch     time.Time

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
// "poll", "epoll", "uring" (io_uring: readiness waits as poll requests,
// and AcceptOp, RecvOp and SendOp as io_uring requests) or "auto" (uring
// where it works, else epoll). New accepts any name; Run fails with an
// error for a name CheckPoller refuses, saying why.
func WithPoller(name string) Option {
	return func(k *Kernel) { k.pollerName = name }
}

// WithOwnedFDs is a promise that lets the epoll kernel keep an fd
// registered across waits, one system call less per wait: every fd a
// task waits on is closed with the Close trap (CloseOp, Sys.Close,
// CK_TRAP_CLOSE), or by the task that last waited on it, just before that
// task ends. Go's own network poller keeps the same rule (its fds are
// closed through package os and net).
//
// Without it, each wait re-arms a one-shot registration (EPOLL_CTL_MOD),
// because an fd closed behind the kernel's back loses its registration
// with no word and its number may come back as a new file the kernel has
// never seen. Breaking the promise risks exactly that: a task that waits
// on the new file may never wake. The other pollers ignore the option.
func WithOwnedFDs() Option {
	return func(k *Kernel) { k.ownedFDs = true }
}

// New returns a kernel with no tasks.
func New(opts ...Option) *Kernel {
	k := &Kernel{
		tasks:      make(map[TID]*task),
		panics:     make(map[TID]any),
		pollerName: "select",
		wakefd:     -1,
		tidStride:  1,
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
			// cycle stops after this task, and runNativeBatch queues the new
			// task where running the tasks one at a time would have.
			nt := k.newTask(t.b)
			k.addTask(nt)
			k.born = append(k.born, nt)
			k.batch.Stop()
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
	return tid != 0 && tid == int64(gettid())
}

// newTask makes a task for body b, with a fresh TID.
func (k *Kernel) newTask(b body) *task {
	// Alone, a kernel numbers its tasks 1, 2, 3, ...; kernel i of a
	// group of n numbers them i+1, i+1+n, ..., so that a TID names one
	// task in the whole group.
	tid := TID((k.nextTID.Add(1)-1)*int64(k.tidStride) + int64(k.tidBase) + 1)
	t := &task{k: k, tid: tid, state: sReady, hidx: -1}
	t.setBody(b)
	k.ntasks.Add(1)
	return t
}

// spawn adds a task for b to the ready queue: the scheduler's own Spawn.
func (k *Kernel) spawn(b body) TID {
	t := k.newTask(b)
	k.addTask(t)
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
		k.addTask(t)
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
