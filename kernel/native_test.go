//go:build linux

package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/corokernel/corokernel/ctx"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/cabi"
	"golang.org/x/sys/unix"
)

// The native versions of Beazley's programs are C, in cdemo/c/tasks.c;
// they print through struct ck_out, whose write is a Go callback.

var (
	nativeOnce sync.Once
	nativeLib  *cdemo.Lib
	nativeErr  error
)

// native loads the C library, skipping the test only if there is no C
// compiler.
func native(t testing.TB) *cdemo.Lib {
	t.Helper()
	nativeOnce.Do(func() {
		nativeLib, nativeErr = cdemo.Load()
	})
	if errors.Is(nativeErr, cdemo.ErrNoCompiler) {
		t.Skip(nativeErr)
	}
	if nativeErr != nil {
		t.Fatal(nativeErr)
	}
	return nativeLib
}

func sym(t testing.TB, name string) uintptr {
	p, err := native(t).Sym(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// printer serialises Go's writes with the C tasks' (cdemo.PrintTo's lock
// is theirs; this one is shared by every printer).
type printer struct{ w io.Writer }

var printMu sync.Mutex

func (p printer) Write(b []byte) (int, error) {
	printMu.Lock()
	defer printMu.Unlock()
	return p.w.Write(b)
}

// printTo makes the C tasks print to w and returns their struct ck_out.
func printTo(w io.Writer) uintptr {
	arg, err := cdemo.PrintTo(w)
	if err != nil {
		panic(err) // native made the callback
	}
	return arg
}

// goldenNative are Beazley's programs as native tasks.
var goldenNative = map[string][]string{
	"pyos3": {"ck_pyos3_foo", "ck_pyos3_bar"},
	"pyos4": {"ck_pyos4_foo", "ck_pyos4_bar"},
	"pyos5": {"ck_pyos5_main"},
	"pyos6": {"ck_pyos6_main"},
}

// TestGoldenNative runs Beazley's programs as C tasks: byte for byte the
// Beazley's output, both with the native tasks cycled in native code and,
// with the trace on, one trap at a time.
func TestGoldenNative(t *testing.T) {
	for _, traced := range []bool{false, true} {
		for name, want := range golden {
			t.Run(fmt.Sprintf("%s/trace=%v", name, traced), func(t *testing.T) {
				var out, trace bytes.Buffer
				opts := []Option{WithLog(&out)}
				if traced {
					opts = append(opts, WithTrace(&trace))
				}
				k := New(opts...)
				arg := printTo(&out)
				for _, s := range goldenNative[name] {
					k.Spawn(Native(sym(t, s), arg))
				}
				if err := k.Run(); err != nil {
					t.Fatalf("Run: %v", err)
				}
				if got := out.String(); got != want {
					t.Errorf("output:\n%s\nwant:\n%s", got, want)
				}
				if traced && !strings.Contains(trace.String(), "Yield() = 0") {
					t.Errorf("trace shows no Yield:\n%s", trace.String())
				}
				checkEmpty(t, k)
			})
		}
	}
}

func TestNativeMisuse(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		var out bytes.Buffer
		k := New(withPoller(poller))
		k.Spawn(Native(sym(t, "ck_misuse"), printTo(&out)))
		if err := k.Run(); err != nil {
			t.Fatal(err)
		}
		want := "outside a task: -1\nunknown op: -38\nnegative fd: -9\nclosed fd: -9\n" +
			"recv, no ck_buf: -22\nrecv, len 0: -22\nsend, NULL data: -22\nrecv, negative fd: -9\naccept, closed fd: -9\n" +
			"close: 0\nclose again: -9\nclose, negative fd: -9\nstill running: 1\n"
		if out.String() != want {
			t.Fatalf("misuse:\n%s\nwant:\n%s", out.String(), want)
		}
		checkEmpty(t, k)
	})
	if Native(0, 0) != (Task{}) {
		t.Fatal("Native(0) is not the zero Task")
	}
}

