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
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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

// The low two bits of a record's status word are the state; the rest is
// the generation, new for every coroutine, so that a stale handle or a
// stale C pointer never claims the next coroutine on the same stack.
const (
	stSuspended = 0
	stRunning   = 1
	stDead      = 2
	stClosed    = 3
	stMask      = 3
)

// Return codes of ck_resume and ck_yield, as in corokernel.h.
const (
	ckOK          = 0
	ckDone        = 1
	ckEInval      = -1
	ckERunning    = -2
	ckEDead       = -3
	ckENotRunning = -4
	ckEClosed     = -6
	ckECanceled   = -125
	ckERefused    = -7  // Go only: a Go callback refused under a direct resume
	ckENoBlock    = -8  // Go only: directResume found no thread block
	ckEThread     = -5  // resume: the body is bound to another OS thread
	stRefused     = 4   // switchIn's result when callbackCommon refused a callback
	ckENotTask    = -1  // ck_trap outside a trapping coroutine
	cycleMore     = 2   // goCycle: the budget ran out
	sysSPGap      = 256 // room left below a resumer's saved context for a callback
)

// coro is struct ck_coroutine. It lives at the top of the coroutine's
// stack mapping, outside the Go heap, because C code and the assembly hold
// pointers to it. The assembly reads its offsets from go_asm.h; the first
// three fields are public (corokernel.h).
type coro struct {
	api     uintptr // const ck_api *api
	user    uintptr // void *user: free for the body
	value   uintptr // the word the last resume or yield passed
	status  uintptr // generation<<2 | st*
	ctx     uintptr // the coroutine's context while it is suspended
	caller  uintptr // the resumer's context while it runs
	fn      uintptr // uintptr_t (*fn)(ck_coroutine *, uintptr_t)
	arg     uintptr // fn's second argument
	stackLo uintptr // lowest usable stack address; the guard region lies below
	prev    uintptr // the thread's current coroutine before this resume
	stackHi uintptr // top of the stack (this record sits just below it)
	trapOp  uintptr // kernel trap of a native task: op code
	trapA   uintptr // first operand
	trapB   uintptr // second operand
	inPtr   uintptr // where yield wants the next resume's word (or 0)
	inTrap  uintptr // 1 while suspended in trap: the resume word is trap's result
	started uintptr // 1 once the body has been entered
	msg     uintptr // the line the overflow reporter prints (in this page, below the record)
	msgLen  uintptr
	args    [6]uintptr // NewCall: the arguments; yieldArgs: the callback's arguments
	tag     uintptr    // yieldArgs: the tag of the yield-table entry called
	// NewCall: fn's floating-point register arguments; yieldArgs: the
	// callback's (XMM0-XMM7 on amd64, D0-D7 on arm64, the low 64 bits).
	fargs [8]uintptr
	// cancels[t] is what a yield function of tag t returns to its C caller
	// when Close cancels the coroutine waiting in it (WithCancelValue).
	cancels [NumYieldTags]uintptr
	thread  uintptr // the id of the thread block the body is bound to; 0 while unbound
	roam    uintptr // 1: WithAnyThread, never bound to a thread
	errno   uintptr // NewCall: errno, read on fn's thread as fn returned
	_       uintptr // the record's size stays a multiple of 16
	fret    uintptr // NewCall: fn's floating-point result register (XMM0, D0)
	drain   uintptr // during Close's cancel: how many more yield-function calls return their cancel value at once
	name    uintptr // the coroutine's name, inside the overflow line (msg), for the fault report
	nameLen uintptr
}

// threadBlock is the per-thread block, reached through a pthread key.
type threadBlock struct {
	current uintptr // innermost running coroutine on this thread
	cbTop   uintptr // innermost callback in progress (a cbRecord on its caller's stack)
	alt     uintptr // the signal stack installed for this thread, or 0
	direct  uintptr // the coroutine a direct resume (WithDirect) runs, or 0
	id      uintptr // this thread's serial number, from threadSerial: never reused
	_       [3]uintptr
}

