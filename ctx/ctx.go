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
// itself through co->api->resume.
//
// From Go, Resume costs one runtime.cgocall: the switch runs on the
// thread's system stack, never on a goroutine stack. Go code never runs on
// a coroutine stack (the runtime cannot scan or grow such a stack); Go
// callbacks made with NewCallback are switched back to the thread's
// system stack before they enter Go.
//
// Misuse is reported, not fatal: resuming a dead or running coroutine,
// closing a running one, and yielding from outside the coroutine all
// return errors. A stack overflow that hits the guard page still ends the
// process (it cannot be recovered), but first prints a line naming the
// coroutine; one that skips the guard page is caught by a canary word at
// the low end of the stack when the coroutine next switches out.
package ctx

import (
	"errors"
	"fmt"
	"runtime"
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
	Dead                    // its body returned, or its stack was found corrupt
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
)

// StackError reports a coroutine whose canary word, at the low end of its
// stack, was overwritten: the body used more stack than it had and wrote
// past the guard page. The coroutine is dead; its stack is freed by Close.
type StackError struct {
	Name string // the coroutine's name (WithName, or "coroutine #N")
}

// Error names the coroutine and says what happened to its stack.
func (e *StackError) Error() string {
	return "ctx: " + e.Name + ": stack canary clobbered: the body overflowed its stack past the guard page"
}

// Return codes of ck_resume and ck_yield, as in co_asm.h and corokernel.h.
const (
	ckOK          = 0
	ckDone        = 1
	ckEInval      = -1
	ckERunning    = -2
	ckEDead       = -3
	ckENotRunning = -4
	ckEStack      = -5
)

// coro mirrors struct ck_coroutine (co_asm.h). It lives at the top of the
// coroutine's stack mapping, outside the Go heap, because C code and the
// assembly hold pointers to it.
type coro struct {
	api     uintptr
	user    uintptr
	value   uintptr
	status  uintptr
	ctx     uintptr
	caller  uintptr
	fn      uintptr
	arg     uintptr
	stackLo uintptr
	canary  uintptr
	prev    uintptr
	stackHi uintptr
	trapOp  uintptr
	trapA   uintptr
	trapB   uintptr
	inPtr   uintptr
	inTrap  uintptr
	_       uintptr
}

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
const APIVersion = 1

var api = apiTable{
	version: APIVersion,
	size:    uint32(unsafe.Sizeof(apiTable{})),
	yield:   yieldPC(),
	resume:  resumePC(),
	current: currentPC(),
}

