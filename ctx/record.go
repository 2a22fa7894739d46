package ctx

// The records the assembly shares with Go, their constants, and the
// assembly's entry points. go_asm.h, which the toolchain writes from the
// declarations here, gives the assembly every offset and constant
// (const_*, coro_*, threadBlock_*), so none is kept by hand.

import "unsafe"

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
	yield:   yieldAddr,
	resume:  resumeAddr,
	current: currentAddr,
	trap:    noTrapAddr,
}

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
// vet only: none may be called from Go. Each file of assembly that
// defines one also defines a read-only word holding its address, named
// after it with Addr (DATA ·yieldAddr, $·yield(SB)), declared below: the
// one way this package takes an assembly function's address (a Go func
// value of an assembly function points at an ABI wrapper, not at the
// entry). The words are in read-only memory: a write faults.
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

// The assembly's own entry points, called only from assembly in other
// files (declared for vet): getThreadBlock returns the thread's block,
// resumeCore claims and resumes a coroutine, suspend is the second half
// of every wait.
func getThreadBlock()
func resumeCore()
func suspend()

// The entry points' addresses (see above).
var (
	resumeAddr        uintptr // co_*.s
	yieldAddr         uintptr
	currentAddr       uintptr
	goResumeAddr      uintptr
	coEntryAddr       uintptr
	trapAddr          uintptr // trap_*.s
	noTrapAddr        uintptr
	goCycleAddr       uintptr
	threadDestroyAddr uintptr // thread_*.s
	goThreadBlockAddr uintptr
	goCbUnwindAddr    uintptr // callback_*.s
	yieldArgsAddr     uintptr // pull_*.s
	callBodyAddr      uintptr
	thunkTableAddr    uintptr // thunks_*.s
	yieldTableAddr    uintptr
	segvHandlerAddr   uintptr // overflow_linux_*.s
)
