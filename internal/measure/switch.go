package measure

import (
	"fmt"
	"iter"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/corokernel/corokernel/internal/kctx"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// This file measures switches: one operation is one round trip, a resume
// and the yield back (two switches), or a call and its return.

// sink keeps results alive so that the compiler cannot drop the work.
var sink uintptr

//go:noinline
func inc(x uintptr) uintptr { return x + 1 }

// FuncCall makes n calls of a Go function that is not inlined: the floor
// under every other mechanism.
func FuncCall(n int) (time.Duration, error) {
	var x uintptr
	start := time.Now()
	for range n {
		x = inc(x)
	}
	d := time.Since(start)
	sink = x
	return d, nil
}

// Cgocall makes n runtime.cgocalls of libc abs: the way from Go to native
// code and back, without a switch.
func Cgocall(n int) (time.Duration, error) {
	abs, err := libcSym("abs")
	if err != nil {
		return 0, err
	}
	var x int
	start := time.Now()
	for range n {
		corokernel.Call(abs, unsafe.Pointer(&x))
	}
	return time.Since(start), nil
}

// NativeLoop makes n round trips between two contexts of the machine
// layer (ck_make_context, ck_jump_context) ping-ponging in native code,
// all in one cgocall.
func NativeLoop(n int) (time.Duration, error) {
	return jumpLoop(corokernel.MakeContextFn, corokernel.JumpContextFn, n)
}

// Boost makes n round trips with boost.context's jump_fcontext from
// Debian's libboost-context, in the same native loop as NativeLoop.
func Boost(n int) (time.Duration, error) {
	b := boost()
	if b.err != nil {
		return 0, b.err
	}
	return jumpLoop(b.make, b.jump, n)
}

type boostLib struct {
	make, jump uintptr
	version    string
	err        error
}

// boost finds make_fcontext and jump_fcontext in Debian's libboost-context.
var boost = sync.OnceValue(func() (b boostLib) {
	names, _ := filepath.Glob("/usr/lib/*/libboost_context.so*")
	names = append(names, "libboost_context.so")
	var h uintptr
	for _, n := range names {
		var err error
		if h, err = purego.Dlopen(n, purego.RTLD_NOW); err == nil {
			if real, err := filepath.EvalSymlinks(n); err == nil {
				_, b.version, _ = strings.Cut(filepath.Base(real), ".so.")
			}
			break
		}
	}
	if h == 0 {
		b.err = Unavailable("no libboost_context.so: install Debian's libboost-context-dev (.ci/run does)")
		return b
	}
	var err error
	if b.make, err = purego.Dlsym(h, "make_fcontext"); err == nil {
		b.jump, err = purego.Dlsym(h, "jump_fcontext")
	}
	if err != nil {
		b.err = Unavailable(fmt.Sprintf("libboost_context.so: %v", err))
	}
	return b
})

// mapStack returns an anonymous mapping of size bytes, outside the Go heap.
func mapStack(size int) ([]byte, error) {
	return unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

// fcontext is a context made by an fcontext-compatible make function on
// a stack, running cabi.Pong, with the arguments of cabi.JumpLoop.
type fcontext struct{ jump, ctx, n, init, flags uintptr }

// newFcontext makes a context on stack with make and enters it once, so
// that it is suspended in Pong.
func newFcontext(make, jump uintptr, stack []byte) *fcontext {
	top := uintptr(unsafe.Pointer(&stack[0])) + uintptr(len(stack))
	r, _, _ := purego.SyscallN(make, top, uintptr(len(stack)), cabi.Pong)
	a := &fcontext{jump: jump, ctx: r, init: 1}
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(a)) // hands Pong the jump function
	return a
}

// NativeLoopFlagsDiffer is NativeLoop with the two contexts' MXCSR status
// flags different (the inexact flag set on one side only), as they are
// once one side does inexact floating-point arithmetic and the other does
// not: a switch that restores the whole MXCSR pays for it every time.
func NativeLoopFlagsDiffer(n int) (time.Duration, error) {
	return jumpLoopFlags(corokernel.MakeContextFn, corokernel.JumpContextFn, n, 1)
}

// BoostFlagsDiffer is Boost with the status flags different.
func BoostFlagsDiffer(n int) (time.Duration, error) {
	b := boost()
	if b.err != nil {
		return 0, b.err
	}
	return jumpLoopFlags(b.make, b.jump, n, 1)
}

// The parts of a round trip, each measured alone in a native loop (one
// cgocall), so that a mode's time can be broken into them: ctx's
// BenchmarkRoundTripParts runs these beside BenchmarkRoundTrip's modes.

// BareSwitch makes n round trips with the machine layer's switch minus
// the FP control state: NativeLoop - BareSwitch is the FP control state,
// and BareSwitch the switch itself.
func BareSwitch(n int) (time.Duration, error) {
	return jumpLoop(corokernel.MakeContextFn, cabi.BareJump, n)
}

// RetSwitch is BareSwitch with every crossing a return on the other
// stack, which the CPU mispredicts: (RetSwitch - BareSwitch)/2 is one
// mispredicted return.
func RetSwitch(n int) (time.Duration, error) {
	return jumpLoop(corokernel.MakeContextFn, cabi.RetJump, n)
}

// Claim makes n claims of a word with a locked compare-and-swap, each
// released by a plain store, as every resume claims its coroutine and
// publishes its status.
func Claim(n int) (time.Duration, error) {
	a := &struct {
		word *uintptr
		n    uintptr
	}{new(uintptr), uintptr(n)}
	start := time.Now()
	corokernel.Call(cabi.ClaimLoop, unsafe.Pointer(a))
	return time.Since(start), nil
}

// ThreadBlock makes n pthread_getspecific lookups of a key set on the
// thread, as every resume from Go looks up its thread block.
func ThreadBlock(n int) (time.Duration, error) {
	get, err := libcSym("pthread_getspecific")
	if err != nil {
		return 0, err
	}
	set, err := libcSym("pthread_setspecific")
	if err != nil {
		return 0, err
	}
	key, err := partsKey()
	if err != nil {
		return 0, err
	}
	a := &struct{ get, key, n, set uintptr }{get, key, uintptr(n), set}
	start := time.Now()
	corokernel.Call(cabi.TLSLoop, unsafe.Pointer(a))
	return time.Since(start), nil
}

// partsKey is ThreadBlock's pthread key, made once.
var partsKey = sync.OnceValues(func() (uintptr, error) {
	create, err := libcSym("pthread_key_create")
	if err != nil {
		return 0, err
	}
	var key uint64
	if r, _, _ := purego.SyscallN(create, uintptr(unsafe.Pointer(&key)), 0); r != 0 {
		return 0, fmt.Errorf("pthread_key_create: errno %d", r)
	}
	return uintptr(key), nil
})

// jumpLoop runs cabi.JumpLoop against cabi.Pong with the given
// fcontext-compatible make and jump functions: n round trips in native
// code, in one cgocall.
func jumpLoop(make, jump uintptr, n int) (time.Duration, error) {
	return jumpLoopFlags(make, jump, n, 0)
}

func jumpLoopFlags(make, jump uintptr, n int, flags uintptr) (time.Duration, error) {
	stack, err := mapStack(64 << 10)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(stack)
	a := newFcontext(make, jump, stack)
	a.n, a.flags = uintptr(n), flags
	start := time.Now()
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(a))
	return time.Since(start), nil
}

