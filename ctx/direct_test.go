package ctx_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
)

// Direct mode (WithDirect): Resume without cgocall.

// directSort sorts xs with libc qsort under DirectCalls, the loop
// answering every comparison; it returns how many it answered.
func directSort(t testing.TB, xs []int32) int {
	qsort, err := purego.Dlsym(libc(t), "qsort")
	if err != nil {
		t.Fatal(err)
	}
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	n := 0
	for call, err := range ctx.DirectCalls(qsort, uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, ctx.YieldFunc()) {
		if err != nil {
			t.Error(err)
			return n
		}
		a, b := *(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1))
		call.Return(uintptr(cmp.Compare(a, b)))
		n++
	}
	return n
}

// TestDirect: a direct coroutine runs a C function to its end, and
// DirectCalls drives qsort through every comparison.
func TestDirect(t *testing.T) {
	labs, _ := purego.Dlsym(libc(t), "labs")
	c, err := ctx.NewCall(labs, []uintptr{^uintptr(6)}, ctx.WithDirect())
	if err != nil {
		t.Fatal(err)
	}
	if v, done, err := c.Resume(0); v != 7 || !done || err != nil {
		t.Fatalf("labs(-7) on a direct coroutine: %d, %v, %v", v, done, err)
	}
	if _, _, err := c.Resume(0); !errors.Is(err, ctx.ErrDead) {
		t.Errorf("resume after the end: %v, want ErrDead", err)
	}
	c.Close()
	xs := rand.Perm(500)
	ys := make([]int32, len(xs))
	for i, x := range xs {
		ys[i] = int32(x)
	}
	if n := directSort(t, ys); n == 0 || !slices.IsSorted(ys) {
		t.Fatalf("qsort under DirectCalls: %d comparisons, sorted %v", n, slices.IsSorted(ys))
	}
}

// TestDirectRefusesCallback: a Go callback from a direct body is not run;
// Resume returns ErrRefused and the coroutine is dead. So is a coroutine
// that the direct body resumed from C and whose body made the callback.
// Afterwards the same thread runs callbacks of ordinary coroutines again.
func TestDirectRefusesCallback(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ran atomic.Int64
	cb, err := ctx.NewCallback(func(a, b *int32) int { ran.Add(1); return cmp.Compare(*a, *b) })
	if err != nil {
		t.Fatal(err)
	}
	qsort, _ := purego.Dlsym(libc(t), "qsort")
	xs := []int32{3, 1, 2}
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	args := []uintptr{uintptr(unsafe.Pointer(&xs[0])), 3, 4, cb}

	c, err := ctx.NewCall(qsort, args, ctx.WithDirect())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Resume(0); !errors.Is(err, ctx.ErrRefused) {
		t.Fatalf("a Go callback from a direct body: %v, want ErrRefused", err)
	}
	if ran.Load() != 0 || c.Status() != ctx.Dead {
		t.Fatalf("callback ran %d times, coroutine %v; want 0 and dead", ran.Load(), c.Status())
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after a refusal: %v", err)
	}

	// Nested: the direct body is ck_resume(inner, 0, NULL); inner's qsort
	// makes the callback.
	inner, err := ctx.NewCall(qsort, args)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := ctx.NewCall(table().resume, []uintptr{uintptr(inner.C()), 0, 0}, ctx.WithDirect())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := outer.Resume(0); !errors.Is(err, ctx.ErrRefused) {
		t.Fatalf("a callback two coroutines deep under a direct resume: %v, want ErrRefused", err)
	}
	if ran.Load() != 0 || outer.Status() != ctx.Dead || inner.Status() != ctx.Dead {
		t.Fatalf("callback ran %d times; outer %v, inner %v; want 0, dead, dead", ran.Load(), outer.Status(), inner.Status())
	}
	if currentC() != 0 {
		t.Error("the thread's current coroutine outlived the refusal")
	}
	outer.Close()
	inner.Close()

	// The thread is clean: an ordinary coroutine's callbacks run.
	c2, err := ctx.NewCall(qsort, args)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, done, err := c2.Resume(0); !done || err != nil || ran.Load() == 0 || !slices.IsSorted(xs) {
		t.Fatalf("ordinary coroutine after a refusal: done %v, %v, %d callbacks, %v", done, err, ran.Load(), xs)
	}
}

