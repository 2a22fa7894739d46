package ctx

import (
	"fmt"
	"math"
	"syscall"
)

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
