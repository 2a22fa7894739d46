package ctx_test

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/ebitengine/purego"
)

func init() { cabi.SetAPI(uintptr(ctx.API())) }

// api mirrors struct ck_api, to call the table's entries from tests.
type api struct {
	version, size                 uint32
	yield, resume, current, trapF uintptr
}

// cargs returns a Call6 argument block on the Go heap, pinned for the
// test: native code reads it by address, and a block on a goroutine stack
// could move when the stack grows.
func cargs(t testing.TB, a ...uintptr) *[7]uintptr {
	p := new([7]uintptr)
	copy(p[:], a)
	var pin runtime.Pinner
	pin.Pin(p)
	t.Cleanup(pin.Unpin)
	return p
}

func table() *api { return (*api)(ctx.API()) }

func mustNew(t testing.TB, fn, arg uintptr, opts ...ctx.Option) *ctx.Coroutine {
	t.Helper()
	c, err := ctx.New(fn, arg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCounter(t *testing.T) {
	c := mustNew(t, cabi.Count, 5)
	if s := c.Status(); s != ctx.Suspended {
		t.Fatalf("new coroutine is %v", s)
	}
	for i := uintptr(0); i < 5; i++ {
		v, done, err := c.Resume(0)
		if err != nil || v != i || done {
			t.Fatalf("resume %d = %d, done %v, %v; want a yield of %d", i, v, done, err, i)
		}
		if s := c.Status(); s != ctx.Suspended {
			t.Fatalf("after a yield the coroutine is %v", s)
		}
	}
	v, done, err := c.Resume(0)
	if err != nil || v != 5 || !done {
		t.Fatalf("final resume = %d, done %v, %v; want the return value 5, done", v, done, err)
	}
	if s := c.Status(); s != ctx.Dead {
		t.Fatalf("after return the coroutine is %v", s)
	}
	if _, _, err := c.Resume(0); !errors.Is(err, ctx.ErrDead) {
		t.Fatalf("resume of a dead coroutine: %v", err)
	}
}

// TestResumeValue checks the word a resume passes reaches the body: Call6
// calls the identity-like libc labs on co->value's... simpler: a nested
// resume through the C API carries values both ways.
func TestNestedResumeFromC(t *testing.T) {
	inner := mustNew(t, cabi.Count, 0)
	var out uintptr
	args := cargs(t, table().resume, uintptr(inner.C()), 42, uintptr(unsafe.Pointer(&out)))
	outer := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(args)))
	r, _, err := outer.Resume(0)
	if err != nil || r != 0 {
		t.Fatalf("outer resume = %d, %v; want ck_resume's CK_OK", r, err)
	}
	if out != 0 {
		t.Fatalf("inner yielded %d, want 0", out)
	}
	// The inner coroutine stays usable from Go after a resume from C.
	if v, _, err := inner.Resume(0); err != nil || v != 1 {
		t.Fatalf("inner from Go = %d, %v; want 1", v, err)
	}
	runtime.KeepAlive(args)
}

func TestMisuse(t *testing.T) {
	if _, err := ctx.New(0, 0); !errors.Is(err, ctx.ErrNilFunc) {
		t.Errorf("New(nil) = %v", err)
	}

	// yield and resume from outside any coroutine: error codes, no crash.
	tb := table()
	if r, _, _ := purego.SyscallN(tb.yield, 0, 1, 0); int32(r) != -4 {
		t.Errorf("yield(NULL) outside a coroutine = %d, want CK_ENOTRUNNING", int32(r))
	}
	c := mustNew(t, cabi.Count, 0)
	if r, _, _ := purego.SyscallN(tb.yield, uintptr(c.C()), 1, 0); int32(r) != -4 {
		t.Errorf("yield of a suspended coroutine from outside = %d, want CK_ENOTRUNNING", int32(r))
	}
	if r, _, _ := purego.SyscallN(tb.resume, 0, 0, 0); int32(r) != -1 {
		t.Errorf("resume(NULL) = %d, want CK_EINVAL", int32(r))
	}
	if r, _, _ := purego.SyscallN(tb.current); r != 0 {
		t.Errorf("current() outside a coroutine = %#x, want NULL", r)
	}

	// Close twice, resume after close.
	d, _ := ctx.New(cabi.Count, 0)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); !errors.Is(err, ctx.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
	if _, _, err := d.Resume(0); !errors.Is(err, ctx.ErrClosed) {
		t.Errorf("Resume after Close = %v", err)
	}
	if s := d.Status(); s != ctx.Dead {
		t.Errorf("closed coroutine is %v", s)
	}
}

