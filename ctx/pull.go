package ctx

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/corokernel/corokernel/internal/gocoro"
)

// Pull loops over C callback APIs: a C library that pushes callbacks runs
// on a coroutine, and every callback becomes one iteration of a Go loop,
// on the library's own stack, with no goroutine, no thread and no copy.

// ErrTooManyArgs is returned by NewCall and Calls for more than six
// arguments.
var ErrTooManyArgs = errors.New("ctx: a C function of at most six integer or pointer arguments")

// ErrYieldTag is returned by YieldFuncTag for a tag outside 0 to
// NumYieldTags-1.
var ErrYieldTag = errors.New("ctx: yield tag out of range")

// NumYieldTags is how many tagged yield functions there are: tags 0 to
// NumYieldTags-1. They are not slots: any number of coroutines may use
// the same one at once.
const NumYieldTags = 16

// YieldFunc returns the address of a C function that C code may pass as
// any callback of up to six integer or pointer arguments:
//
//	uintptr_t ck_yield_args(uintptr_t a0, ..., uintptr_t a5);
//
// Called on a coroutine's stack, it suspends the coroutine and hands its
// arguments to the Go side (Resume returns, Args reads them; a Calls loop
// sees them as a *Call). The word the next Resume passes, the loop's
// answer, is the callback's return value. Close's cancel makes it return
// CK_ECANCELED (-125); called when no coroutine runs on the thread's
// stack, it returns CK_ENOTRUNNING (-4) at once.
//
// One function serves every coroutine and every signature, so there is no
// limit on how many use it at once. Floating-point arguments are not
// passed (they are in other registers), nor arguments past the sixth (on
// the stack); a callback that returns a floating-point value gets garbage.
func YieldFunc() uintptr { return yieldTableAddr }

// YieldFuncTag returns a C function that behaves as YieldFunc and also
// records tag (0 to NumYieldTags-1), which Call.Tag and Coroutine.Tag
// report: the way to tell apart the several callbacks of one library
// (expat's start, end and text handlers, say) that all yield to one loop.
// YieldFuncTag(0) is YieldFunc.
func YieldFuncTag(tag int) (uintptr, error) {
	if tag < 0 || tag >= NumYieldTags {
		return 0, fmt.Errorf("%w: %d (0 to %d)", ErrYieldTag, tag, NumYieldTags-1)
	}
	return yieldTableAddr + uintptr(tag)*thunkSize, nil
}

// Args returns the arguments of the YieldFunc call the coroutine is
// suspended in. They are valid until the next Resume.
func (c *Coroutine) Args() *[6]uintptr { return &c.co.args }

// Tag returns the tag of the yield function the coroutine is suspended
// in (see YieldFuncTag): 0 for YieldFunc.
func (c *Coroutine) Tag() int { return int(c.co.tag) }

// NewCall creates a suspended coroutine whose body calls the C function
// fn with up to six integer or pointer arguments: the first Resume runs
// fn on the coroutine's stack, and the Resume that finds it returned
// reports done, with fn's result. fn may call back YieldFunc (directly or
// as a library's callback) to yield to the Go side. No C compiler is
// needed: this is how any C library function runs on a coroutine.
func NewCall(fn uintptr, args []uintptr, opts ...Option) (*Coroutine, error) {
	cfg := new(config)
	if cfg.set(opts); cfg.err != nil {
		return nil, cfg.err
	}
	return newCall(fn, args, cfg)
}

func newCall(fn uintptr, args []uintptr, cfg *config) (*Coroutine, error) {
	switch {
	case fn == 0:
		return nil, ErrNilFunc
	case len(args) > 6, len(cfg.fargs) > 8:
		return nil, ErrTooManyArgs
	}
	c, err := newCoroutine(callBodyAddr, fn, cfg)
	if err != nil {
		return nil, err
	}
	copy(c.co.args[:], args)
	for i, f := range cfg.fargs {
		c.co.fargs[i] = uintptr(f)
	}
	return c, nil
}

// A Call is one call that C code running in a pull loop made of a yield
// function: its arguments, and the answer the loop gives it. It is valid
// for one iteration, and the loop's next iteration reuses it. Once its
// loop has ended every method panics with ErrCallExpired: the record it
// reads lives on the coroutine's stack, which is gone by then.
//
// The accessors read arguments by position among the callback's integer
// and pointer arguments (Arg, Int, Ptr, String, ...: 0 to 5) or among its
// floating-point ones (Float64, Float32: 0 to 7), each counted in its own
// kind, as the ABI passes them: for double f(double x, void *p), x is
// Float64(0) and p is Ptr(0).
type Call struct {
	co     *coro // nil once the loop has ended
	answer uintptr
	loop   *Loop
}

