// Package ctx runs native (C-ABI) code as stackful coroutines on mmap'd
// stacks with guard pages.
//
// A coroutine's body is a C function
//
//	uintptr_t fn(ck_coroutine *co, uintptr_t arg);
//
// that suspends itself with co->api->yield(co, out, &in) from any depth of
// nested calls: the whole native call stack is kept on the coroutine's own
// stack until the next Resume. The API table (struct ck_api) reaches the
// body through co, so C code needs no link-time dependency on the Go
// binary; corokernel.h declares it. C code may also resume coroutines
// itself through co->api->resume, on the thread a started body is bound
// to (see Threads).
//
// From Go, Resume costs one runtime.cgocall: the switch runs on the
// thread's system stack, never on a goroutine stack. Go code never runs on
// a coroutine stack (the runtime cannot scan or grow such a stack); Go
// callbacks made with NewCallback are switched back to the stack the
// coroutine was resumed from before they enter Go.
//
// # Floating-point control state
//
// The ABI makes the floating-point control bits callee-saved (rounding,
// flush-to-zero, exception masks: MXCSR's control bits and the x87
// control word on amd64, FPCR on arm64), so every switch keeps each
// side's own: a body's fesetround survives its yields and never reaches
// the resumer. MXCSR's status flags are not part of it (the ABI does not
// keep them either). Go code always runs with the state the process
// started with, which a resume from Go relies on instead of reading it,
// and which a Go callback gets whatever its caller set.
//
// # Threads
//
// C code may hold state that belongs to the OS thread it runs on: a
// pthread mutex it locked (sqlite's connection mutex, glibc's loader
// lock), thread-local storage, errno. So a body is bound to the thread
// its first resume ran it on, and a resume from any other thread is
// refused with ErrThread, touching nothing: the Go scheduler moves
// goroutines between threads whenever they block or are preempted, and a
// body moved with them would unlock a mutex it does not own, or wait for
// ever on one its old thread holds. A goroutine that resumes a coroutine
// across blocking calls keeps itself on one thread with
// runtime.LockOSThread; pull loops (Loop, Calls) do that themselves for
// the loop's life. WithAnyThread opts out, for a body that holds no
// thread state. The check costs a load and a compare per resume.
//
// # Results and cancellation
//
// Resume reports whether the body yielded (done false) or returned (done
// true, and out is its return value). Close of a coroutine suspended in
// yield resumes it once more with yield returning CK_ECANCELED, the stop
// of iter.Pull and the forced unwind of boost.context: the C code
// releases what it holds and returns. A body that yields again instead is
// abandoned where it stands, and its stack is freed all the same. A body
// waiting in a yield function (a library's callback in a pull loop) gets
// the cancel value set for it instead (WithCancelValue).
//
// # Panics in callbacks
//
// A panic (or runtime.Goexit) in a Go callback called from a coroutine's
// C frames cannot unwind those frames. The callback's wrapper marks every
// coroutine whose frames the panic abandons Dead and restores the
// thread's current coroutine; the panic then goes on up through Resume,
// so the resuming goroutine's recover sees the original value. Close
// succeeds afterwards.
//
// # Misuse
//
// Misuse is reported, not fatal: resuming a dead, closed or running
// coroutine, resuming one on another thread, closing a running one,
// racing Resume or Close from several goroutines, and yielding from
// outside the coroutine all return errors. A stack overflow that hits the
// guard page, or any other fault in a body, still ends the process (it
// cannot be recovered), but first prints a line naming the coroutine (and
// for a fault, the signal and the address), on any thread. The guard
// region is 64 KiB of address space (no memory), so only a frame larger
// than that can skip it.
//
// # Memory
//
// A coroutine's stack is freed by Close, or by the garbage collector once
// the Coroutine is unreachable, unless C may still hold it: the stack of a
// coroutine whose C() was taken, or that is running, is freed only by
// Close. Freed stacks are pooled, with their pages given back to the
// system (madvise), and New keeps headroom below the system's limit on
// memory mappings (vm.max_map_count) so that the process can still create
// threads.
package ctx

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/corokernel/corokernel"
)

// Status is a coroutine's state.
type Status int