// libc is the C library's handle.
var libc = sync.OnceValues(func() (uintptr, error) {
	name := "libc.so.6"
	if runtime.GOOS == "darwin" {
		name = "/usr/lib/libSystem.B.dylib"
	}
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
})

func libcSym(name string) (uintptr, error) {
	h, err := libc()
	if err != nil {
		return 0, Unavailable(fmt.Sprintf("no C library: %v", err))
	}
	p, err := purego.Dlsym(h, name)
	if err != nil {
		return 0, Unavailable(fmt.Sprintf("no %s in the C library: %v", name, err))
	}
	return p, nil
}

// glibc's ucontext_t, on amd64 and arm64 alike: uc_link at 8,
// uc_stack.ss_sp at 16, uc_stack.ss_size at 32. The whole struct is under
// ucSize (968 bytes on amd64, 4560 on arm64).
const (
	ucSize      = 8 << 10
	ucLink      = 8
	ucStackSP   = 16
	ucStackSize = 32
	ucStack     = 64 << 10 // each coroutine's stack
)

type ucontextLib struct{ get, make, swap uintptr }

// ucontextFuncs returns glibc's getcontext, makecontext and swapcontext.
func ucontextFuncs() (u ucontextLib, err error) {
	if runtime.GOOS != "linux" {
		return u, Unavailable("ucontext: only glibc's ucontext_t layout is known")
	}
	for _, f := range []struct {
		p    *uintptr
		name string
	}{{&u.get, "getcontext"}, {&u.make, "makecontext"}, {&u.swap, "swapcontext"}} {
		if *f.p, err = libcSym(f.name); err != nil {
			return u, err
		}
	}
	return u, nil
}

