package ctx_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
)

// The Go↔C boundary under misuse: each test here is a row of the misuse
// table in docs/misuse.md.

type sentinel struct{ n int }

// currentC is co->api->current() called from Go through purego.
func currentC() uintptr {
	r, _, _ := purego.SyscallN(table().current)
	return r
}

// TestCallbackPanic: a panic in a Go callback under a coroutine's C frames
// reaches Resume's caller with its own value; the coroutine is Dead, the
// thread's current coroutine is restored, and Close succeeds.
func TestCallbackPanic(t *testing.T) {
	want := &sentinel{7}
	cb, err := ctx.NewCallback(func() uintptr { panic(want) })
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread() // currentC must ask the thread the coroutine ran on
	defer runtime.UnlockOSThread()
	for i := range 3 {
		c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(cargs(t, cb))))
		if err != nil {
			t.Fatal(err)
		}
		got := func() (r any) {
			defer func() { r = recover() }()
			c.Resume(0)
			return nil
		}()
		if got != want {
			t.Fatalf("round %d: recovered %v, want the callback's own panic value", i, got)
		}
		if s := c.Status(); s != ctx.Dead {
			t.Errorf("after the panic the coroutine is %v, want dead", s)
		}
		if cur := currentC(); cur != 0 {
			t.Errorf("after the panic ck_current() = %#x, want NULL", cur)
		}
		if _, _, err := c.Resume(0); !errors.Is(err, ctx.ErrDead) {
			t.Errorf("Resume after the panic = %v, want ErrDead", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after the panic = %v, want nil", err)
		}
	}
}

// TestCallbackGoexit: runtime.Goexit in a callback (t.FailNow in a test
// helper does it) ends the resuming goroutine and leaves the coroutine
// Dead, not Running for ever.
func TestCallbackGoexit(t *testing.T) {
	cb, err := ctx.NewCallback(func() uintptr { runtime.Goexit(); return 0 })
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, cb))))
	done := make(chan bool)
	go func() {
		returned := false
		defer func() { done <- returned }()
		c.Resume(0)
		returned = true
	}()
	if <-done {
		t.Fatal("Resume returned although the callback called Goexit")
	}
	if s := c.Status(); s != ctx.Dead {
		t.Fatalf("after Goexit the coroutine is %v, want dead", s)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after Goexit = %v", err)
	}
}

// TestNestedCallbackPanic: a callback of A resumes B, whose callback
// panics; A's callback recovers. B is dead, A goes on and returns.
func TestNestedCallbackPanic(t *testing.T) {
	var b *ctx.Coroutine
	panicky, _ := ctx.NewCallback(func() uintptr { panic("inner") })
	outer, err := ctx.NewCallback(func() (r uintptr) {
		defer func() {
			if recover() == "inner" {
				r = 7
			}
		}()
		b.Resume(0)
		return 1
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b = mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, panicky))))
	a := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, outer))))
	v, done, err := a.Resume(0)
	if err != nil || !done || v != 7 {
		t.Fatalf("A = %d, done %v, %v; want 7 from the recovering callback", v, done, err)
	}
	if b.Status() != ctx.Dead || a.Status() != ctx.Dead {
		t.Fatalf("statuses after: A %v, B %v; want both dead", a.Status(), b.Status())
	}
	if cur := currentC(); cur != 0 {
		t.Fatalf("ck_current() = %#x after both, want NULL", cur)
	}
}

// TestPanicThenNilDeref: many coroutines end in callback panics, are
// closed and collected; then ordinary nil dereferences in Go on every
// thread must still be recoverable panics (the SIGSEGV handler once read a
// stale current coroutine and killed the process silently).
func TestPanicThenNilDeref(t *testing.T) {
	cb, _ := ctx.NewCallback(func() uintptr { panic("x") })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(cargs(t, cb))))
				if err != nil {
					t.Error(err)
					return
				}
				func() {
					defer func() { recover() }()
					c.Resume(0)
				}()
				if i%2 == 0 || g == 0 {
					c.Close()
				} // the others are left to the collector
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.GC()
	var nilp *int
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("goroutine %d: a nil dereference did not panic", g)
						}
					}()
					_ = *nilp
				}()
			}
		}()
	}
	wg.Wait()
}

// deepGo grows the goroutine stack by n frames.
//
//go:noinline
func deepGo(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deepGo(n-1) + int(pad[n%256])
}

// gcCallback runs a GC and grows the goroutine stack: the runtime work that
// dies with "morestack on g0" when a callback runs on the wrong stack.
var gcCallback = func() uintptr {
	cb, err := ctx.NewCallback(func() uintptr {
		runtime.GC()
		deepGo(2000)
		return 5
	})
	if err != nil {
		panic(err)
	}
	return cb
}()