// threadSerial numbers the thread blocks (threadBlockInit takes the next
// one atomically). A record bound to a thread keeps its number, so that a
// thread that exits and a new one whose block lands at the same address
// are never taken for each other.
var threadSerial uintptr

// cbRecord is what callbackCommon pushes on the thread block for the
// duration of a callback: the outer record, and the outermost coroutine
// whose frames lie below the callback (0 when it was not called on a
// coroutine stack). A panic that leaves the callback abandons exactly the
// coroutines from the thread's current one down to that one.
type cbRecord struct {
	prev     uintptr
	boundary uintptr
}

// resumeArgs is one Go Resume's argument block, on the resuming
// goroutine's stack: nothing of one call lives in the shared record until
// the call has claimed the coroutine.
type resumeArgs struct {
	co     uintptr // *coro
	in     uintptr
	expect uintptr // the status word the claim expects: generation | stSuspended, or | stClosed for a cancel
	flags  uintptr // resumeCancel for Close's cancel
	out    uintptr // directResume: the word, stored before the status is published
}

// goFP is the floating-point control state Go code runs with, read when
// the package initialises, in the context frame's layout: on amd64 MXCSR
// without its status flags | the x87 control word << 32, on arm64 FPCR.
// A resume from Go stores it as the resumer's state instead of reading
// the registers (resumeFromGo), and callbackCommon makes it the state of
// every Go callback, so that it stays true.
var goFP = fpState()

// fpControlMask selects the control bits of an amd64 frame's FP word:
// MXCSR's bits 6-31 (0-5 are status flags) and the x87 control word.
const fpControlMask = 0xffff_ffff_ffc0

// fpState reads this thread's FP control state (assembly; see goFP).
func fpState() uint64

// resumeCore's flags.
const (
	resumeCancel = 1 // the waiting yield or trap returns CK_ECANCELED; the coroutine stays closed
	resumeGo     = 2 // the caller publishes the status (Go, after reading co->value)
	resumeFromGo = 4 // the resumer is Go code (or this package's native code run from Go): its FP control state is goFP, not read
)

// co->inTrap while a body waits in a yield function (yieldArgs): the
// resume's word is the function's result, and a cancel returns the value
// set for its tag (WithCancelValue). A trap waits with 1.
const waitArgs = 2

// drainCalls is how many calls of yield functions a body may make while
// Close's cancel unwinds it, each answered at once with its tag's cancel
// value, before one more suspends it and it is abandoned: libraries call
// back while they clean up (zlib's inflateBack flushes its window through
// out() after in() said there is no more input), and a bound keeps one
// that never stops from holding Close for ever.
const drainCalls = 1 << 16

// directResume is the WithDirect resume (assembly): goResume's work from
// inside its own NOSPLIT frame on the goroutine's stack, no cgocall. It
// returns ckENoBlock, touching nothing, on a thread without a block.
//
//go:noescape
func directResume(a *resumeArgs) int32

// makeFrame calls the machine layer's ck_make_context, make, as
// make(top, 0, entry) from the goroutine's stack (assembly): a leaf that
// only writes the fresh context's frame below top, so it needs no cgocall.
//
//go:noescape
func makeFrame(make, top, entry uintptr) uintptr

// threadID returns the id of this thread's block (threadSerial), or 0
// when the thread has none yet (assembly: pthread_getspecific only).
func threadID() uintptr

// storeRelease stores v at p with release order (assembly).
//
//go:noescape
func storeRelease(p *uintptr, v uintptr)

const coroSize = unsafe.Sizeof(coro{})

// apiTable mirrors struct ck_api (corokernel.h): what a body reaches
// through co->api. It is a Go global, so it never moves.
type apiTable struct {
	version uint32
	size    uint32
	yield   uintptr
	resume  uintptr
	current uintptr
	trap    uintptr
}

// APIVersion is CK_API_VERSION in corokernel.h.
const APIVersion = 2

var api = apiTable{
	version: APIVersion,
	size:    uint32(unsafe.Sizeof(apiTable{})),
	yield:   entries[eYield],
	resume:  entries[eResume],
	current: entries[eCurrent],
	trap:    entries[eNoTrap],
}