// swapArgs are the arguments of cabi.SwapLoop.
type swapArgs struct{ swap, main, co, n uintptr }

// newUcontext makes a context in mem (ucSize for the ucontext_t, the rest
// its stack) that runs cabi.SwapBody, swapping back to main, and enters it
// once, so that it is suspended in SwapBody.
func newUcontext(u ucontextLib, main, mem []byte) (*swapArgs, error) {
	co := unsafe.Pointer(&mem[0])
	if r, _, _ := purego.SyscallN(u.get, uintptr(co)); r != 0 {
		return nil, fmt.Errorf("ucontext: getcontext failed")
	}
	w := func(off int, v uintptr) { *(*uintptr)(unsafe.Pointer(&mem[off])) = v }
	w(ucLink, 0)
	w(ucStackSP, uintptr(unsafe.Pointer(&mem[ucSize])))
	w(ucStackSize, uintptr(len(mem)-ucSize))
	// SwapBody's argument {swap, main, co}, at the end of the ucontext_t's
	// room, out of the Go heap.
	body := (*[3]uintptr)(unsafe.Pointer(&mem[ucSize-24]))
	*body = [3]uintptr{u.swap, uintptr(unsafe.Pointer(&main[0])), uintptr(co)}
	purego.SyscallN(u.make, uintptr(co), cabi.SwapBody, 1, uintptr(unsafe.Pointer(body)))
	a := &swapArgs{swap: u.swap, main: body[1], co: body[2], n: 1}
	corokernel.Call(cabi.SwapLoop, unsafe.Pointer(a))
	return a, nil
}

// Ucontext makes n round trips with glibc's swapcontext in the same kind
// of native loop as NativeLoop: cabi.SwapLoop against cabi.SwapBody.
func Ucontext(n int) (time.Duration, error) {
	u, err := ucontextFuncs()
	if err != nil {
		return 0, err
	}
	mem, err := mapStack(ucSize + ucSize + ucStack)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(mem)
	a, err := newUcontext(u, mem[:ucSize], mem[ucSize:])
	if err != nil {
		return 0, err
	}
	a.n = uintptr(n)
	start := time.Now()
	corokernel.Call(cabi.SwapLoop, unsafe.Pointer(a))
	return time.Since(start), nil
}

// GoDriven makes n round trips into a ctx coroutine from Go: Resume, and
// the body (cabi.Count) yields back.
func GoDriven(n int) (time.Duration, error) { return goDriven(n) }

// GoDirect is GoDriven with the coroutine in direct mode (ctx.WithDirect):
// no cgocall.
func GoDirect(n int) (time.Duration, error) { return goDriven(n, ctx.WithDirect()) }

// CResume makes n round trips into a ctx coroutine from native code:
// cabi.ResumeLoop calls ck_resume n times, the body (cabi.Count) yields
// back; one cgocall in all. It is go-driven without Go's part: the thread
// block, the claim and the switch (on amd64 one mispredicted return, on
// arm64 two).
func CResume(n int) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := ctx.New(cabi.Count, 0)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	co := uintptr(c.C())
	start := time.Now()
	if r, _, _ := purego.SyscallN(cabi.ResumeLoop, co, uintptr(n)); int32(r) != 0 && n > 0 {
		return 0, fmt.Errorf("ctx: ck_resume from native code: %d", int32(r))
	}
	return time.Since(start), nil
}