// TestMisuseFromInside resumes and closes a coroutine from a Go callback
// running inside its own body, and yields a coroutine that is not the
// current one from C.
func TestMisuseFromInside(t *testing.T) {
	var self *ctx.Coroutine
	var resumeErr, closeErr error
	cb, err := ctx.NewCallback(func() uintptr {
		_, _, resumeErr = self.Resume(0)
		closeErr = self.Close()
		return 7
	})
	if err != nil {
		t.Fatal(err)
	}
	args := cargs(t, cb)
	self = mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(args)))
	v, _, err := self.Resume(0)
	if err != nil || v != 7 {
		t.Fatalf("body through the callback = %d, %v", v, err)
	}
	if !errors.Is(resumeErr, ctx.ErrRunning) {
		t.Errorf("Resume from inside its own body = %v, want ErrRunning", resumeErr)
	}
	if !errors.Is(closeErr, ctx.ErrRunning) {
		t.Errorf("Close from inside its own body = %v, want ErrRunning", closeErr)
	}

	// A body that yields another (suspended) coroutine gets an error code.
	other := mustNew(t, cabi.Count, 0)
	yargs := cargs(t, table().yield, uintptr(other.C()), 1, 0)
	y := mustNew(t, cabi.Call6, uintptr(unsafe.Pointer(yargs)))
	if v, _, err := y.Resume(0); err != nil || int32(v) != -4 {
		t.Errorf("yield of another coroutine from a body = %d, %v; want CK_ENOTRUNNING", int32(v), err)
	}
	runtime.KeepAlive(args)
	runtime.KeepAlive(yargs)
}