var (
	goResumeFn = goResumePC()
	coEntryFn  = coEntryPC()
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

// Implemented in assembly with the C ABI; declared here for vet only.
func resume()
func yield()
func current()
func goResume()
func callbackCommon()

// Implemented in assembly with Go's ABI0.
func resumePC() uintptr
func yieldPC() uintptr
func currentPC() uintptr
func goResumePC() uintptr
func coEntryPC() uintptr
func callbackCommonPC() uintptr

// Option configures New.
type Option func(*config)

type config struct {
	size     int
	stack    *Stack
	name     string
	trapping bool
}

// WithStackSize sets the size of the stack New allocates (default
// DefaultStackSize). Sizes are rounded up to whole pages.
func WithStackSize(n int) Option { return func(c *config) { c.size = n } }

// WithStack runs the coroutine on s instead of a stack of its own. The
// stack stays the caller's: Close releases it for another coroutine but
// does not free it. A stack serves one live coroutine at a time.
func WithStack(s *Stack) Option { return func(c *config) { c.stack = s } }

// WithName names the coroutine in error messages and in the stack
// overflow report (default "coroutine #N").
func WithName(name string) Option { return func(c *config) { c.name = name } }

var nextID atomic.Uint64

// Coroutine is a stackful coroutine running native code. Its methods are
// not safe for concurrent use, except that a racing Resume is refused with
// ErrRunning rather than entering the coroutine twice.
type Coroutine struct {
	co    *coro
	stack *Stack
	own   bool // the stack was allocated by New and is freed by Close
	name  string
	clean runtime.Cleanup
}

// New creates a suspended coroutine whose first Resume calls the C-ABI
// function fn(co, arg) on a fresh stack.
func New(fn, arg uintptr, opts ...Option) (*Coroutine, error) {
	if fn == 0 {
		return nil, ErrNilFunc
	}
	cfg := config{size: DefaultStackSize}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Coroutine{name: cfg.name}
	if c.name == "" {
		c.name = fmt.Sprintf("coroutine #%d", nextID.Add(1))
	}
	if cfg.stack != nil {
		if err := cfg.stack.acquire(); err != nil {
			return nil, err
		}
		c.stack = cfg.stack
	} else {
		s, err := NewStack(cfg.size)
		if err != nil {
			return nil, err
		}
		s.inUse = true
		c.stack, c.own = s, true
	}
	s := c.stack
	s.label(c.name)

	// The record sits at the very top of the stack; the first frame goes
	// below it.
	c.co = (*coro)(unsafe.Pointer(&s.mem[len(s.mem)-int(coroSize)]))
	table := &api
	if cfg.trapping {
		table = &trapAPI
	}
	*c.co = coro{
		api:     uintptr(unsafe.Pointer(table)),
		fn:      fn,
		arg:     arg,
		status:  uintptr(Suspended),
		stackLo: s.lo(),
		canary:  s.canary,
		stackHi: s.hi(),
	}
	c.co.ctx = uintptr(corokernel.MakeContext(uintptr(unsafe.Pointer(c.co)), uintptr(s.Size()), coEntryFn))
	if c.own {
		c.clean = runtime.AddCleanup(c, func(s *Stack) { s.inUse = false; s.Free() }, s)
	}
	return c, nil
}

// Resume runs the coroutine until its body yields or returns, passing in:
// a fresh body finds it in co->value, a suspended one receives it from
// yield. It returns the word the body yielded, or its return value (the
// coroutine is then Dead). Resuming a dead coroutine returns ErrDead, a
// running one (from a callback inside its own body, or racing from another
// goroutine) ErrRunning, a closed one ErrClosed; a clobbered stack canary
// returns a *StackError.
func (c *Coroutine) Resume(in uintptr) (uintptr, error) {
	co := c.co
	if co == nil {
		return 0, ErrClosed
	}
	co.value = in
	if r := cgocall(goResumeFn, unsafe.Pointer(co)); r != ckOK && r != ckDone {
		return 0, c.codeErr(r)
	}
	return co.value, nil
}

// codeErr is the error for a failed resume's code.
func (c *Coroutine) codeErr(r int32) error {
	switch r {
	case ckEDead:
		return ErrDead
	case ckERunning:
		return ErrRunning
	case ckEStack:
		return &StackError{Name: c.name}
	}
	return fmt.Errorf("%w: %d", ErrInternal, r)
}

// Status reports whether the coroutine is suspended, running or dead. A
// closed coroutine is dead.
func (c *Coroutine) Status() Status {
	if c.co == nil {
		return Dead
	}
	return Status(atomic.LoadUintptr(&c.co.status))
}

// Name returns the coroutine's name.
func (c *Coroutine) Name() string { return c.name }

// C returns the coroutine's struct ck_coroutine, for C code that resumes
// it through co->api->resume. It is valid until Close.
func (c *Coroutine) C() unsafe.Pointer { return unsafe.Pointer(c.co) }

// Close releases the stack of a suspended or dead coroutine; a suspended
// body is abandoned where it stopped (native frames cannot be unwound).
// Closing a running coroutine returns ErrRunning, closing twice ErrClosed.
func (c *Coroutine) Close() error {
	if c.co == nil {
		return ErrClosed
	}
	if c.Status() == Running {
		return ErrRunning
	}
	c.co = nil
	s := c.stack
	s.inUse = false
	if c.own {
		c.clean.Stop()
		return s.Free()
	}
	return nil
}