var (
	goResumeFn      = entries[eGoResume]
	goThreadBlockFn = entries[eGoThreadBlock]
	goCbUnwindFn    = entries[eGoCbUnwind]
	coEntryFn       = entries[eCoEntry]
)

// API returns the address of the ck_api table that every body receives
// in co->api, for C code that needs it without a coroutine at hand (for
// instance to call ck_current from a callback).
func API() unsafe.Pointer { return unsafe.Pointer(&api) }

// cgocall is runtime.cgocall: Resume enters native code through exactly one
// of them.
//
//go:linkname cgocall runtime.cgocall
//go:noescape
func cgocall(fn uintptr, arg unsafe.Pointer) int32

// The C-ABI entry points, implemented in assembly and declared here for
// vet only: none may be called from Go. Their addresses are in entries,
// filled by the assembly's addrs, the one way this package takes an
// assembly function's address (a Go func value of an assembly function
// points at an ABI wrapper, not at the entry).
func resume()
func yield()
func current()
func trap()
func noTrap()
func goResume()
func goCycle()
func goCbUnwind()
func coEntry()
func callbackCommon()
func threadDestroy()
func thunkTable()
func segvHandler()
func yieldArgs()
func yieldTable()
func callBody()
func goThreadBlock()

// Indices of entries; the assembly reads them from go_asm.h.
const (
	eResume = iota
	eYield
	eCurrent
	eTrap
	eNoTrap
	eGoResume
	eGoCycle
	eGoCbUnwind
	eCoEntry
	eThreadDestroy
	eThunkTable
	eSegvHandler
	eYieldTable
	eCallBody
	eGoThreadBlock
	nEntries
)

func addrs(dst *[nEntries]uintptr)

var entries = func() (e [nEntries]uintptr) { addrs(&e); return }()

// Option configures New.
type Option func(*config)

type config struct {
	size     int
	stack    *Stack
	name     string
	trapping bool
	direct   bool
	roam     bool
	fargs    []FloatArg             // WithFloatArgs's list, copied (more than 8: NewCall fails)
	cancels  *[NumYieldTags]uintptr // nil: CK_ECANCELED for every tag
	err      error
	owned    bool                                         // the caller always closes the coroutine (a Loop): no cleanup
	check    func(ret uintptr, errno syscall.Errno) error // loops only (WithCheck)
}

// WithStackSize sets the size of the stack New allocates (default
// DefaultStackSize). Sizes are rounded up to whole pages.
func WithStackSize(n int) Option { return func(c *config) { c.size = n } }

// WithStack runs the coroutine on s instead of a stack of its own. The
// stack stays the caller's: Close releases it for another coroutine but
// does not free it. A stack serves one live coroutine at a time; it must
// not be freed while another goroutine may still call a method of a
// coroutine that used it.
func WithStack(s *Stack) Option { return func(c *config) { c.stack = s } }

// WithName names the coroutine in error messages and in the stack
// overflow report (default "coroutine #N").
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithDirect makes Resume enter the coroutine directly from the
// goroutine's stack, without runtime.cgocall: a round trip costs about
// 0.6 times as much (docs/performance.md has the breakdown). It suits bodies
// that only compute, for a short time, between yields. The contract:
//
//   - While the body runs, the goroutine is running foreign code, not in a
//     system call, so it is at no safe point: a garbage collection's
//     stop-the-world, and anything else that must stop every goroutine,
//     waits until the body yields or returns. A body that blocks (in a
//     system call, on a lock, in a long loop) stalls the whole program.
//   - The body must not call Go: a callback made with NewCallback is
//     refused, on every resume, the first included (it does not run;
//     Resume returns ErrRefused and the coroutine is abandoned). Other
//     ways into Go, such as a callback of purego's own, are not detected
//     and crash the runtime.
//   - Signals reach the body: the runtime takes the goroutine for a
//     running one and sends it the preemption signal, SIGURG, which never
//     stops foreign code but does interrupt it. A system call the body
//     makes may then fail with EINTR, and calls that never restart do
//     (nanosleep, poll, select, epoll_wait: measured, a 100 ms nanosleep
//     fails within about 1 ms while a garbage collection runs). A body
//     that makes such calls must retry them, or not run in direct mode. A
//     CPU profile charges the body's time to "_ExternalCode".
//   - A fault in the body (SIGSEGV) cannot become the runtime's report,
//     which would try to unwind the C frames as Go's: the process prints
//     "corokernel: SIGSEGV at address 0x… in NAME (direct mode)" and ends
//     with status 2, as it does for a fault in ordinary mode.
//
// Close still goes through cgocall, and so does making a thread's block
// on its first coroutine (once per thread). Kernel tasks and Ring ignore
// the option.
func WithDirect() Option { return func(c *config) { c.direct = true } }