// TestDirectCallsRefused: DirectCalls over a body that calls Go ends its
// loop with ErrRefused; racing Resumes of a direct coroutine are refused
// as ordinary ones are.
func TestDirectCallsRefused(t *testing.T) {
	cb, err := ctx.NewCallback(func(a, b *int32) int { return cmp.Compare(*a, *b) })
	if err != nil {
		t.Fatal(err)
	}
	qsort, _ := purego.Dlsym(libc(t), "qsort")
	xs := []int32{2, 1}
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	var last error
	for _, err := range ctx.DirectCalls(qsort, uintptr(unsafe.Pointer(&xs[0])), 2, 4, cb) {
		last = err
	}
	if !errors.Is(last, ctx.ErrRefused) {
		t.Fatalf("DirectCalls with a Go comparator: %v, want ErrRefused", last)
	}

	c := mustNew(t, cabi.Echo, 0, ctx.WithDirect(), ctx.WithAnyThread())
	c.Resume(0)
	raceResumes(t, c, 4)
}

// TestDirectUnderSignals: goroutines sort with DirectCalls while the
// garbage collector runs in a loop, SIGURG (the runtime's preemption
// signal) arrives every 100 µs and a CPU profile takes SIGPROF samples.
// Every sort is right, the program lives, and the profile has samples
// charged to the C code.
func TestDirectUnderSignals(t *testing.T) {
	// At least this many sorts per goroutine and this long, so that the
	// profile has samples (100 a second per CPU); at most 50 times the
	// sorts.
	rounds, least := 2000, time.Second
	if testing.Short() {
		rounds, least = 200, 500*time.Millisecond
	}
	start := time.Now()
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skipf("no CPU profile: %v", err)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // GC loop
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	go func() { // SIGURG storm
		defer bg.Done()
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				syscall.Kill(os.Getpid(), syscall.SIGURG)
			}
		}
	}()
	var wg sync.WaitGroup
	var bad, comparisons atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for r := 0; r < 50*rounds && (r < rounds || time.Since(start) < least); r++ {
				xs := make([]int32, 300)
				for i := range xs {
					xs[i] = rng.Int32()
				}
				comparisons.Add(int64(directSort(t, xs)))
				if !slices.IsSorted(xs) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	pprof.StopCPUProfile()
	t.Logf("%d comparisons, each a direct round trip; profile %d bytes", comparisons.Load(), prof.Len())
	if bad.Load() != 0 {
		t.Fatalf("%d sorts came out wrong", bad.Load())
	}
	// The profile's string table names where the samples fell: time in
	// the C body is charged to _ExternalCode.
	z, err := gzip.NewReader(&prof)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("_ExternalCode")) {
		t.Error("the CPU profile has no sample in the direct bodies (_ExternalCode)")
	}
}

// TestFaultReport: a fault in native code on a coroutine's stack names the
// signal, the address and the coroutine before the process ends, in
// ordinary and in direct mode alike (the Go runtime cannot unwind a direct
// body's frames, so there the handler ends the process itself): a call of
// address 16 and a store through NULL.
func TestFaultReport(t *testing.T) {
	memset := libcSym("memset")
	for _, c := range []struct {
		name string
		fn   uintptr
		args []uintptr
		opts []ctx.Option
		want string
	}{
		{"WildCall", 16, nil, nil, "corokernel: SIGSEGV at address 0x0000000000000010 in wild\n"},
		{"WildCallDirect", 16, nil, []ctx.Option{ctx.WithDirect()}, "corokernel: SIGSEGV at address 0x0000000000000010 in wild (direct mode)\n"},
		{"NullStore", memset, []uintptr{0, 0, 8}, nil, "corokernel: SIGSEGV at address 0x0000000000000000 in wild\n"},
		{"NullStoreDirect", memset, []uintptr{0, 0, 8}, []ctx.Option{ctx.WithDirect()}, "corokernel: SIGSEGV at address 0x0000000000000000 in wild (direct mode)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			overflows(t, "TestFaultReport/"+c.name, func() {
				co, err := ctx.NewCall(c.fn, c.args, append(c.opts, ctx.WithName("wild"))...)
				if err != nil {
					panic(err)
				}
				co.Resume(0) // a thread block first, so that even the first resume is direct
				co2, _ := ctx.NewCall(c.fn, c.args, append(c.opts, ctx.WithName("wild"))...)
				co2.Resume(0)
			}, c.want)
		})
	}
}

