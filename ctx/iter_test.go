package ctx_test

import (
	"bytes"
	"cmp"
	"errors"
	"iter"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"
)

// Comparison is one comparison that qsort asks for: Answer it with
// cmp.Compare(A, B) or any other order.
type Comparison struct {
	A, B   int32
	answer int
}

// Answer tells qsort how A compares to B.
func (c *Comparison) Answer(r int) { c.answer = r }

// comparisons turns libc qsort inside out with the public API: qsort
// runs on a coroutine (ctx.Calls) with ctx.YieldFunc as its comparator,
// which yields every pair to the loop below and returns the loop's answer.
// No goroutine, thread or Go callback is involved. Breaking out of the
// loop abandons the sort (the coroutine is closed).
func comparisons(xs []int32) iter.Seq[*Comparison] {
	return func(yield func(*Comparison) bool) {
		if len(xs) == 0 {
			return
		}
		h, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW)
		if err != nil {
			panic(err)
		}
		qsort, err := purego.Dlsym(h, "qsort")
		if err != nil {
			panic(err)
		}
		var pin runtime.Pinner
		pin.Pin(&xs[0])
		defer pin.Unpin()
		var cm Comparison
		for call, err := range ctx.Calls(qsort, uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, ctx.YieldFunc()) {
			if err != nil {
				panic(err)
			}
			cm.A, cm.B = *(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1))
			cm.answer = 0
			if !yield(&cm) {
				return
			}
			call.Return(uintptr(cm.answer))
		}
	}
}

// TestInvertedQsort sorts with libc qsort while every comparison is
// answered by the body of an ordinary for-range loop (ExampleCalls is the
// same with the public API alone).
func TestInvertedQsort(t *testing.T) {
	xs := randInts(100_000, 7)
	want := slices.Clone(xs)
	slices.Sort(want)
	goroutines := runtime.NumGoroutine()
	n := 0
	for c := range comparisons(xs) {
		n++
		c.Answer(cmp.Compare(c.A, c.B))
		if n == 1 && runtime.NumGoroutine() != goroutines {
			t.Fatalf("the iterator started goroutines: %d -> %d", goroutines, runtime.NumGoroutine())
		}
	}
	if !slices.Equal(xs, want) {
		t.Fatal("qsort driven by the loop did not sort")
	}
	if n < 100_000 {
		t.Fatalf("only %d comparisons for 100k elements", n)
	}
	// A descending order answered from Go sorts descending.
	ys := []int32{1, 4, 2, 3}
	for c := range comparisons(ys) {
		c.Answer(cmp.Compare(c.B, c.A))
	}
	if !slices.Equal(ys, []int32{4, 3, 2, 1}) {
		t.Fatalf("descending: %v", ys)
	}
	// Breaking out early abandons the sort without leaking or hanging.
	zs := randInts(1000, 3)
	k := 0
	for range comparisons(zs) {
		if k++; k == 10 {
			break
		}
	}
	if k != 10 {
		t.Fatalf("break after %d", k)
	}
}

// TestProfileAndSignals resumes coroutines and runs Go callbacks from
// their stacks while a CPU profile samples and a storm of SIGURG (the
// runtime's preemption signal) hits the process.
func TestProfileAndSignals(t *testing.T) {
	// The resumes below keep their goroutine on one thread, as a body
	// bound to its thread needs (the storm of SIGURG preempts it often).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		sent := 0
		for {
			select {
			case <-stop:
				done <- sent
				return
			default:
				unix.Kill(os.Getpid(), unix.SIGURG)
				sent++
			}
		}
	}()
	c := mustNew(t, cabi.Count, 0)
	for i := uintptr(0); i < 2_000_000; i++ {
		if v, _, err := c.Resume(0); err != nil || v != i {
			t.Fatalf("resume %d = %d, %v", i, v, err)
		}
	}
	for i := 0; i < 3; i++ {
		xs := randInts(20_000, uint32(i+11))
		sortOnCoroutine(t, xs, cmpInt32)
		if !slices.IsSorted(xs) {
			t.Fatal("not sorted under signals")
		}
	}
	close(stop)
	sent := <-done
	pprof.StopCPUProfile()
	if sent < 100 {
		t.Errorf("only %d SIGURGs sent", sent)
	}
	if b := prof.Bytes(); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("no CPU profile written (%d bytes)", len(b))
	}
	if _, _, err := c.Resume(0); err != nil && !errors.Is(err, ctx.ErrDead) {
		t.Fatal(err)
	}
}