// WithAnyThread lets the coroutine's body be resumed on any OS thread: a
// resume from another thread than the last is not refused, and a pull
// loop does not keep its goroutine on one. Only for bodies that hold no
// thread-owned state across a yield: no mutex locked (pthread mutexes
// belong to the thread that locked them), no thread-local storage, no
// errno read after a yield. Without it a body is bound to the thread its
// first resume ran it on (see Resume).
func WithAnyThread() Option { return func(c *config) { c.roam = true } }

// WithCancelValue sets what a yield function of tag (YieldFuncTag; 0 is
// YieldFunc) returns to the C code waiting in it when Close cancels the
// coroutine, the break out of a pull loop: v instead of CK_ECANCELED
// (-125). Each callback reads its return value in its own way: zlib's
// in() returns a length, where 0 says "no more input" and -125 would be
// read as four billion bytes; sqlite's row callback stops the query on
// any non-zero value. A tag outside 0 to NumYieldTags-1 makes New fail
// with ErrYieldTag. For a callback that returns a float or double, v is
// its bits (math.Float64bits; math.Float32bits in the low 32 bits).
func WithCancelValue(tag int, v uintptr) Option {
	return func(c *config) {
		if tag < 0 || tag >= NumYieldTags {
			c.err = fmt.Errorf("%w: WithCancelValue(%d, …) (0 to %d)", ErrYieldTag, tag, NumYieldTags-1)
			return
		}
		if c.cancels == nil {
			c.cancels = new([NumYieldTags]uintptr)
			for i := range c.cancels {
				c.cancels[i] = ckECanceledWord
			}
		}
		c.cancels[tag] = v
	}
}

// A FloatArg is a floating-point register argument of a C function:
// Float64Arg for a double, Float32Arg for a float.
type FloatArg uint64

// Float64Arg is a double argument.
func Float64Arg(x float64) FloatArg { return FloatArg(math.Float64bits(x)) }

// Float32Arg is a float argument (its bits in the register's low half).
func Float32Arg(x float32) FloatArg { return FloatArg(math.Float32bits(x)) }

// WithFloatArgs gives NewCall's function its floating-point arguments, in
// the order they appear in its C declaration, beside the integer and
// pointer ones NewCall takes: the ABI passes the two kinds in separate
// registers (XMM0-XMM7 on amd64, D0-D7 on arm64), so
// gsl_integration_qags(f, a, b, epsabs, epsrel, limit, w, result, abserr)
// is NewCall(qags, []uintptr{f, limit, w, result, abserr},
// WithFloatArgs(Float64Arg(a), Float64Arg(b), Float64Arg(epsabs),
// Float64Arg(epsrel))). At most eight: NewCall fails with ErrTooManyArgs
// beyond. New ignores it.
func WithFloatArgs(a ...FloatArg) Option {
	a = append([]FloatArg(nil), a...)
	return func(c *config) { c.fargs = a }
}

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
	c.co.ctx = makeFrame(corokernel.MakeContextFn, c.co.msg, coEntryFn)
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
			cgocall(goThreadBlockFn, nil)
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
	r := cgocall(goResumeFn, unsafe.Pointer(&a))
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
		switch r := cgocall(goResumeFn, unsafe.Pointer(&a)); r {
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
