package ctx_test

import (
	"cmp"
	"errors"
	"iter"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"golang.org/x/sys/unix"
)

// onOtherThread runs f on a goroutine locked to a thread other than the
// caller's (the caller must be locked to its own).
func onOtherThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f()
		close(done)
	}()
	<-done
}

// TestThreadBound: a started body is bound to the thread it ran on; a
// Resume from another thread is refused with ErrThread and changes
// nothing, and the body goes on from its own thread; a Close from another
// thread closes it without running it, with ErrThread. WithAnyThread lifts
// the rule; a body never started may run anywhere.
func TestThreadBound(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c := mustNew(t, cabi.Count, 10)
	onOtherThread(func() {
		if v, _, err := c.Resume(0); err != nil || v != 0 {
			t.Errorf("a fresh body resumed on another thread: %d, %v", v, err)
		}
	})
	// Now bound to the other thread (which ended): refused here.
	if _, _, err := c.Resume(0); !errors.Is(err, ctx.ErrThread) || c.Status() != ctx.Suspended {
		t.Fatalf("resume on another thread: %v, status %v; want ErrThread, suspended", err, c.Status())
	}
	if err := c.Close(); !errors.Is(err, ctx.ErrThread) || c.Status() != ctx.Dead {
		t.Fatalf("Close on another thread: %v, status %v; want ErrThread, dead", err, c.Status())
	}

	d := mustNew(t, cabi.Count, 10)
	if v, _, err := d.Resume(0); err != nil || v != 0 {
		t.Fatal(v, err)
	}
	onOtherThread(func() {
		if _, _, err := d.Resume(0); !errors.Is(err, ctx.ErrThread) {
			t.Errorf("resume from another thread: %v, want ErrThread", err)
		}
	})
	if v, _, err := d.Resume(0); err != nil || v != 1 {
		t.Fatalf("back on its own thread: %d, %v; want 1", v, err)
	}

	e := mustNew(t, cabi.Count, 10, ctx.WithAnyThread())
	e.Resume(0)
	onOtherThread(func() {
		if v, _, err := e.Resume(0); err != nil || v != 1 {
			t.Errorf("WithAnyThread on another thread: %d, %v", v, err)
		}
	})
}

// TestPullOverLoop: a loop driven by iter.Pull (the sequence runs on one
// of the Go runtime's coroutines, which must not lock their thread) works,
// and so does a generator that ranges over a loop inside iter.Pull. With
// the caller locked before iter.Pull, the body stays on its thread under
// churn (sqlite's mutex is then safe).
func TestPullOverLoop(t *testing.T) {
	if calibrated, in := ctx.CoroDetection(); !calibrated || in {
		t.Fatalf("coroutine detection: calibrated %v, this goroutine a coroutine: %v", calibrated, in)
	}
	var inside bool
	next, stop := iter.Pull(func(yield func(bool) bool) { _, inside = ctx.CoroDetection(); yield(true) })
	next()
	stop()
	if !inside {
		t.Fatal("iter.Pull's sequence not seen as running on a coroutine")
	}

	xs := randInts(500, 3)
	var pins ctx.Pins
	defer pins.Unpin()
	base := pins.Bytes(unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), 4*len(xs)))
	pull := func(seq iter.Seq2[*ctx.Call, error]) {
		next, stop := iter.Pull2(seq)
		defer stop()
		for {
			call, err, ok := next()
			if !ok {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			a, b := *(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1))
			call.ReturnInt(cmp.Compare(a, b))
		}
	}
	pull(ctx.Calls(libcSym("qsort"), base, uintptr(len(xs)), 4, ctx.YieldFunc()))
	if !slices.IsSorted(xs) {
		t.Fatal("qsort under iter.Pull2 did not sort")
	}

	// A generator over a loop, itself pulled.
	gen := func(yield func(int32) bool) {
		for call, err := range ctx.Calls(libcSym("qsort"), 0, 0, 4, ctx.YieldFunc()) {
			if err != nil || !yield(0) {
				return
			}
			call.Return(0)
		}
	}
	n, s := iter.Pull(gen)
	n()
	s()

	s2 := openSqlite(t)
	db := s2.db(t, 200)
	stopChurn := churn()
	defer stopChurn()
	sql := pins.String("select a from t")
	for _, lock := range []bool{true} {
		rows, tids := 0, map[int]bool{}
		var last error
		func() {
			if lock {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			next, stop := iter.Pull2(ctx.NewLoop(s2.exec, []uintptr{db, sql, ctx.YieldFunc(), 0, 0}, ctx.WithCancelValue(0, 1)).Calls())
			defer stop()
			for {
				_, err, ok := next()
				if !ok {
					break
				}
				if err != nil {
					last = err
					continue
				}
				rows++
				tids[unix.Gettid()] = true
				move()
			}
		}()
		t.Logf("locked %v: %d rows on %d threads, %v", lock, rows, len(tids), last)
		if lock && (rows != 200 || len(tids) != 1 || last != nil) {
			t.Fatalf("locked before iter.Pull: %d rows on %d threads, %v", rows, len(tids), last)
		}
		within(t, 10*time.Second, "sqlite3_exec after the pulled loop", func() {
			if rc := s2.run(db, "update t set a = a", 0, 0, 0); rc != 0 {
				t.Errorf("update after the loop: %d", rc)
			}
		})
	}

	// Not locked, a pulled loop whose goroutine moves is refused with
	// ErrThread (never run on the new thread), or finishes if it did not
	// move: qsort holds no thread state, so either is safe to see.
	ys := randInts(300, 4)
	yb := pins.Bytes(unsafe.Slice((*byte)(unsafe.Pointer(&ys[0])), 4*len(ys)))
	next2, stop2 := iter.Pull2(ctx.Calls(libcSym("qsort"), yb, uintptr(len(ys)), 4, ctx.YieldFunc()))
	defer stop2()
	for {
		call, err, ok := next2()
		if !ok {
			break
		}
		if err != nil {
			if !errors.Is(err, ctx.ErrThread) {
				t.Fatalf("a pulled loop whose goroutine moved: %v, want ErrThread", err)
			}
			t.Logf("the pulled loop moved and was refused: %v", err)
			break
		}
		a, b := *(*int32)(call.Ptr(0)), *(*int32)(call.Ptr(1))
		call.ReturnInt(cmp.Compare(a, b))
		move()
	}
}
