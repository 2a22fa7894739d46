package ctx

import (
	"errors"
	"fmt"
	"iter"
	"unsafe"
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
func YieldFunc() uintptr { return entries[eYieldTable] }

// YieldFuncTag returns a C function that behaves as YieldFunc and also
// records tag (0 to NumYieldTags-1), which Call.Tag and Coroutine.Tag
// report: the way to tell apart the several callbacks of one library
// (expat's start, end and text handlers, say) that all yield to one loop.
// YieldFuncTag(0) is YieldFunc.
func YieldFuncTag(tag int) (uintptr, error) {
	if tag < 0 || tag >= NumYieldTags {
		return 0, fmt.Errorf("%w: %d (0 to %d)", ErrYieldTag, tag, NumYieldTags-1)
	}
	return entries[eYieldTable] + uintptr(tag)*thunkSize, nil
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
	if fn == 0 {
		return nil, ErrNilFunc
	}
	cfg := newConfig(opts)
	switch {
	case cfg.err != nil:
		return nil, cfg.err
	case len(args) > 6, len(cfg.fargs) > 8:
		return nil, ErrTooManyArgs
	}
	c, err := newCoroutine(entries[eCallBody], fn, &cfg)
	if err != nil {
		return nil, err
	}
	copy(c.co.args[:], args)
	for i, f := range cfg.fargs {
		c.co.fargs[i] = uintptr(f)
	}
	return c, nil
}

// A Call is one call that C code running under Calls made of YieldFunc:
// its arguments, and the answer the loop gives it. It is valid for one
// iteration; the same Call is reused for the next.
type Call struct {
	c      *Coroutine
	answer uintptr
}

// Tag returns the tag of the yield function called (see YieldFuncTag).
func (k *Call) Tag() int { return int(k.c.co.tag) }

// Arg returns the i'th argument (0 to 5) of the call.
func (k *Call) Arg(i int) uintptr { return k.c.co.args[i] }

// Ptr returns the i'th argument of the call as a pointer: to C memory,
// which the Go garbage collector does not know (a conversion of Arg in
// the caller would make go vet flag it).
func (k *Call) Ptr(i int) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&k.c.co.args[i]))
}

// Return sets the value the callback returns to the C code (0 unless set).
func (k *Call) Return(v uintptr) { k.answer = v }

// Calls runs the C function fn(args...) on a new coroutine and yields each
// call that fn, or a library it drives, makes of YieldFunc, in order.
// The loop body answers a call with Return; the callback returns that
// answer when the loop goes on. The sequence ends when fn returns.
//
// Breaking out of the loop (or a panic in it) closes the coroutine: the
// pending YieldFunc call returns CK_ECANCELED, so that C code that checks
// can stop its library and return (XML_StopParser, for instance); a body
// that calls it again instead is abandoned, its stack freed. A failure to
// make or resume the coroutine is yielded once, as (nil, err), and ends
// the sequence.
//
// Each iteration costs one Resume and allocates nothing.
func Calls(fn uintptr, args ...uintptr) iter.Seq2[*Call, error] {
	return calls(fn, args, nil)
}

// DirectCalls is Calls with the coroutine in direct mode (WithDirect):
// each iteration costs about 0.6 times as much, for C code that only computes
// between its callbacks and never calls Go. Read WithDirect's contract
// before choosing it.
func DirectCalls(fn uintptr, args ...uintptr) iter.Seq2[*Call, error] {
	return calls(fn, args, []Option{WithDirect()})
}

func calls(fn uintptr, args []uintptr, opts []Option) iter.Seq2[*Call, error] {
	return func(yield func(*Call, error) bool) {
		c, err := NewCall(fn, args, opts...)
		if err != nil {
			yield(nil, err)
			return
		}
		defer c.Close()
		k := &Call{c: c}
		for {
			_, done, err := c.Resume(k.answer)
			switch {
			case err != nil:
				yield(nil, err)
				return
			case done:
				return
			}
			k.answer = 0
			if !yield(k, nil) {
				return
			}
		}
	}
}