// TestNativeMixed runs step, Go and native tasks together, spawning,
// waiting on and killing each other across kinds.
func TestNativeMixed(t *testing.T) {
	native(t) // skips here, on the test's goroutine, without a compiler
	var out bytes.Buffer
	arg := printTo(printer{&out})
	wk := &struct {
		out        uintptr
		wait, kill int64
	}{out: arg}
	var pin runtime.Pinner
	pin.Pin(wk)
	defer pin.Unpin()

	k := New(WithLog(&out))
	say := func(s string) { fmt.Fprintln(printer{&out}, s) }
	k.Spawn(Go(func(s *Sys) { // task 1
		victim := s.NewTask(Go(func(s *Sys) { // task 2: killed by native
			defer say("go victim unwound")
			for {
				s.Yield()
			}
		}))
		yielder := s.NewTask(Native(cabi.TrapLoop, uint32Op(OpYield))) // task 3: killed by step
		i := 0
		st := s.NewTask(Step(StepFunc(func(r int64) Trap { // task 4
			switch i++; i {
			case 1, 2, 3:
				return Yield()
			case 4:
				return KillTask(yielder)
			}
			say(fmt.Sprintf("step killed native: %d", r))
			return Exit(0)
		})))
		wk.wait, wk.kill = int64(st), int64(victim)
		n := s.NewTask(Native(sym(t, "ck_wait_kill"), uintptr(unsafe.Pointer(wk)))) // task 5
		say(fmt.Sprintf("go waited for native: %v", s.WaitTask(n)))
	}))
	if err := k.Run(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"Task 3 terminated\nstep killed native: 1\nTask 4 terminated\nnative: waited 1\n",
		"go victim unwound\nTask 2 terminated\nnative: killed 1\nTask 5 terminated\ngo waited for native: true\nTask 1 terminated\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks\n%s\ngot:\n%s", want, got)
		}
	}
	checkEmpty(t, k)
}

func uint32Op(o Op) uintptr { return uintptr(o) }

// TestNativeKill kills native tasks blocked in each kind of wait: the trap
// returns CodeKilled and the body returns; one that traps again is
// abandoned; no wait is left behind.
func TestNativeKill(t *testing.T) {
	r, w := pipe(t)
	type block struct {
		op            uint32
		a             uintptr
		result, again int64
	}
	blocks := []*block{
		{op: uint32(OpReadWait), a: uintptr(r)},
		{op: uint32(OpSleep), a: 3600e9},
		{op: uint32(OpWaitTask), a: 1},             // task 1 runs until the end
		{op: uint32(OpSleep), a: 3600e9, again: 1}, // traps again after the kill
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	k := New()
	var tids []TID
	k.Spawn(Go(func(s *Sys) { // task 1
		for range 3 {
			s.Yield()
		}
		for _, tid := range tids {
			if !s.KillTask(tid) {
				t.Errorf("KillTask(%d) of a native task = false", tid)
			}
			if s.KillTask(tid) {
				t.Errorf("second KillTask(%d) = true", tid)
			}
		}
	}))
	for _, b := range blocks {
		b.result, b.again = 77, 77*b.again
		pin.Pin(b)
		tids = append(tids, k.Spawn(Native(sym(t, "ck_block"), uintptr(unsafe.Pointer(b)))))
	}
	if err := k.Run(); err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if b.result != int64(CodeKilled) {
			t.Errorf("block %d (op %v): trap returned %d, want CodeKilled", i, Op(b.op), b.result)
		}
	}
	if b := blocks[3]; b.again != 77 {
		t.Errorf("the trap after the kill returned %d: it must not return at all", b.again)
	}
	checkEmpty(t, k)
	unix.Close(r)
	unix.Close(w)
}