// ErrCallExpired is the panic value of a *Call used after its loop ended.
var ErrCallExpired = errors.New("ctx: a *Call used after its loop ended (it is valid for one iteration)")

// rec returns the record of the call's coroutine, or panics once the loop
// has ended.
func (k *Call) rec() *coro {
	if k.co == nil {
		panic(ErrCallExpired)
	}
	return k.co
}

// Tag returns the tag of the yield function called (see YieldFuncTag).
func (k *Call) Tag() int { return int(k.rec().tag) }

// Arg returns the i'th integer or pointer argument (0 to 5) of the call.
func (k *Call) Arg(i int) uintptr { return k.rec().args[i] }

// Int returns the i'th argument as a C long or ssize_t (on the 64-bit
// platforms, also a Go int).
func (k *Call) Int(i int) int { return int(k.rec().args[i]) }

// Int32 returns the i'th argument as a C int: its register's low 32 bits,
// sign-extended (the ABI leaves the upper half undefined).
func (k *Call) Int32(i int) int32 { return int32(k.rec().args[i]) }

// Int64 returns the i'th argument as an int64_t.
func (k *Call) Int64(i int) int64 { return int64(k.rec().args[i]) }

// Uint returns the i'th argument as a size_t or unsigned long.
func (k *Call) Uint(i int) uint { return uint(k.rec().args[i]) }

// Uint32 returns the i'th argument as a C unsigned int: its register's
// low 32 bits.
func (k *Call) Uint32(i int) uint32 { return uint32(k.rec().args[i]) }

// Ptr returns the i'th argument of the call as a pointer: to C memory,
// which the Go garbage collector does not know (a conversion of Arg in
// the caller would make go vet flag it).
func (k *Call) Ptr(i int) unsafe.Pointer { return word2ptr(k.rec().args[i]) }

// Float64 returns the i'th floating-point argument (0 to 7) as a double.
func (k *Call) Float64(i int) float64 { return math.Float64frombits(uint64(k.rec().fargs[i])) }

// Float32 returns the i'th floating-point argument (0 to 7) as a float.
func (k *Call) Float32(i int) float32 {
	return math.Float32frombits(uint32(k.rec().fargs[i]))
}

// String returns a Go copy of the NUL-terminated C string the i'th
// argument points at ("" for NULL).
func (k *Call) String(i int) string { return string(cbytes(k.rec().args[i])) }

// StringBytes returns the NUL-terminated C string the i'th argument points
// at, without its NUL and without a copy: valid only for this iteration,
// and only while the C code keeps the string (nil for NULL).
func (k *Call) StringBytes(i int) []byte { return cbytes(k.rec().args[i]) }

// StringAt returns a Go copy of the j'th string of the array of C strings
// (char **) the i'th argument points at ("" for a NULL entry, and for a
// NULL array), as in sqlite3_exec's row callback: values StringAt(2,
// col), names StringAt(3, col). A negative j panics; j is not checked
// against the array's length, which only the C code knows.
func (k *Call) StringAt(i, j int) string {
	p := k.rec().args[i]
	if j < 0 {
		panic(fmt.Sprintf("ctx: Call.StringAt(%d, %d): a negative index", i, j))
	}
	if p == 0 {
		return ""
	}
	return string(cbytes(*(*uintptr)(unsafe.Add(word2ptr(p), uintptr(j)*ptrSize))))
}

// Bytes returns the buffer of the C call's (pointer, length) argument
// pair: the argument at ptr points at it and the one at n says how many
// bytes it has (zlib's out(desc, buf, len) is Bytes(1, 2)). No copy: valid
// only for this iteration, and only while the C code keeps the buffer.
// A NULL pointer or a length of 0 gives nil; a length above 1 GiB panics,
// since no C caller means that.
func (k *Call) Bytes(ptr, n int) []byte {
	co := k.rec()
	p, l := co.args[ptr], co.args[n]
	if p == 0 || l == 0 {
		return nil
	}
	if l > maxBytes {
		panic(fmt.Sprintf("ctx: Call.Bytes(%d, %d): a length of %d bytes", ptr, n, l))
	}
	return unsafe.Slice((*byte)(word2ptr(p)), int(l))
}