// TestCallbackFromCResume: Go calls C (purego), and that C resumes the
// coroutine (ck_resume); the body's callback triggers a GC and grows the
// stack.
func TestCallbackFromCResume(t *testing.T) {
	for i := range 20 {
		c := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, gcCallback))))
		var out uintptr
		r, _, _ := purego.SyscallN(table().resume, uintptr(c.C()), 0, uintptr(unsafe.Pointer(&out)))
		if int32(r) != 1 || out != 5 {
			t.Fatalf("round %d: ck_resume = %d, out %d; want CK_DONE and 5", i, int32(r), out)
		}
	}
	if mainThreadResult != "" {
		t.Fatalf("on the main thread: %s", mainThreadResult)
	}
}

// mainThreadResult is what the same check gave on the process's main
// thread (TestMain runs it there: init locks the main goroutine to it).
var mainThreadResult = "not run"

func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) {
	mainThreadResult = func() string {
		c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(&mainArgs)))
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		mainArgs = [7]uintptr{gcCallback}
		var out uintptr
		r, _, _ := purego.SyscallN(table().resume, uintptr(c.C()), 0, uintptr(unsafe.Pointer(&out)))
		if int32(r) != 1 || out != 5 {
			return fmt.Sprintf("ck_resume = %d, out %d; want CK_DONE and 5", int32(r), out)
		}
		if v, done, err := mustGoResume(gcCallback); err != nil || !done || v != 5 {
			return fmt.Sprintf("Resume = %d, %v, %v", v, done, err)
		}
		return ""
	}()
	runtime.UnlockOSThread()
	os.Exit(m.Run())
}

var mainArgs, mainArgs2 [7]uintptr

func mustGoResume(cb uintptr) (uintptr, bool, error) {
	mainArgs2 = [7]uintptr{cb}
	c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(&mainArgs2)))
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	return c.Resume(0)
}

// threadArgs is cabi.ThreadResume's block.
type threadArgs struct{ resume, co, out, code uintptr }

// runOnCThread runs resume(co) on a pthread created through libc, not by
// Go, and waits for it.
func runOnCThread(t testing.TB, co unsafe.Pointer) (code int64, out uintptr) {
	create, err1 := purego.Dlsym(libc(t), "pthread_create")
	join, err2 := purego.Dlsym(libc(t), "pthread_join")
	if err1 != nil || err2 != nil {
		t.Skip("no pthread_create in the C library")
	}
	a := &threadArgs{resume: table().resume, co: uintptr(co)}
	var pin runtime.Pinner
	pin.Pin(a)
	defer pin.Unpin()
	var tid uintptr
	if r, _, _ := purego.SyscallN(create, uintptr(unsafe.Pointer(&tid)), 0, cabi.ThreadResume, uintptr(unsafe.Pointer(a))); r != 0 {
		t.Fatalf("pthread_create = %d", r)
	}
	purego.SyscallN(join, tid, 0)
	return int64(a.code), a.out
}

// TestCallbackOnCThread: C on a thread that C created resumes the
// coroutine; its Go callback runs a GC and grows the stack.
func TestCallbackOnCThread(t *testing.T) {
	for i := range 5 {
		c := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(cargs(t, gcCallback))))
		if code, out := runOnCThread(t, c.C()); code != 1 || out != 5 {
			t.Fatalf("round %d: ck_resume on a C thread = %d, out %d; want CK_DONE and 5", i, code, out)
		}
	}
}

// TestGuardPageOnCThread: the overflow line is printed on a thread C
// created too (it has no signal stack until the thread block gives it
// one).
func TestGuardPageOnCThread(t *testing.T) {
	overflows(t, "TestGuardPageOnCThread", func() {
		c, err := ctx.New(cabi.Deep, 1<<20, ctx.WithName("deep-on-a-c-thread"))
		if err != nil {
			panic(err)
		}
		runOnCThread(t, c.C())
	}, "corokernel: stack overflow in deep-on-a-c-thread: it hit the guard page")
}

// TestExportedNotCollected: a coroutine whose C() was taken keeps its
// stack after the Go handle is dropped; C resumes it where it stopped.
func TestExportedNotCollected(t *testing.T) {
	runtime.LockOSThread() // the body is bound to the thread it ran on; the sleeps below would move us
	defer runtime.UnlockOSThread()
	c, err := ctx.New(cabi.Count, 0)
	if err != nil {
		t.Fatal(err)
	}
	co := c.C()
	if v, _, _ := c.Resume(0); v != 0 {
		t.Fatal(v)
	}
	c = nil
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	// New coroutines take whatever the pool has.
	for i := range 100 {
		d := mustNew(t, cabi.Count, 3)
		if v, _, err := d.Resume(0); err != nil || v != 0 {
			t.Fatalf("coroutine %d: %d, %v", i, v, err)
		}
	}
	for want := uintptr(1); want <= 3; want++ {
		var out uintptr
		r, _, _ := purego.SyscallN(table().resume, uintptr(co), 0, uintptr(unsafe.Pointer(&out)))
		if int32(r) != 0 || out != want {
			t.Fatalf("C resume of the dropped, exported coroutine = %d, out %d; want CK_OK and %d", int32(r), out, want)
		}
	}
}