// TestNativeBatch checks that native tasks that only yield stay in native
// code: 2 tasks x 1000 Yields take a handful of cgocalls (one per cycle of
// the scheduler's budget), not one per trap.
func TestNativeBatch(t *testing.T) {
	ops := make([]uint32, 1001)
	for i := range 1000 {
		ops[i] = uint32(OpYield)
	}
	var pin runtime.Pinner
	pin.Pin(&ops[0])
	defer pin.Unpin()
	k := New()
	for range 2 {
		k.Spawn(Native(cabi.TrapSeq, uintptr(unsafe.Pointer(&ops[0]))))
	}
	before := runtime.NumCgoCall()
	if err := k.Run(); err != nil {
		t.Fatal(err)
	}
	calls := runtime.NumCgoCall() - before
	t.Logf("2000 Yield traps in %d cgocalls", calls)
	if calls > 200 {
		t.Fatalf("2000 native Yield traps took %d cgocalls: they are not batched", calls)
	}
	checkEmpty(t, k)
}

// panicWriter panics once, on the write after the first n.
type panicWriter struct {
	w io.Writer
	n int
}

func (p *panicWriter) Write(b []byte) (int, error) {
	p.n--
	if p.n == -1 {
		panic("write refused")
	}
	return p.w.Write(b)
}

// TestNativeCallbackPanic: a native task's Go callback panics while native
// tasks run batched in one cycle (no trace): the panic is recorded against
// that task, which ends, and the other task runs to its end.
func TestNativeCallbackPanic(t *testing.T) {
	foo, bar := sym(t, "ck_pyos3_foo"), sym(t, "ck_pyos3_bar")
	var buf bytes.Buffer
	out := printTo(&panicWriter{w: &buf, n: 5})
	defer printTo(io.Discard)
	k := New()
	tf := k.Spawn(Native(foo, out))
	tb := k.Spawn(Native(bar, out))
	run(t, k)
	pf, okf := k.Panic(tf)
	pb, okb := k.Panic(tb)
	if okf == okb || (okf && pf != "write refused") || (okb && pb != "write refused") {
		t.Fatalf("panics: foo %v (%v), bar %v (%v); want the callback's against exactly one", pf, okf, pb, okb)
	}
	survivor, lines := "I'm bar", 5
	if okb {
		survivor, lines = "I'm foo", 10
	}
	if n := strings.Count(buf.String(), survivor); n != lines {
		t.Fatalf("%q printed %d lines, want all %d:\n%s", survivor, n, lines, buf.String())
	}
}

// TestNativeTaskThread: a native task's C frames always run on one OS
// thread, though the scheduler's goroutine waits in its poller between
// the task's traps and other goroutines keep the Go scheduler busy (a
// task may hold a lock that belongs to its thread). The scheduler's
// goroutine is locked to its thread while it runs.
func TestNativeTaskThread(t *testing.T) {
	fn := sym(t, "ck_thread_log")
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				runtime.Gosched()
			}
		})
	}
	defer func() { done.Store(true); wg.Wait() }()
	for _, poller := range Pollers() {
		log := make([]int64, 41)
		log[0] = 40
		var pin runtime.Pinner
		pin.Pin(&log[0])
		k := New(withPoller(poller))
		for range 3 {
			k.Spawn(Go(func(s *Sys) {
				for range 20 {
					s.Sleep(300 * time.Microsecond)
				}
			}))
		}
		k.Spawn(Native(fn, uintptr(unsafe.Pointer(&log[0]))))
		if err := k.Run(); err != nil {
			t.Fatal(err)
		}
		pin.Unpin()
		for i := 2; i <= 40; i++ {
			if log[i] != log[1] {
				t.Fatalf("%s: the native task ran on thread %d, then on %d (trap %d)", poller, log[1], log[i], i-1)
			}
		}
	}
}