// maxBytes bounds Call.Bytes: a larger length is a misread argument.
const maxBytes = 1 << 30

// SetOut stores v in the word the i'th argument points at: an out
// parameter of the callback, such as zlib's in(desc, &buf), which wants a
// pointer to the next input there (SetOut(1, call.Lend(chunk))). A NULL
// argument panics.
func (k *Call) SetOut(i int, v uintptr) {
	p := k.rec().args[i]
	if p == 0 {
		panic(fmt.Sprintf("ctx: Call.SetOut(%d, …) through a NULL pointer", i))
	}
	*(*uintptr)(word2ptr(p)) = v
}

// Lend pins b where it is, alive, until the loop's run ends, and returns
// its address for the C code, which may keep it across callbacks: for an
// out parameter such as zlib's in(desc, &buf) (SetOut(1, Lend(chunk))).
// An empty b gives 0. b must not hold Go pointers.
func (k *Call) Lend(b []byte) uintptr {
	k.rec()
	return k.loop.pins.Bytes(b)
}

// Return sets the value the callback returns to the C code (0 unless set):
// an integer or pointer word, in the C caller's integer result register
// and also (as bits) in its floating-point one.
func (k *Call) Return(v uintptr) { k.rec(); k.answer = v }

// ReturnInt is Return for a callback that returns an int or a long: -1 is
// ReturnInt(-1).
func (k *Call) ReturnInt(v int) { k.rec(); k.answer = uintptr(v) }

// ReturnFloat64 is Return for a callback that returns a double.
func (k *Call) ReturnFloat64(v float64) { k.rec(); k.answer = uintptr(math.Float64bits(v)) }

// ReturnFloat32 is Return for a callback that returns a float.
func (k *Call) ReturnFloat32(v float32) { k.rec(); k.answer = uintptr(math.Float32bits(v)) }

const ptrSize = unsafe.Sizeof(uintptr(0))

// word2ptr converts a word that holds a C address (memory the Go garbage
// collector does not manage) to a pointer, without the conversion that
// go vet flags.
func word2ptr(w uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&w)) }

// cbytes returns the NUL-terminated C string at p, without its NUL and
// without a copy (nil for NULL).
func cbytes(p uintptr) []byte {
	if p == 0 {
		return nil
	}
	n := 0
	for *(*byte)(unsafe.Add(word2ptr(p), n)) != 0 {
		n++
	}
	return unsafe.Slice((*byte)(word2ptr(p)), n)
}

// A Loop is a C function run as a pull loop: each run of Calls runs
// fn(args...) on a new coroutine, with the options given, and yields the
// calls it makes of yield functions (YieldFunc, YieldFuncTag). After a
// run, Result says what fn returned. A Loop may run many times, one run
// at a time.
//
// While a run lasts, its goroutine stays on one OS thread
// (runtime.LockOSThread): fn's frames may hold thread-owned state, the
// library's locks (sqlite's connection mutex, glibc's loader lock), its
// errno, and a body moved to another thread deadlocks or corrupts them.
// The one exception: a run inside one of the Go runtime's own coroutines,
// a sequence driven by iter.Pull, cannot lock its thread (the runtime
// forbids it and would end the process), so there a goroutine that moves
// ends the run with (nil, ErrThread); lock the goroutine that calls
// iter.Pull, before it calls it, to keep it on one thread. WithAnyThread
// opts out for a fn that holds no thread state. Leaving the loop early
// closes the coroutine, so that the pending callback returns its cancel
// value (WithCancelValue) and fn can unwind.
type Loop struct {
	fn      uintptr
	args    [6]uintptr
	nargs   int
	cfg     *config // loopDefaults without options
	running atomic.Bool
	pooled  bool // Calls' own, in loops: only one run ever has it
	runs    int  // runs started: the first uses first, the others fresh ones
	first   Call
	fresh   []Call // Calls not used yet (newCall)
	// fn's results in the last run, as callBody recorded them (Result)
	returned, canceled bool
	ret, fret, errno   uintptr
	pins               Pins // Call.Lend's, until the run ends
}

// loopDefaults is the config of every Loop made without options.
var loopDefaults = config{size: DefaultStackSize, owned: true, name: loopName}