// TestResumePtr: a yielded pointer comes back as an unsafe.Pointer.
func TestResumePtr(t *testing.T) {
	x := new([4]uint64)
	var pin runtime.Pinner
	pin.Pin(x)
	defer pin.Unpin()
	c := mustNew(t, cabi.Echo, 0)
	c.Resume(0)
	p, done, err := c.ResumePtr(uintptr(unsafe.Pointer(x)))
	if err != nil || done || p != unsafe.Pointer(x) {
		t.Fatalf("ResumePtr = %p, %v, %v; want %p", p, done, err, x)
	}
}

// TestPoolGivesPagesBack: closed coroutines that touched 60 MiB of stack
// each leave no resident memory behind in the pool.
func TestPoolGivesPagesBack(t *testing.T) {
	if os.Getenv("CK_EXEC_WRAPPER") != "" {
		t.Skip("under emulation the RSS is the emulator's")
	}
	debug.FreeOSMemory()
	base := rss(t)
	for range 4 {
		c, err := ctx.New(cabi.Deep, 60<<20/1040, ctx.WithStackSize(64<<20))
		if err != nil {
			t.Fatal(err)
		}
		if _, done, err := c.Resume(0); err != nil || !done {
			t.Fatalf("deep body: %v, %v", done, err)
		}
		c.Close()
	}
	debug.FreeOSMemory()
	if grew := rss(t) - base; grew > 16<<20 {
		t.Fatalf("RSS grew by %d MiB after closing four coroutines that touched 60 MiB each", grew>>20)
	}
}

// TestCallbackSlots: once the slots are gone NewCallback fails cleanly,
// however often it is called, and a failed call takes no slot of purego's.
func TestCallbackSlots(t *testing.T) {
	if os.Getenv("CTX_SLOTS_CHILD") == "1" {
		for range 5 { // unsupported signatures fail without using a slot
			if _, err := ctx.NewCallback(func(string) {}); err == nil {
				panic("a string argument was accepted")
			}
		}
		n := 0
		for ; ; n++ {
			if _, err := ctx.NewCallback(func() {}); err != nil {
				if !errors.Is(err, ctx.ErrTooManyCallbacks) {
					panic(err)
				}
				break
			}
		}
		for range 3000 {
			if _, err := ctx.NewCallback(func() {}); !errors.Is(err, ctx.ErrTooManyCallbacks) {
				panic(err)
			}
		}
		fmt.Println("slots", n)
		os.Exit(0)
	}
	exe, _ := os.Executable()
	cmd := selfCommand(exe, "-test.run=^TestCallbackSlots$")
	cmd.Env = append(os.Environ(), "CTX_SLOTS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "slots ") {
		t.Fatalf("child: %v\n%s", err, firstLines(out, 12))
	}
}

// TestMapHeadroom: New refuses with ErrMapLimit before the process runs
// out of memory mappings, and the process can still create threads.
// recountsPerStacks: at most one recount of the mappings per this many
// coroutines made near the limit (ctx recounts every 256 mappings, two a
// stack).
const recountsPerStacks = 100

func TestMapHeadroom(t *testing.T) {
	if os.Getenv("CTX_MAPS_CHILD") == "1" {
		var cs []*ctx.Coroutine
		var err error
		for {
			var c *ctx.Coroutine
			if c, err = ctx.New(cabi.Count, 0, ctx.WithStackSize(ctx.MinStackSize)); err != nil {
				break
			}
			cs = append(cs, c)
		}
		if !errors.Is(err, ctx.ErrMapLimit) {
			panic(fmt.Sprintf("after %d coroutines: %v", len(cs), err))
		}
		// Refusals cost no recount each: a thousand more, few reads of
		// /proc/self/maps; and the climb to the limit was not one per New.
		climb := ctx.MapRecounts()
		for range 1000 {
			if _, err := ctx.New(cabi.Count, 0, ctx.WithStackSize(ctx.MinStackSize)); !errors.Is(err, ctx.ErrMapLimit) {
				panic(fmt.Sprintf("a New past the limit: %v", err))
			}
		}
		if after := ctx.MapRecounts() - climb; climb > len(cs)/recountsPerStacks+8 || after > 8 {
			panic(fmt.Sprintf("%d recounts of the mappings for %d coroutines, %d more for 1000 refusals", climb, len(cs), after))
		}
		var wg sync.WaitGroup
		for range 16 { // new OS threads
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				time.Sleep(20 * time.Millisecond)
			}()
		}
		wg.Wait()
		fmt.Println("refused after", len(cs))
		os.Exit(0)
	}
	if _, err := os.Stat("/proc/sys/vm/max_map_count"); err != nil {
		t.Skip("no /proc/sys/vm/max_map_count")
	}
	if testing.Short() {
		t.Skip("maps tens of thousands of stacks")
	}
	exe, _ := os.Executable()
	cmd := selfCommand(exe, "-test.run=^TestMapHeadroom$")
	cmd.Env = append(os.Environ(), "CTX_MAPS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refused after") {
		t.Fatalf("child: %v\n%s", err, firstLines(out, 12))
	}
	t.Log(strings.TrimSpace(string(out)))
}
