package ctx_test

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
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

// TestLoopMisuse: the misuse rows of pull loops, each a clear error or a
// panic that names it, never a crash: a bad cancel-value tag, too many
// arguments, a Call kept past its loop, Bytes of an absurd length, SetOut
// through NULL, a Loop ranged from inside itself.
func TestLoopMisuse(t *testing.T) {
	bsearch := libcSym("bsearch")
	var pins ctx.Pins
	defer pins.Unpin()
	// bsearch(key, base, 1, 4, cmp) calls cmp(key, base) once.
	args := []uintptr{pins.Words([]uintptr{0}), pins.Words([]uintptr{0}), 1, 4, ctx.YieldFunc()}

	if _, err := ctx.New(cabi.Count, 0, ctx.WithCancelValue(16, 0)); !errors.Is(err, ctx.ErrYieldTag) {
		t.Errorf("New with WithCancelValue(16, …): %v, want ErrYieldTag", err)
	}
	if _, err := ctx.NewCall(bsearch, args, ctx.WithCancelValue(-1, 0)); !errors.Is(err, ctx.ErrYieldTag) {
		t.Errorf("NewCall with WithCancelValue(-1, …): %v, want ErrYieldTag", err)
	}
	for _, c := range []struct {
		name string
		loop *ctx.Loop
		want error
	}{
		{"bad tag", ctx.NewLoop(bsearch, args, ctx.WithCancelValue(99, 0)), ctx.ErrYieldTag},
		{"seven arguments", ctx.NewLoop(bsearch, make([]uintptr, 7)), ctx.ErrTooManyArgs},
		{"nine float arguments", ctx.NewLoop(bsearch, args, ctx.WithFloatArgs(make([]ctx.FloatArg, 9)...)), ctx.ErrTooManyArgs},
		{"nil function", ctx.NewLoop(0, nil), ctx.ErrNilFunc},
	} {
		n := 0
		var last error
		for call, err := range c.loop.Calls() {
			n++
			last = err
			if call != nil {
				t.Errorf("%s: an iteration with a call", c.name)
			}
		}
		if n != 1 || !errors.Is(last, c.want) {
			t.Errorf("%s: %d iterations ending with %v, want one with %v", c.name, n, last, c.want)
		}
	}

	// A Call kept past its loop, and the panics of absurd arguments.
	var kept *ctx.Call
	loop := ctx.NewLoop(bsearch, args)
	for call, err := range loop.Calls() {
		if err != nil {
			t.Fatal(err)
		}
		kept = call
		call.Return(0)
	}
	for name, f := range map[string]func(){
		"Arg": func() { kept.Arg(0) }, "Ptr": func() { kept.Ptr(0) }, "Int32": func() { kept.Int32(0) },
		"String": func() { kept.String(0) }, "Float64": func() { kept.Float64(0) }, "Tag": func() { kept.Tag() },
		"Return": func() { kept.Return(1) }, "Bytes": func() { kept.Bytes(0, 1) }, "Lend": func() { kept.Lend([]byte{1}) },
	} {
		mustPanic(t, "kept Call's "+name, ctx.ErrCallExpired.Error(), f)
	}

	// Bytes of an absurd length, SetOut through NULL: qsort's comparator
	// gets two pointers; as a (pointer, length) pair, the second is a
	// length of gigabytes.
	base := pins.Bytes([]byte{2, 0, 0, 0, 1, 0, 0, 0})
	for call, err := range ctx.Calls(libcSym("qsort"), base, 2, 4, ctx.YieldFunc()) {
		if err != nil {
			t.Fatal(err)
		}
		mustPanic(t, "Bytes with a pointer for a length", "length", func() { call.Bytes(0, 1) })
		mustPanic(t, "StringAt with a negative index", "negative index", func() { call.StringAt(0, -1) })
		call.Return(0)
	}
	for call := range ctx.NewLoop(bsearch, []uintptr{0, args[1], 1, 4, ctx.YieldFunc()}).Calls() { // key NULL
		mustPanic(t, "SetOut through NULL", "NULL", func() { call.SetOut(0, 1) })
		call.Return(0)
	}

	// Ranged from inside its own loop body.
	inner := 0
	again := ctx.NewLoop(bsearch, args)
	for _, err := range again.Calls() {
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range again.Calls() {
			inner++
			if !errors.Is(err, ctx.ErrLoopRunning) {
				t.Errorf("a Loop ranged inside itself: %v, want ErrLoopRunning", err)
			}
		}
	}
	if inner != 1 {
		t.Errorf("the inner range made %d iterations, want 1", inner)
	}

	// A Calls sequence ranged inside itself is two runs, each its own
	// Loop (pooled): both run, and the outer Call outlives the inner run.
	seq := ctx.Calls(bsearch, args...)
	outer, nested := 0, 0
	for call, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		outer++
		for inner, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			nested++
			inner.Return(0)
		}
		if call.Arg(1) != args[1] {
			t.Errorf("after a nested run the outer Call reads %x, want %x", call.Arg(1), args[1])
		}
		call.Return(0)
	}
	if outer != 1 || nested != 1 {
		t.Errorf("a Calls sequence ranged inside itself: %d and %d iterations, want 1 and 1", outer, nested)
	}
}

// TestCallAccessors: the typed accessors read the ABI's registers as C
// types: an int's upper register half is not its value, a float argument
// is counted among the floating-point ones.
func TestCallAccessors(t *testing.T) {
	// bsearch(key, base, 1, 4, cmp) calls cmp(key, elem): two pointers.
	key := []byte{0xff, 0xff, 0xff, 0xff, 0} // NUL-terminated for String
	var pins ctx.Pins
	defer pins.Unpin()
	k := pins.Bytes(key)
	for call, err := range ctx.Calls(libcSym("bsearch"), k, k, 1, 4, ctx.YieldFunc()) {
		if err != nil {
			t.Fatal(err)
		}
		if call.Arg(0) != k || call.Uint(0) != uint(k) || call.Int64(0) != int64(k) || call.Int(0) != int(k) {
			t.Errorf("Arg/Uint/Int64/Int of a pointer argument: %x %x %x %x, want %x", call.Arg(0), call.Uint(0), call.Int64(0), call.Int(0), k)
		}
		if got := call.Int32(0); got != int32(uint32(k)) || call.Uint32(0) != uint32(k) {
			t.Errorf("Int32/Uint32 take the low half: %x, %x", got, call.Uint32(0))
		}
		if call.String(0) != "\xff\xff\xff\xff" || len(call.StringBytes(1)) != 4 {
			t.Errorf("String and StringBytes of an unterminated 4-byte key: %q", call.String(0))
		}
		call.ReturnInt(0)
	}
}

func mustPanic(t *testing.T, what, want string, f func()) {
	t.Helper()
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(fmt.Sprint(p), want) {
			t.Errorf("%s: panic %v, want one saying %q", what, p, want)
		}
	}()
	f()
}
