package ctx_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
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
