package ctx_test

import (
	"fmt"
	"iter"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// BenchmarkRoundTrip: one op is one resume plus one yield (two switches).
// Compare the rows of one run, not nanoseconds across machines:
//
//	go test -run '^$' -bench BenchmarkRoundTrip ./ctx
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("native", func(b *testing.B) { benchJumpLoop(b, corokernel.MakeContextFn, corokernel.JumpContextFn) })
	b.Run("go-driven", benchGoDriven)
	b.Run("iter.Pull", benchPull)
	b.Run("channel", benchChannel)
	b.Run("boost-fcontext", func(b *testing.B) {
		make, jump, err := boostFcontext()
		if err != nil {
			b.Skip(err)
		}
		benchJumpLoop(b, make, jump)
	})
	b.Run("ucontext", benchUcontext)
}

func reportSwitch(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2, "ns/switch")
}

// mapStack returns an anonymous mapping for the machine-level loops.
func mapStack(b *testing.B, n int) []byte {
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Munmap(m) })
	return m
}

// benchJumpLoop runs cabi.JumpLoop against cabi.Pong with the given
// fcontext-compatible make and jump functions: all b.N round trips in
// native code, in one cgocall.
func benchJumpLoop(b *testing.B, make, jump uintptr) {
	stack := mapStack(b, 64<<10)
	top := uintptr(unsafe.Pointer(&stack[0])) + uintptr(len(stack))
	var mk struct{ top, size, fn, ret uintptr }
	mk.top, mk.size, mk.fn = top, uintptr(len(stack)), cabi.Pong
	r, _, _ := purego.SyscallN(make, mk.top, mk.size, mk.fn)
	a := struct{ j, ctx, n, init uintptr }{jump, r, 0, 1}
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(&a)) // hand Pong the jump function
	a.n = uintptr(b.N)
	b.ResetTimer()
	corokernel.Call(cabi.JumpLoop, unsafe.Pointer(&a))
	b.StopTimer()
	reportSwitch(b)
}

func benchGoDriven(b *testing.B) {
	c, err := ctx.New(cabi.Count, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := c.Resume(0); err != nil || v != uintptr(i) {
			b.Fatalf("resume %d: %d, %v", i, v, err)
		}
	}
	b.StopTimer()
	reportSwitch(b)
}

func benchPull(b *testing.B) {
	next, stop := iter.Pull(func(yield func(uintptr) bool) {
		for i := uintptr(0); yield(i); i++ {
		}
	})
	defer stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, ok := next(); !ok || v != uintptr(i) {
			b.Fatalf("next %d: %d", i, v)
		}
	}
	b.StopTimer()
	reportSwitch(b)
}

func benchChannel(b *testing.B) {
	req, resp := make(chan struct{}), make(chan uintptr)
	go func() {
		for i := uintptr(0); ; i++ {
			if _, ok := <-req; !ok {
				return
			}
			resp <- i
		}
	}()
	defer close(req)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req <- struct{}{}
		if v := <-resp; v != uintptr(i) {
			b.Fatalf("reply %d: %d", i, v)
		}
	}
	b.StopTimer()
	reportSwitch(b)
}

// boostFcontext finds make_fcontext and jump_fcontext in Debian's
// libboost-context.
func boostFcontext() (make, jump uintptr, err error) {
	names, _ := filepath.Glob("/usr/lib/*/libboost_context.so*")
	names = append(names, "libboost_context.so")
	var h uintptr
	for _, n := range names {
		if h, err = purego.Dlopen(n, purego.RTLD_NOW); err == nil {
			break
		}
	}
	if h == 0 {
		return 0, 0, errBoost
	}
	if make, err = purego.Dlsym(h, "make_fcontext"); err != nil {
		return 0, 0, err
	}
	jump, err = purego.Dlsym(h, "jump_fcontext")
	return make, jump, err
}

var errBoost = errorString("no libboost_context.so: install Debian's libboost-context-dev (.ci/run does)")

type errorString string

func (e errorString) Error() string { return string(e) }

// benchUcontext drives glibc's swapcontext with the same kind of native
// loop: cabi.SwapLoop against cabi.SwapBody.
func benchUcontext(b *testing.B) {
	h := libc(b)
	sym := func(n string) uintptr {
		p, err := purego.Dlsym(h, n)
		if err != nil {
			b.Skipf("no %s in libc: %v", n, err)
		}
		return p
	}
	getcontext, makecontext, swapcontext := sym("getcontext"), sym("makecontext"), sym("swapcontext")
	// ucontext_t is under 8 KiB on both architectures (968 bytes on amd64,
	// 4560 on arm64); mapped memory keeps it out of the Go heap.
	mem := mapStack(b, 16<<10+64<<10)
	mainCtx, coCtx, stack := &mem[0], &mem[8<<10], mem[16<<10:]
	if r, _, _ := purego.SyscallN(getcontext, uintptr(unsafe.Pointer(coCtx))); r != 0 {
		b.Fatal("getcontext failed")
	}
	// uc_link at 8, uc_stack.ss_sp at 16, uc_stack.ss_size at 32 (glibc,
	// amd64 and arm64 alike).
	w := func(off int, v uintptr) { *(*uintptr)(unsafe.Pointer(&mem[8<<10+off])) = v }
	w(8, 0)
	w(16, uintptr(unsafe.Pointer(&stack[0])))
	w(32, uintptr(len(stack)))
	body := &struct{ swap, main, co uintptr }{swapcontext, uintptr(unsafe.Pointer(mainCtx)), uintptr(unsafe.Pointer(coCtx))}
	purego.SyscallN(makecontext, uintptr(unsafe.Pointer(coCtx)), cabi.SwapBody, 1, uintptr(unsafe.Pointer(body)))
	a := struct{ swap, main, co, n uintptr }{swapcontext, body.main, body.co, uintptr(b.N)}
	b.ResetTimer()
	corokernel.Call(cabi.SwapLoop, unsafe.Pointer(&a))
	b.StopTimer()
	reportSwitch(b)
	_ = body
}

// BenchmarkCgocall is the floor under go-driven: one runtime.cgocall of a
// C function that returns at once (libc abs), no switch at all.
func BenchmarkCgocall(b *testing.B) {
	abs, err := purego.Dlsym(libc(b), "abs")
	if err != nil {
		b.Skip(err)
	}
	var x int
	for i := 0; i < b.N; i++ {
		corokernel.Call(abs, unsafe.Pointer(&x))
	}
}

// BenchmarkCycle: one op is one trap and the switch to the next coroutine
// of a ring, all in native code (Ring.Cycle), for rings of 1 and 1000
// coroutines. This is what a native kernel task's Yield costs.
func BenchmarkCycle(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("ring=%d", n), func(b *testing.B) {
			var r ctx.Ring
			for i := 0; i < n; i++ {
				c, err := ctx.New(cabi.TrapLoop, 1, ctx.Trapping(), ctx.WithStackSize(ctx.MinStackSize))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				r.Add(c, 0)
			}
			b.ResetTimer()
			i := 0
			for done := 0; done < b.N; {
				next, count, more, err := r.Cycle(i, b.N-done, 1)
				if err != nil || !more {
					b.Fatalf("cycle stopped: %v", err)
				}
				i, done = next, done+count
			}
		})
	}
}