func TestStacks(t *testing.T) {
	for _, n := range []int{-1, 0, 4096, ctx.MinStackSize - 1, ctx.MaxStackSize + 1} {
		if _, err := ctx.NewStack(n); !errors.Is(err, ctx.ErrStackSize) {
			t.Errorf("NewStack(%d) = %v, want ErrStackSize", n, err)
		}
		if _, err := ctx.New(cabi.Count, 0, ctx.WithStackSize(n)); !errors.Is(err, ctx.ErrStackSize) {
			t.Errorf("New with stack size %d = %v, want ErrStackSize", n, err)
		}
	}
	s, err := ctx.NewStack(ctx.MinStackSize + 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() < ctx.MinStackSize+1 || s.Size()%os.Getpagesize() != 0 {
		t.Errorf("size %d: not rounded up to pages", s.Size())
	}
	c, err := ctx.New(cabi.Count, 2, ctx.WithStack(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctx.New(cabi.Count, 2, ctx.WithStack(s)); !errors.Is(err, ctx.ErrStackInUse) {
		t.Errorf("second coroutine on a busy stack: %v", err)
	}
	if err := s.Free(); !errors.Is(err, ctx.ErrStackInUse) {
		t.Errorf("Free of a busy stack: %v", err)
	}
	c.Resume(0)
	c.Close()
	// The caller's stack serves again after Close.
	c2, err := ctx.New(cabi.Count, 2, ctx.WithStack(s))
	if err != nil {
		t.Fatalf("reuse after Close: %v", err)
	}
	if v, _, err := c2.Resume(0); err != nil || v != 0 {
		t.Fatalf("reused stack: %d, %v", v, err)
	}
	c2.Close()
	if err := s.Free(); err != nil {
		t.Fatal(err)
	}
	if err := s.Free(); !errors.Is(err, ctx.ErrStackFreed) {
		t.Errorf("double Free: %v", err)
	}
}

// overflows runs body in a child process (this test binary again, running
// only the test named test): the child must die, first printing want,
// the overflow line, and must not survive body.
func overflows(t *testing.T, test string, body func(), want string) {
	t.Helper()
	if os.Getenv("CTX_OVERFLOW_CHILD") == test {
		body()
		println("survived the overflow")
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := selfCommand(exe, "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), "CTX_OVERFLOW_CHILD="+test)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || strings.Contains(string(out), "survived") {
		t.Fatalf("the overflowing child did not die (err %v):\n%s", err, firstLines(out, 12))
	}
	if !strings.HasPrefix(string(out), want) && !strings.Contains(string(out), "\n"+want) {
		t.Fatalf("child output lacks the overflow line %q:\n%s", want, firstLines(out, 12))
	}
}

// TestWideGuard: a body whose frame skips the page just below its stack
// (a frame larger than the stack, writing at its far end) still lands in
// the 64 KiB guard region: the process ends, first printing the line.
func TestWideGuard(t *testing.T) {
	overflows(t, "TestWideGuard", func() {
		c, err := ctx.New(cabi.SkipGuard, uintptr(os.Getpagesize()), ctx.WithName("skipper"))
		if err != nil {
			panic(err)
		}
		c.Resume(0)
	}, "corokernel: stack overflow in skipper: it hit the guard page")
}

// TestGuardPageOverflow recurses past the stack in a subprocess: the
// process must die, and first print the line naming the coroutine.
func TestGuardPageOverflow(t *testing.T) {
	overflows(t, "TestGuardPageOverflow", func() {
		c, err := ctx.New(cabi.Deep, 1<<20, ctx.WithName("deep-recursion"))
		if err != nil {
			panic(err)
		}
		c.Resume(0)
	}, "corokernel: stack overflow in deep-recursion: it hit the guard page below its 65536-byte stack\n")
}

// selfCommand runs the test binary again. Under an emulator without
// binfmt_misc (the arm64 run in tests/ uses qemu-user) the child must go
// through the same emulator: CK_EXEC_WRAPPER names it, words separated by
// spaces.
func selfCommand(exe string, args ...string) *exec.Cmd {
	if w := strings.Fields(os.Getenv("CK_EXEC_WRAPPER")); len(w) > 0 {
		return exec.Command(w[0], append(append(w[1:], exe), args...)...)
	}
	return exec.Command(exe, args...)
}

func firstLines(b []byte, n int) string {
	l := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}

// sortOnCoroutine sorts xs with libc qsort running on a coroutine stack,
// calling cmp (a ctx callback) for every comparison.
func sortOnCoroutine(t testing.TB, xs []int32, cmp uintptr) {
	qsort, err := purego.Dlsym(libc(t), "qsort")
	if err != nil {
		t.Fatal(err)
	}
	var pin runtime.Pinner
	pin.Pin(&xs[0])
	defer pin.Unpin()
	args := cargs(t, qsort, uintptr(unsafe.Pointer(&xs[0])), uintptr(len(xs)), 4, cmp)
	c, err := ctx.New(cabi.Call6, uintptr(unsafe.Pointer(args)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	if c.Status() != ctx.Dead {
		t.Fatalf("qsort body is %v after one resume", c.Status())
	}
	runtime.KeepAlive(args)
}

var libcHandle uintptr

func libc(t testing.TB) uintptr {
	if libcHandle == 0 {
		h, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW)
		if err != nil {
			t.Fatal(err)
		}
		libcHandle = h
	}
	return libcHandle
}

func randInts(n int, seed uint32) []int32 {
	xs := make([]int32, n)
	x := seed | 1
	for i := range xs {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		xs[i] = int32(x)
	}
	return xs
}

var cmpInt32 = func() uintptr {
	cb, err := ctx.NewCallback(func(a, b *int32) int {
		switch {
		case *a < *b:
			return -1
		case *a > *b:
			return 1
		}
		return 0
	})
	if err != nil {
		panic(err)
	}
	return cb
}()

// TestQsortGoCallbacks: qsort on coroutine stacks calling a Go comparator,
// from four goroutines on two Ps, while another goroutine forces GCs.
// Without the switch to the system stack this dies with "morestack on g0".
func TestQsortGoCallbacks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	stop := make(chan struct{})
	gcDone := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				gcDone <- n
				return
			default:
				runtime.GC()
				n++
			}
		}
	}()
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			xs := randInts(n, uint32(g+1)*2654435761)
			want := slices.Clone(xs)
			slices.Sort(want)
			sortOnCoroutine(t, xs, cmpInt32)
			if !slices.Equal(xs, want) {
				errs <- errors.New("qsort on a coroutine did not sort")
				return
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	if gcs := <-gcDone; gcs == 0 {
		t.Error("no GC ran during the sorts")
	}
}

// TestCallbackOutsideCoroutine: a wrapped callback called from plain Go-to-C
// code (not on a coroutine stack) calls straight through.
func TestCallbackOutsideCoroutine(t *testing.T) {
	cb, err := ctx.NewCallback(func(a, b uintptr) uintptr { return a*10 + b })
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := purego.SyscallN(cb, 4, 2); r != 42 {
		t.Fatalf("callback = %d, want 42", r)
	}
	if _, err := ctx.NewCallback(42); err == nil {
		t.Fatal("NewCallback of a non-function succeeded")
	}
	if _, err := ctx.NewCallback((func())(nil)); err == nil {
		t.Fatal("NewCallback of a nil function succeeded")
	}
}