// TestDirectEINTR: the runtime's preemption signal (SIGURG) reaches a
// direct body, which is running as far as the runtime knows, so a system
// call that signals interrupt returns EINTR there (nanosleep under a GC
// loop, which preempts every running goroutine); an ordinary body's
// goroutine is in a system call, which the runtime never signals, and it
// sleeps in full. Both are documented (WithDirect); the test checks the
// ordinary body always, and that the direct one either slept or failed
// with EINTR and nothing worse.
func TestDirectEINTR(t *testing.T) {
	nanosleep := libcSym("nanosleep")
	var done atomic.Bool
	go func() {
		for !done.Load() {
			runtime.GC()
		}
	}()
	defer done.Store(true)
	ts := []int64{0, 100_000_000} // struct timespec: 100 ms
	var pins ctx.Pins
	defer pins.Unpin()
	req := pins.Words([]uintptr{uintptr(ts[0]), uintptr(ts[1])})
	for _, direct := range []bool{false, true} {
		var opts []ctx.Option
		if direct {
			opts = append(opts, ctx.WithDirect())
		}
		loop := ctx.NewLoop(nanosleep, []uintptr{req, 0}, opts...)
		start := time.Now()
		for _, err := range loop.Calls() {
			t.Fatal(err)
		}
		slept, r := time.Since(start), loop.Result()
		t.Logf("direct %v: nanosleep = %d, errno %v, after %v", direct, int32(r.Value), r.Errno, slept)
		switch {
		case !r.Returned:
			t.Fatalf("direct %v: nanosleep did not return: %+v", direct, r)
		case !direct && (r.Value != 0 || slept < 100*time.Millisecond):
			t.Errorf("ordinary body: nanosleep = %d (%v) after %v; want 0 after 100ms", int32(r.Value), r.Errno, slept)
		case direct && r.Value != 0 && (int32(r.Value) != -1 || r.Errno != syscall.EINTR):
			t.Errorf("direct body: nanosleep = %d, errno %v; want 0, or -1 with EINTR", int32(r.Value), r.Errno)
		}
	}
}

// TestDirectFirstResumeRefuses: on a thread that has never run a
// coroutine, a direct body's Go callback is refused on the first resume
// too (it used to go through cgocall there, and the callback ran).
func TestDirectFirstResumeRefuses(t *testing.T) {
	var ran atomic.Int64
	cb, err := ctx.NewCallback(func(a, b *int32) int { ran.Add(1); return cmp.Compare(*a, *b) })
	if err != nil {
		t.Fatal(err)
	}
	qsort := libcSym("qsort")
	fresh := 0
	for range 50 {
		res := make(chan error, 1)
		go func() {
			// A goroutine that ends locked takes its thread with it, so
			// the next ones get new threads.
			runtime.LockOSThread()
			if !ctx.ThreadIsFresh() {
				res <- nil
				return
			}
			xs := []int32{2, 1}
			var pins ctx.Pins
			defer pins.Unpin()
			c, err := ctx.NewCall(qsort, []uintptr{pins.Words([]uintptr{uintptr(xs[0]) | uintptr(xs[1])<<32}), 2, 4, cb}, ctx.WithDirect())
			if err != nil {
				res <- err
				return
			}
			defer c.Close()
			_, _, err = c.Resume(0)
			res <- fmt.Errorf("fresh: %w", err)
		}()
		switch err := <-res; {
		case err == nil:
		case !errors.Is(err, ctx.ErrRefused):
			t.Fatalf("a direct body's callback on a thread's first resume: %v, want ErrRefused", err)
		default:
			fresh++
		}
	}
	if fresh == 0 {
		t.Skip("no thread without a coroutine behind it came up")
	}
	if ran.Load() != 0 {
		t.Fatalf("the callback ran %d times on %d fresh threads", ran.Load(), fresh)
	}
}