// A Result is what a loop's C function returned, read on its thread the
// moment it returned.
type Result struct {
	// Returned reports whether fn returned: false when the run failed, has
	// not happened, or was broken off (break, a panic) and fn did not
	// return after its callback's cancel value.
	Returned bool
	// Canceled reports that the run was broken off and fn returned after
	// its pending callback returned the cancel value (WithCancelValue):
	// Value is then its status for that (sqlite3_exec's SQLITE_ABORT,
	// inflateBack's Z_BUF_ERROR).
	Canceled bool
	// Value is fn's integer or pointer result (int32(Value) for a C int).
	Value uintptr
	// Float is fn's double result (float32(Float) for a float is wrong:
	// use Float32), meaningful only for a function that returns one.
	Float float64
	// Float32 is fn's float result, likewise.
	Float32 float32
	// Errno is errno as fn returned, on its thread: meaningful only where
	// fn's result says it failed, as in C.
	Errno syscall.Errno
}

// NewLoop returns the loop over fn(args...), with up to six integer or
// pointer arguments and, with WithFloatArgs, up to eight floating-point
// ones. The options are New's (WithStackSize, WithStack, WithName,
// WithDirect, WithAnyThread, WithCancelValue, WithFloatArgs) and
// WithCheck. Errors in them are yielded by the first run.
func NewLoop(fn uintptr, args []uintptr, opts ...Option) *Loop {
	l := &Loop{fn: fn, nargs: len(args), cfg: &loopDefaults}
	if len(opts) > 0 {
		l.cfg = new(config)
		l.cfg.set(opts)
		l.cfg.owned = true // the run closes its coroutine, always
		if l.cfg.name == "" {
			l.cfg.name = loopName
		}
	}
	copy(l.args[:], args)
	return l
}

// WithCheck makes a loop end with an error when its C function's result
// says it failed: once fn returns, check(ret, errno) runs, and a non-nil
// error is the run's last iteration, (nil, err). For sqlite3_exec:
//
//	ctx.WithCheck(func(ret uintptr, _ syscall.Errno) error {
//		if rc := int32(ret); rc != 0 { // SQLITE_OK
//			return fmt.Errorf("sqlite3_exec: %s", sqlite3_errstr(rc))
//		}
//		return nil
//	})
//
// New and NewCall ignore it.
func WithCheck(check func(ret uintptr, errno syscall.Errno) error) Option {
	return func(c *config) { c.check = check }
}

// ErrLoopRunning is yielded by a run of a Loop that is already running
// (from another goroutine, or from inside its own loop body).
var ErrLoopRunning = errors.New("ctx: the loop is already running")

// Result returns what the C function returned in the loop's last run
// (see Result); Returned is false while a run is in progress.
func (l *Loop) Result() Result {
	if !l.returned {
		return Result{}
	}
	return Result{
		Returned: true,
		Canceled: l.canceled,
		Value:    l.ret,
		Float:    math.Float64frombits(uint64(l.fret)),
		Float32:  math.Float32frombits(uint32(l.fret)),
		Errno:    syscall.Errno(l.errno),
	}
}

// Calls runs the loop once: fn(args...) on a new coroutine, each call of
// a yield function one iteration, answered with Call.Return (or its typed
// forms); the callback returns that answer when the loop goes on. The
// sequence ends when fn returns (Result then has its result; with
// WithCheck, a failure is one more (nil, err)).
//
// Breaking out of the loop (or a panic in it) closes the coroutine: the
// pending yield function returns its cancel value, CK_ECANCELED (-125)
// unless WithCancelValue set another for its tag, so that the library
// stops and fn returns (Result then says so, with Canceled set). Calls of
// yield functions that the library makes while it unwinds (zlib flushes
// its output after in() said there is no more input) return their cancel
// values at once, without an iteration; after 65,536 of them the body is
// abandoned where it stands and its stack freed. A failure to make or
// resume the coroutine is yielded once, as (nil, err), and ends the
// sequence.
//
// Each iteration costs one Resume and allocates nothing.
func (l *Loop) Calls() iter.Seq2[*Call, error] { return l.run }