// TestNativeMapLimit: more native tasks alive at once than the system's
// memory mappings allow stacks for (vm.max_map_count, 65530 by default:
// about 30,000 stacks). The tasks whose stacks cannot be made fail once,
// each with ctx.ErrMapLimit as its panic, and the others sleep and end;
// Run returns. (Each refusal costs no re-read of /proc/self/maps: they
// used to, on every scheduling step, and the kernel hung.) In a child
// process, since it takes the process's mappings to the limit.
func TestNativeMapLimit(t *testing.T) {
	const n = 33_000
	if os.Getenv("KERNEL_MAPS_CHILD") == "1" {
		k := New()
		tids := make([]TID, n)
		for i := range tids {
			tids[i] = k.Spawn(Native(sym(t, "ck_sleeper"), uintptr(300*time.Millisecond)))
		}
		start := time.Now()
		if err := k.Run(); err != nil {
			panic(err)
		}
		refused, other := 0, 0
		for _, tid := range tids {
			if p, ok := k.Panic(tid); ok {
				if err, _ := p.(error); errors.Is(err, ctx.ErrMapLimit) {
					refused++
				} else {
					other++
				}
			}
		}
		fmt.Printf("%d tasks: %d refused a stack, %d other failures, in %v\n", n, refused, other, time.Since(start).Round(time.Millisecond))
		if other != 0 || k.NumTasks() != 0 {
			os.Exit(3)
		}
		os.Exit(0)
	}
	if _, err := os.Stat("/proc/sys/vm/max_map_count"); err != nil {
		t.Skip("no /proc/sys/vm/max_map_count")
	}
	if testing.Short() {
		t.Skip("maps tens of thousands of stacks")
	}
	sym(t, "ck_sleeper") // skips without a C compiler
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-test.run=^TestNativeMapLimit$")
	cmd.Env = append(os.Environ(), "KERNEL_MAPS_CHILD=1")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the kernel did not finish %d tasks past the mapping limit in 3 minutes:\n%s", n, out)
	}
	t.Log(strings.TrimSpace(string(out)))
	if err != nil || !strings.Contains(string(out), "refused a stack, 0 other failures") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// spawnOrder is the state of TestSpawnFromCallbackOrder's callback.
var spawnOrder struct {
	k      *Kernel
	events []string
}

// TestSpawnFromCallbackOrder: native tasks call a Go callback between
// their Yields, and the callback spawns a task with Kernel.Spawn. The
// order of everything that runs is the same with the native tasks run in
// batched ring cycles (the default) as one at a time (with the trace on):
// a spawn from a callback stops the cycle, and the child joins the queue
// where it would have.
func TestSpawnFromCallbackOrder(t *testing.T) {
	fn := sym(t, "ck_caller")
	cb, err := ctx.NewCallback(func(id, step uintptr) uintptr {
		spawnOrder.events = append(spawnOrder.events, fmt.Sprintf("p%d.%d", id, step))
		if step == 1 || step == 3 {
			name := fmt.Sprintf("c%d.%d", id, step)
			spawnOrder.k.Spawn(Go(func(s *Sys) {
				spawnOrder.events = append(spawnOrder.events, name)
				s.Yield()
				spawnOrder.events = append(spawnOrder.events, name+"'")
			}))
		}
		return 0
	})
	if err != nil {
		t.Fatal(err)
	}
	type caller struct{ cb, id, steps uintptr }
	run := func(opts ...Option) []string {
		spawnOrder.events = nil
		k := New(opts...)
		spawnOrder.k = k
		var pin runtime.Pinner
		defer pin.Unpin()
		for id := range uintptr(4) {
			c := &caller{cb, id, 6}
			pin.Pin(c)
			k.Spawn(Native(fn, uintptr(unsafe.Pointer(c))))
		}
		if err := k.Run(); err != nil {
			t.Fatal(err)
		}
		return spawnOrder.events
	}
	batched := run()
	single := run(WithTrace(io.Discard))
	if strings.Join(batched, " ") != strings.Join(single, " ") {
		t.Fatalf("batched: %v\none at a time: %v", batched, single)
	}
	if len(batched) != 4*6+4*2*2 {
		t.Fatalf("%d events: %v", len(batched), batched)
	}
}