func goDriven(n int, opts ...ctx.Option) (time.Duration, error) {
	// The body is bound to the thread it first runs on: keep this
	// goroutine there, as every program that resumes a coroutine must.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c, err := ctx.New(cabi.Count, 0, opts...)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	for i := range n {
		if v, _, err := c.Resume(0); err != nil || v != uintptr(i) {
			return 0, fmt.Errorf("ctx: resume %d: %d, %v", i, v, err)
		}
	}
	return time.Since(start), nil
}

// Cycle makes n traps of coroutines in a ring (kctx.Ring) of size
// coroutines, each trap followed by the switch to the next coroutine, all
// in native code: what a native kernel task's Yield costs.
func Cycle(size, n int) (time.Duration, error) {
	r := door.NewRing()
	for range size {
		c, err := door.NewTrapping(cabi.TrapLoop, 1, "trap loop", ctx.MinStackSize)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		r.Add(c, 0)
	}
	start := time.Now()
	i := 0
	for done := 0; done < n; {
		next, count, more, _, err := r.Cycle(i, n-done, 1)
		if err != nil || !more {
			return 0, fmt.Errorf("ctx: cycle stopped after %d traps: %v", done+count, err)
		}
		i, done = next, done+count
	}
	return time.Since(start), nil
}

// Pull makes n round trips into one of the runtime's coroutines: next,
// and the body yields back.
func Pull(n int) (time.Duration, error) {
	next, stop := iter.Pull(count)
	defer stop()
	start := time.Now()
	for i := range n {
		if v, ok := next(); !ok || v != uintptr(i) {
			return 0, fmt.Errorf("iter.Pull: next %d: %d", i, v)
		}
	}
	return time.Since(start), nil
}

// count yields 0, 1, 2, ...
func count(yield func(uintptr) bool) {
	for i := uintptr(0); yield(i); i++ {
	}
}

// Channel makes n round trips to another goroutine: a request and a reply
// over unbuffered channels.
func Channel(n int) (time.Duration, error) {
	req, resp := make(chan struct{}), make(chan uintptr)
	go serve(req, resp)
	defer close(req)
	start := time.Now()
	for i := range n {
		req <- struct{}{}
		if v := <-resp; v != uintptr(i) {
			return 0, fmt.Errorf("channel: reply %d: %d", i, v)
		}
	}
	return time.Since(start), nil
}

// serve answers each request on req with 0, 1, 2, ... on resp, until req
// is closed.
func serve(req <-chan struct{}, resp chan<- uintptr) {
	for i := uintptr(0); ; i++ {
		if _, ok := <-req; !ok {
			return
		}
		resp <- i
	}
}

// StepGen is the benchmark generator of cdemo, yielding 0, 1, 2, ..., as
// a Go step function: the state machine of cdemo's ccr generator, its
// resume point in a field.
type StepGen struct {
	state int
	i     uintptr
}

// Next resumes the generator and returns the value it yields. It is not
// inlined, so that a resume is a call, as in the C loops.
//
//go:noinline
func (g *StepGen) Next() uintptr {
	switch g.state {
	case 0:
		g.i = 0
		g.state = 1
	default:
		g.i++
	}
	return g.i
}

// GoStep makes n resumes of a StepGen.
func GoStep(n int) (time.Duration, error) {
	var g StepGen
	var sum uintptr
	start := time.Now()
	for range n {
		sum += g.Next()
	}
	d := time.Since(start)
	sink = sum
	return d, nil
}

// CLib is the part of cdemo's *Lib that the C rows use. (This package
// cannot import cdemo: cdemo's own benchmarks import this package.)
type CLib interface {
	// Run resumes a fresh instance of the named generator n times in
	// one C loop; see cdemo.(*Lib).Run.
	Run(name string, n int, out []uintptr) (count int, sum uintptr, err error)
	// Sym returns the address of an exported C symbol.
	Sym(name string) (uintptr, error)
}

// Generator makes n resumes of cdemo's named generator in one C loop
// (one call from Go).
func Generator(lib CLib, name string, n int) (time.Duration, error) {
	start := time.Now()
	k, sum, err := lib.Run(name, n, nil)
	d := time.Since(start)
	if err == nil && k != n {
		err = fmt.Errorf("cdemo: generator %s gave %d values, want %d", name, k, n)
	}
	sink = sum
	return d, err
}

// door is ctx's door for kernel tasks (traps and rings), as package
// kernel gets it.
var door = ctx.Kernel(kctx.Key{})