// The states of a coroutine.
const (
	Suspended Status = iota // created, or stopped in yield: Resume runs it
	Running                 // inside Resume (possibly further up this very stack)
	Dead                    // its body returned, was abandoned, or the coroutine is closed
)

// String returns "suspended", "running" or "dead".
func (s Status) String() string {
	switch s {
	case Suspended:
		return "suspended"
	case Running:
		return "running"
	case Dead:
		return "dead"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Errors returned by Resume, Close and New.
var (
	ErrDead     = errors.New("ctx: resume of a dead coroutine")
	ErrRunning  = errors.New("ctx: coroutine is running")
	ErrClosed   = errors.New("ctx: coroutine is closed")
	ErrNilFunc  = errors.New("ctx: nil body function")
	ErrInternal = errors.New("ctx: unexpected result from the native resume")
	// ErrRefused is Resume's error when the body of a WithDirect
	// coroutine called a Go callback: the callback was not run, and the
	// coroutine (with any it had resumed from C) was abandoned.
	ErrRefused = errors.New("ctx: Go callback refused: the coroutine runs in direct mode (WithDirect)")
	// ErrThread is Resume's error when the coroutine's body is suspended
	// on another OS thread than the caller's: its C frames may hold that
	// thread's state (a mutex it locked, thread-local storage, errno), so
	// it is never moved. Keep the resuming goroutine on one thread
	// (runtime.LockOSThread; pull loops do it themselves), or make the
	// coroutine WithAnyThread. Close on another thread gets it too, after
	// closing the coroutine without running its body (see Close).
	ErrThread = errors.New("ctx: the coroutine's body is suspended on another OS thread: keep the goroutine that resumes it on one thread (runtime.LockOSThread), or make it WithAnyThread")
)

// nextGen hands out generations: a new one for every coroutine, which
// is also its number in its default name.
var nextGen atomic.Uintptr

// Coroutine is a stackful coroutine running native code. Its methods may
// be called from several goroutines at once: a Resume or Close that races
// another one is refused with ErrRunning and does not disturb the winner.
type Coroutine struct {
	co     *coro
	gen    uintptr // generation bits of the status word
	name   string  // WithName's, or "" for "coroutine #N", N = gen>>2
	l      *life
	direct bool // WithDirect: Resume calls directResume
}

// life is what the garbage collector's cleanup of a Coroutine needs; it
// must not point back at the Coroutine.
type life struct {
	co       *coro
	gen      uintptr
	stack    *Stack
	own      bool // the stack was allocated by New and is freed with the coroutine
	closed   atomic.Bool
	exported atomic.Bool // C() was taken: only Close frees the stack
}

// ownedShells recycles the Coroutine and life of coroutines that only
// this package ever holds (a Loop's, config.owned): once closed, nothing
// refers to them, and a loop's start then allocates neither.
var ownedShells = sync.Pool{New: func() any {
	o := new(struct {
		Coroutine
		l life
	})
	o.Coroutine.l = &o.l
	return &o.Coroutine
}}

// recycle returns an owned coroutine's shell, closed, to ownedShells.
func (c *Coroutine) recycle() { ownedShells.Put(c) }

// New creates a suspended coroutine whose first Resume calls the C-ABI
// function fn(co, arg) on a fresh stack.
func New(fn, arg uintptr, opts ...Option) (*Coroutine, error) {
	if fn == 0 {
		return nil, ErrNilFunc
	}
	cfg := new(config)
	if cfg.set(opts); cfg.err != nil {
		return nil, cfg.err
	}
	return newCoroutine(fn, arg, cfg)
}

// set makes c the defaults with opts applied. (A config that options are
// applied to is on the heap: it is a method's receiver so that the caller
// chooses where, the Loop's own config for a loop.)
func (c *config) set(opts []Option) {
	*c = config{size: DefaultStackSize}
	for _, o := range opts {
		o(c)
	}
}

// ckECanceledWord is CK_ECANCELED as a register word.
const ckECanceledWord = ^uintptr(-ckECanceled - 1)

func newCoroutine(fn, arg uintptr, cfg *config) (*Coroutine, error) {
	var c *Coroutine
	if cfg.owned {
		c = ownedShells.Get().(*Coroutine)
		*c.l = life{}
		*c = Coroutine{l: c.l}
	} else {
		c = &Coroutine{l: &life{}}
	}
	c.name, c.direct = cfg.name, cfg.direct
	l := c.l
	if cfg.stack != nil {
		if err := cfg.stack.acquire(); err != nil {
			return nil, err
		}
		l.stack = cfg.stack
	} else {
		s, err := NewStack(cfg.size)
		if err != nil {
			return nil, err
		}
		s.inUse = true
		l.stack, l.own = s, true
	}
	s := l.stack

	// The record sits at the very top of the stack, the overflow line
	// below it; the first frame goes below that.
	c.co = (*coro)(unsafe.Pointer(&s.mem[len(s.mem)-int(coroSize)]))
	id := nextGen.Add(1)
	c.gen = id << 2
	table := &api
	if cfg.trapping {
		table = &trapAPI
	}
	*c.co = coro{
		api:     uintptr(unsafe.Pointer(table)),
		fn:      fn,
		arg:     arg,
		status:  c.gen | stSuspended,
		stackLo: s.lo(),
		stackHi: s.hi(),
	}
	if cfg.cancels != nil {
		c.co.cancels = *cfg.cancels
	} else {
		for i := range c.co.cancels {
			c.co.cancels[i] = ckECanceledWord
		}
	}
	if cfg.roam {
		c.co.roam = 1
	}
	c.co.msg, c.co.msgLen, c.co.name, c.co.nameLen = s.label(c.name, uint64(id))
	c.co.ctx = makeFrame(corokernel.MakeContextFn, c.co.msg, coEntryAddr)
	l.co, l.gen = c.co, c.gen
	if !cfg.owned {
		runtime.AddCleanup(c, (*life).collect, l)
	}
	return c, nil
}

// Resume runs the coroutine until its body yields or returns, passing in:
// a fresh body finds it in co->value, a suspended one receives it from
// yield. done reports whether the body returned: out is then its return
// value and the coroutine is Dead; otherwise out is the word it yielded.
//
// Resuming a dead coroutine returns ErrDead, a running one (from a
// callback inside its own body, or racing from another goroutine)
// ErrRunning, a closed one ErrClosed. A started body is bound to the OS
// thread it ran on (see the package documentation): a Resume on another
// thread returns ErrThread and leaves the coroutine as it was. A panic in
// a Go callback of the body goes on up through Resume, leaving the
// coroutine Dead.
func (c *Coroutine) Resume(in uintptr) (out uintptr, done bool, err error) {
	if c.l.closed.Load() {
		return 0, false, ErrClosed
	}
	co := c.co
	a := resumeArgs{co: uintptr(unsafe.Pointer(co)), in: in, expect: c.gen | stSuspended}
	if c.direct {
		// The word is in a.out and the status already published.
		r := directResume(&a)
		if r == ckENoBlock {
			// This thread's first coroutine: make its block, which a
			// direct resume cannot (calloc may need more stack than its
			// frame has), and go on in direct mode.
			cgocall(goThreadBlockAddr, nil)
			r = directResume(&a)
		}
		switch r {
		case ckOK:
			return a.out, false, nil
		case ckDone:
			return a.out, true, nil
		case ckERefused:
			return 0, false, ErrRefused
		}
		return 0, false, c.codeErr(r)
	}
	r := cgocall(goResumeAddr, unsafe.Pointer(&a))
	// The coroutine is still ours (running) until the status is published:
	// read its word first.
	switch r {
	case ckOK:
		out = co.value
		storeRelease(&co.status, c.gen|stSuspended)
		return out, false, nil
	case ckDone:
		out = co.value
		storeRelease(&co.status, c.gen|stDead)
		return out, true, nil
	}
	return 0, false, c.codeErr(r)
}

// ResumePtr is Resume for a body that yields or returns a pointer (to C
// memory: the Go garbage collector does not know it): out converted to
// unsafe.Pointer, which a conversion of Resume's uintptr in the caller
// would make go vet flag.
func (c *Coroutine) ResumePtr(in uintptr) (out unsafe.Pointer, done bool, err error) {
	w, done, err := c.Resume(in)
	return *(*unsafe.Pointer)(unsafe.Pointer(&w)), done, err
}

// codeErr is the error for a failed resume's code.
func (c *Coroutine) codeErr(r int32) error {
	switch r {
	case ckEDead:
		return ErrDead
	case ckERunning:
		return ErrRunning
	case ckEClosed:
		return ErrClosed
	case ckEThread:
		return ErrThread
	}
	return fmt.Errorf("%w: %d", ErrInternal, r)
}

// Status reports whether the coroutine is suspended, running or dead. A
// closed coroutine is dead.
func (c *Coroutine) Status() Status {
	if c.l.closed.Load() {
		return Dead
	}
	w := atomic.LoadUintptr(&c.co.status)
	if w&^stMask != c.gen {
		return Dead
	}
	switch w & stMask {
	case stSuspended:
		return Suspended
	case stRunning:
		return Running
	}
	return Dead
}

// Name returns the coroutine's name: WithName's, or "coroutine #N".
func (c *Coroutine) Name() string {
	if c.name == "" {
		return "coroutine #" + strconv.FormatUint(uint64(c.gen>>2), 10)
	}
	return c.name
}

// C returns the coroutine's struct ck_coroutine, for C code that resumes
// it through co->api->resume. It is valid until Close. Once C has taken
// it, the garbage collector no longer frees the coroutine's stack: only
// Close does.
func (c *Coroutine) C() unsafe.Pointer {
	if !c.l.exported.Load() {
		c.l.exported.Store(true)
	}
	return unsafe.Pointer(c.co)
}

// Close releases the coroutine's stack. A body suspended in yield is first
// resumed once more with yield returning CK_ECANCELED (and trap, in a
// kernel task, the same code; a yield function the value WithCancelValue
// gave), so that it can release what it holds and return; one that yields
// again is abandoned where it stands. A body that was never started is not
// run. Closing a running coroutine returns ErrRunning, closing twice
// ErrClosed.
//
// Close on another OS thread than the one the body is suspended on cannot
// run the body there: it closes the coroutine all the same, abandoning the
// body without its cancel, frees the stack, and returns ErrThread.
// Whatever the body held (a lock, memory) stays held.
func (c *Coroutine) Close() error {
	_, err := c.close()
	return err
}

// close is Close, also reporting whether its cancel made the body return
// (co->value, co->fret and co->errno then hold what a NewCall body's
// function returned).
func (c *Coroutine) close() (returned bool, err error) {
	co := c.co
	var state uintptr
	for {
		w := atomic.LoadUintptr(&co.status)
		if w&^stMask != c.gen {
			return false, ErrClosed
		}
		switch state = w & stMask; state {
		case stRunning:
			return false, ErrRunning
		case stClosed:
			return false, ErrClosed
		}
		if atomic.CompareAndSwapUintptr(&co.status, w, c.gen|stClosed) {
			break
		}
	}
	if state == stSuspended && co.started != 0 {
		a := resumeArgs{co: uintptr(unsafe.Pointer(co)), expect: c.gen | stClosed, flags: resumeCancel}
		switch r := cgocall(goResumeAddr, unsafe.Pointer(&a)); r {
		case ckOK, ckDone:
			returned = r == ckDone
			storeRelease(&co.status, c.gen|stClosed)
		case ckEThread:
			err = ErrThread
		}
	}
	c.l.closed.Store(true)
	c.l.release()
	return returned, err
}

// release gives the stack back: to the pool, with its pages returned to
// the system, or, when the pool is full, to the system (retire).
func (l *life) release() {
	s := l.stack
	s.inUse = false
	if !l.own {
		return
	}
	if !s.pool() {
		s.retire()
	}
}

// collect is the garbage collector's cleanup of a Coroutine.
func (l *life) collect() {
	if l.closed.Load() {
		return
	}
	// Dropped without Close. A coroutine C may still hold or that is
	// running keeps its stack; any other is closed here, without a cancel
	// (no goroutine may run a body from a cleanup).
	if l.exported.Load() {
		return
	}
	w := atomic.LoadUintptr(&l.co.status)
	if w&stMask == stRunning || w&^stMask != l.gen || !atomic.CompareAndSwapUintptr(&l.co.status, w, l.gen|stClosed) {
		return
	}
	l.closed.Store(true)
	l.release()
}
