package ctx_test

import (
	"cmp"
	"errors"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/ebitengine/purego"
)

// TestCallsZeroAllocs: one event of a pull loop, a Resume that answers a
// YieldFunc call and gets the next, allocates nothing; neither does a
// whole Calls loop beyond its start.
func TestCallsZeroAllocs(t *testing.T) {
	xs := randInts(200_000, 5)
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	qsort := libcSym("qsort")
	c, err := ctx.NewCall(qsort, []uintptr{uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, ctx.YieldFunc()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Resume(0)
	allocs := testing.AllocsPerRun(10_000, func() {
		a := c.Args()
		x := *(*int32)(*(*unsafe.Pointer)(unsafe.Pointer(&a[0])))
		y := *(*int32)(*(*unsafe.Pointer)(unsafe.Pointer(&a[1])))
		c.Resume(uintptr(cmp.Compare(x, y)))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event", allocs)
	}

	ys := randInts(50_000, 9)
	pin.Pin(&ys[0])
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for call, err := range ctx.Calls(qsort, uintptr(unsafe.Pointer(&ys[0])), uintptr(len(ys)), 4, ctx.YieldFunc()) {
		if err != nil {
			t.Fatal(err)
		}
		call.Return(uintptr(cmp.Compare(*(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1)))))
		n++
	}
	runtime.ReadMemStats(&after)
	if !slices.IsSorted(ys) || n < 50_000 {
		t.Fatalf("sorted %v after %d events", slices.IsSorted(ys), n)
	}
	if m := after.Mallocs - before.Mallocs; m > 64 {
		t.Fatalf("%d allocations for %d events", m, n)
	}
}

// TestCallsBreakAndPanic: breaking out of a Calls loop, or a panic in its
// body, closes the coroutine; the panic reaches the caller unchanged, and
// loops go on working afterwards.
func TestCallsBreakAndPanic(t *testing.T) {
	qsort := libcSym("qsort")
	sortWith := func(xs []int32, body func(*ctx.Call) bool) int {
		var pin runtime.Pinner
		pin.Pin(&xs[0])
		defer pin.Unpin()
		n := 0
		for call, err := range ctx.Calls(qsort, uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, ctx.YieldFunc()) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if !body(call) {
				break
			}
		}
		return n
	}
	goroutines := runtime.NumGoroutine()
	for range 200 {
		if n := sortWith(randInts(1000, 3), func(*ctx.Call) bool { return false }); n != 1 {
			t.Fatalf("broke after %d calls, want 1", n)
		}
		got := func() (r any) {
			defer func() { r = recover() }()
			sortWith(randInts(1000, 4), func(*ctx.Call) bool { panic("loop body") })
			return nil
		}()
		if got != "loop body" {
			t.Fatalf("recovered %v, want the loop body's panic", got)
		}
	}
	if g := runtime.NumGoroutine(); g > goroutines+2 {
		t.Fatalf("goroutines %d -> %d", goroutines, g)
	}
	xs := randInts(5000, 8)
	sortWith(xs, func(c *ctx.Call) bool {
		c.Return(uintptr(cmp.Compare(*(*int32)(c.Ptr(0)), *(*int32)(c.Ptr(1)))))
		return true
	})
	if !slices.IsSorted(xs) {
		t.Fatal("a loop after the broken ones did not sort")
	}
}

// TestYieldFuncMisuse: YieldFunc outside any coroutine returns
// CK_ENOTRUNNING at once; NewCall refuses a nil function and more than
// six arguments.
func TestYieldFuncMisuse(t *testing.T) {
	if r, _, _ := purego.SyscallN(ctx.YieldFunc(), 1, 2); int32(r) != -4 {
		t.Fatalf("YieldFunc outside a coroutine = %d, want CK_ENOTRUNNING", int32(r))
	}
	if _, err := ctx.NewCall(0, nil); !errors.Is(err, ctx.ErrNilFunc) {
		t.Fatalf("NewCall(nil) = %v", err)
	}
	if _, err := ctx.NewCall(libcSym("labs"), make([]uintptr, 7)); !errors.Is(err, ctx.ErrTooManyArgs) {
		t.Fatalf("NewCall with 7 arguments = %v", err)
	}
}

// TestYieldFuncTag runs each tagged yield function as a coroutine's body
// (NewCall of the entry itself): each suspends with its own tag and the
// arguments, and returns the loop's answer. Out-of-range tags are errors.
func TestYieldFuncTag(t *testing.T) {
	for tag := range ctx.NumYieldTags {
		fn, err := ctx.YieldFuncTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ctx.NewCall(fn, []uintptr{uintptr(tag), 2, 3, 4, 5, 6})
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := c.Resume(0); done || err != nil {
			t.Fatalf("tag %d: first resume: done %v, %v", tag, done, err)
		}
		if c.Tag() != tag || c.Args()[0] != uintptr(tag) || c.Args()[5] != 6 {
			t.Errorf("tag %d: suspended with tag %d, args %v", tag, c.Tag(), *c.Args())
		}
		v, done, err := c.Resume(uintptr(100 + tag))
		if !done || err != nil || v != uintptr(100+tag) {
			t.Errorf("tag %d: returned %d, %v, %v; want the answer %d", tag, v, done, err, 100+tag)
		}
		c.Close()
	}
	if f, _ := ctx.YieldFuncTag(0); f != ctx.YieldFunc() {
		t.Error("ctx.YieldFuncTag(0) is not YieldFunc")
	}
	for _, bad := range []int{-1, ctx.NumYieldTags} {
		if _, err := ctx.YieldFuncTag(bad); !errors.Is(err, ctx.ErrYieldTag) {
			t.Errorf("ctx.YieldFuncTag(%d): %v, want ctx.ErrYieldTag", bad, err)
		}
	}
}