// run is one run of the loop: Calls' sequence.
func (l *Loop) run(yield func(*Call, error) bool) {
	if !l.pooled && !l.running.CompareAndSwap(false, true) {
		yield(nil, ErrLoopRunning)
		return
	}
	// One deferred call undoes what the run did, in the reverse order: a
	// single defer is open-coded, several with this many returns are not.
	var r runState
	r.l = l
	defer r.finish()
	if !l.cfg.roam && !gocoro.InGoCoroutine() {
		// The body stays on this thread, and so must the goroutine,
		// across the loop body's blocking and the scheduler's moves (see
		// Loop). Not in a Go coroutine (internal/gocoro): there a move is
		// refused with ErrThread.
		runtime.LockOSThread()
		r.locked = true
	}
	l.returned, l.canceled = false, false
	if l.cfg.err != nil {
		yield(nil, l.cfg.err)
		return
	}
	if l.nargs > 6 {
		yield(nil, ErrTooManyArgs)
		return
	}
	c, err := newCall(l.fn, l.args[:l.nargs], l.cfg)
	if err != nil {
		yield(nil, err)
		return
	}
	// A Call is never reused across runs: one kept from an earlier run
	// stays expired.
	k := &l.first
	if l.runs++; l.runs > 1 {
		k = l.newCall()
	}
	*k = Call{co: c.co, loop: l}
	r.c, r.k = c, k
	for {
		_, done, err := c.Resume(k.answer)
		switch {
		case err != nil:
			yield(nil, err)
			return
		case done:
			l.record(c.co)
			if l.cfg.check != nil {
				if err := l.cfg.check(l.ret, syscall.Errno(l.errno)); err != nil {
					yield(nil, err)
				}
			}
			return
		}
		k.answer = 0
		if !yield(k, nil) {
			return
		}
	}
}

// newCall returns a Call no run has used, from a block of them: each is
// used once, so one kept from an earlier run stays expired, and a loop
// run again and again allocates once per callsPerBlock runs.
func (l *Loop) newCall() *Call {
	if len(l.fresh) == 0 {
		l.fresh = make([]Call, callsPerBlock)
	}
	k := &l.fresh[0]
	l.fresh = l.fresh[1:]
	return k
}

const callsPerBlock = 16

// runState is what a run has to undo when it ends, however it ends.
type runState struct {
	l      *Loop
	c      *Coroutine // nil until made
	k      *Call
	locked bool // the run locked its thread
}

// finish ends a run: its Call expires, its coroutine is closed (which
// cancels a body still suspended) and recycled, the thread unlocked and
// the buffers lent in it unpinned.
func (r *runState) finish() {
	if c := r.c; c != nil {
		r.k.co = nil
		if returned, _ := c.close(); returned {
			r.l.record(c.co)
			r.l.canceled = true
		}
		c.recycle()
	}
	if r.locked {
		runtime.UnlockOSThread()
	}
	r.l.pins.Unpin()
	if !r.l.pooled {
		r.l.running.Store(false)
	}
}

// record keeps fn's results, which callBody left in the record.
func (l *Loop) record(co *coro) {
	l.returned, l.ret, l.fret, l.errno = true, co.value, co.fret, co.errno
}

// Calls runs the C function fn(args...) on a new coroutine and yields each
// call that fn, or a library it drives, makes of a yield function, in
// order: NewLoop(fn, args).Calls(), which says more. NewLoop takes options
// and keeps fn's result. The sequence may be ranged over again, from
// inside itself or from several goroutines at once: each range is a run
// of its own.
func Calls(fn uintptr, args ...uintptr) iter.Seq2[*Call, error] {
	return pooledLoop(fn, args, &loopDefaults)
}

// DirectCalls is Calls with the coroutine in direct mode (WithDirect):
// each iteration costs about 0.6 times as much, for C code that only computes
// between its callbacks and never calls Go. Read WithDirect's contract
// before choosing it.
func DirectCalls(fn uintptr, args ...uintptr) iter.Seq2[*Call, error] {
	return pooledLoop(fn, args, &directDefaults)
}

// directDefaults is DirectCalls' config.
var directDefaults = config{size: DefaultStackSize, owned: true, name: loopName, direct: true}

// pooledLoop is the sequence of Calls and DirectCalls: their Loop is
// nobody else's, so each run borrows one from loops rather than
// allocating it (a third of what a short loop cost to start). The
// sequence itself holds only words, which the garbage collector need not
// scan.
func pooledLoop(fn uintptr, args []uintptr, cfg *config) iter.Seq2[*Call, error] {
	var a [6]uintptr
	copy(a[:], args)
	n := len(args)
	return func(yield func(*Call, error) bool) {
		l := loops.Get().(*Loop)
		l.fn, l.args, l.nargs, l.cfg = fn, a, n, cfg
		l.run(yield)
		// A panic out of the loop body leaves l to the collector.
		loops.Put(l)
	}
}

// loops holds the Loops of Calls and DirectCalls between runs. Their runs
// count is never below 1, so each run has a fresh Call (newCall).
var loops = sync.Pool{New: func() any { return &Loop{runs: 1, pooled: true} }}
