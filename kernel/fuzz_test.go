//go:build linux

package kernel

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/cdemo"
)

// FuzzScheduler runs random programs of Yield, NewTask, KillTask,
// WaitTask, Sleep and GetTid, in Go, step and native (C) tasks mixed in
// one kernel, and checks the kernel against the reference model of
// model_test.go.
//
// A fuzz input decodes into a program (decode): up to 4 scripts of up to
// 12 ops, and up to 3 root tasks, each running a script as a task of some
// kind. Every task records the result of each trap, the target of each
// kill and wait, and each resume in one event list shared by all tasks
// (native ones do it in C: ck_script in cdemo/c/tasks.c). A program with
// no real sleep (Sleep(0) is Yield) is deterministic: its outcome must be
// the model's, exactly, run once with the native tasks batched in native
// code and once one trap at a time (with the trace on):
//
//   - the same event list: which task ran, in which order;
//   - the same results of every trap of every task, the same targets,
//     the same tasks finished or killed, each killed one in the same trap;
//   - the same order of "Task N terminated" lines (WithLog);
//   - Run returns ErrDeadlock exactly when the model deadlocks, else nil.
//
// A program with real sleeps runs in an order that depends on time, so
// only facts that do not depend on the order are checked (checkFacts, also
// checked for every other program, and for the model's outcome): every
// task spawned is logged as terminated exactly once; each task resumed
// once more than the traps it saw answered; each trap's result is possible
// for its op (GetTid is the task's own TID, NewTask the TID of the slot it
// filled, KillTask and WaitTask of no task or of the caller 0, KillTask and
// WaitTask 0 or 1, Yield and Sleep 0); no task is killed twice, nor after
// it finished; and no wakeup is lost: a task that did not finish was
// killed by a KillTask (one that returned 1, or one whose caller was
// killed before it saw the result), and when Run returns ErrDeadlock the
// program has a WaitTask and every task left was waiting for another task
// left. In every run no task panics and every kernel table ends empty.
//
// Without a C compiler the native tasks run as step tasks, and the test
// says so.
func FuzzScheduler(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzScheduler (see TestFuzzCorpus).
	fn := scriptFn(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := decode(data)
		checkProgram(t, p, fn)
	})
}

// scriptFn returns ck_script, or 0 (saying so) without a C compiler.
func scriptFn(f *testing.F) uintptr {
	l, err := cdemo.Load()
	if errors.Is(err, cdemo.ErrNoCompiler) {
		f.Logf("native tasks run as step tasks: %v", err)
		return 0
	}
	if err != nil {
		f.Fatal(err)
	}
	fn, err := l.Sym("ck_script")
	if err != nil {
		f.Fatal(err)
	}
	return fn
}

// checkProgram runs p in the kernel and checks it: against the model if
// it has no real sleep, and checkFacts always.
func checkProgram(t *testing.T, p *program, fn uintptr) {
	t.Helper()
	if p.sleeps() {
		got := runKernel(t, p, fn, false)
		if bad := checkFacts(p, got); len(bad) > 0 {
			t.Fatalf("program:\n%v\nkernel:\n%v\n%s", p, got, strings.Join(bad, "\n"))
		}
		return
	}
	want := runModel(p)
	if bad := checkFacts(p, want); len(bad) > 0 {
		t.Fatalf("program:\n%v\nmodel:\n%v\nthe model breaks the facts:\n%s", p, want, strings.Join(bad, "\n"))
	}
	for _, traced := range []bool{false, true} {
		got := runKernel(t, p, fn, traced)
		if got.String() != want.String() {
			t.Fatalf("trace %v: program:\n%v\nkernel:\n%v\nmodel:\n%v", traced, p, got, want)
		}
	}
}

// The world of a program run: the layout of ck_script's structures
// (struct ck_sprog, ck_sop, ck_stask in cdemo/c/tasks.c), in one pinned
// allocation that Go, step and native tasks all write to. Only one task
// runs at a time.
type world struct {
	prog   cProg
	ops    [maxScripts * (maxOps + 1)]cOp
	tasks  [maxTasks]cTask
	events [maxEvents]int32
}

type cProg struct {
	Fn, Ops, Tasks, Events uintptr
	NTasks, Cap            uint32
	NEvents, MaxEvents     uint32
	Start                  [8]uint32
}

type cOp struct {
	Op uint32
	A  uint32
	B  int64
}

type cTask struct {
	Script, Kind, State, N uint32
	PC, Slot               uint32
	Prog                   uintptr
	Res, Arg               [maxRes]int64
}

// cTask.State values (CK_S_NEW...).
const (
	stNew = iota
	stRunning
	stDone
	stKilled
)

// The C structures' sizes on LP64 (amd64, arm64): a compile-time check.
var (
	_ [unsafe.Sizeof(cTask{}) - 288]struct{}
	_ [288 - unsafe.Sizeof(cTask{})]struct{}
	_ [unsafe.Sizeof(cProg{}) - 80]struct{}
	_ [80 - unsafe.Sizeof(cProg{})]struct{}
	_ [unsafe.Sizeof(cOp{}) - 16]struct{}
	_ [16 - unsafe.Sizeof(cOp{})]struct{}
)

// fuzzRun is one run of a program in the kernel.
type fuzzRun struct {
	p  *program
	w  *world
	fn uintptr // ck_script, or 0: native tasks run as step tasks
}

// newTask fills slot with a task of kind running script, and returns it.
func (h *fuzzRun) newTask(slot, script, kind int) Task {
	if kind == kindNative && h.fn == 0 {
		kind = kindStep
	}
	rec := &h.w.tasks[slot]
	*rec = cTask{Script: uint32(script), Kind: uint32(kind), Slot: uint32(slot),
		Prog: uintptr(unsafe.Pointer(&h.w.prog))}
	v := &vm{h: h, rec: rec}
	switch kind {
	case kindNative:
		return Native(h.fn, uintptr(unsafe.Pointer(rec)))
	case kindStep:
		return Step(&stepScript{vm: v})
	}
	return Go(v.goRun)
}

// vm runs a script in Go, for Go and step tasks, as ck_script does in C.
type vm struct {
	h         *fuzzRun
	rec       *cTask
	me, child int64
	started   bool
}

// next takes the result r of the trap the task made (none on its first
// resume) and returns the next trap to make, or false at the end of the
// script.
func (v *vm) next(r int64) (Trap, bool) {
	rec, w := v.rec, v.h.w
	ops := v.h.p.Scripts[rec.Script]
	if !v.started {
		v.started = true
		rec.State = stRunning
	} else {
		switch ops[rec.PC].Op {
		case fzGetTid:
			v.me = r
		case fzSpawn:
			v.child = r
		}
		rec.Res[rec.N] = r
		rec.N++
		rec.PC++
	}
	if w.prog.NEvents < maxEvents {
		w.events[w.prog.NEvents] = int32(rec.Slot)
	}
	w.prog.NEvents++
	for ; int(rec.PC) < len(ops) && ops[rec.PC].Op != fzEnd && rec.N < maxRes; rec.PC++ {
		o := ops[rec.PC]
		rec.Arg[rec.N] = 0
		switch o.Op {
		case fzSpawn:
			if w.prog.NTasks >= w.prog.Cap {
				rec.Res[rec.N] = noSpawn
				rec.N++
				continue
			}
			slot := w.prog.NTasks
			w.prog.NTasks++
			rec.Arg[rec.N] = int64(slot)
			return NewTask(v.h.newTask(int(slot), int(o.A), int(o.B))), true
		case fzKill, fzWait:
			target := o.B
			switch o.A {
			case tMe:
				target = v.me
			case tChild:
				target = v.child
			}
			rec.Arg[rec.N] = target
			if o.Op == fzKill {
				return KillTask(TID(target)), true
			}
			return WaitTask(TID(target)), true
		case fzSleep:
			return Sleep(time.Duration(o.B)), true
		case fzGetTid:
			return GetTid(), true
		}
		return Yield(), true
	}
	rec.State = stDone
	return Trap{}, false
}

// goRun runs the script as a Go task, through the methods of Sys.
func (v *vm) goRun(s *Sys) {
	defer func() {
		if v.rec.State == stRunning {
			v.rec.State = stKilled
		}
	}()
	b := func(ok bool) int64 {
		if ok {
			return 1
		}
		return 0
	}
	var r int64
	for tr, ok := v.next(0); ok; tr, ok = v.next(r) {
		r = 0
		switch tr.Op {
		case OpYield:
			s.Yield()
		case OpGetTid:
			r = int64(s.GetTid())
		case OpNewTask:
			r = int64(s.NewTask(tr.Task))
		case OpKillTask:
			r = b(s.KillTask(TID(tr.A)))
		case OpWaitTask:
			r = b(s.WaitTask(TID(tr.A)))
		case OpSleep:
			s.Sleep(time.Duration(tr.A))
		}
	}
}

// stepScript runs the script as a step task.
type stepScript struct{ *vm }

func (m *stepScript) Step(r int64) Trap {
	tr, ok := m.next(r)
	if !ok {
		return Exit(0)
	}
	return tr
}

func (m *stepScript) Kill() {
	if m.rec.State == stRunning {
		m.rec.State = stKilled
	}
}

// runKernel runs p in a kernel and returns what it did. It fails t if a
// task panics, Run fails otherwise than with ErrDeadlock, or a table of
// the kernel is left with something in it.
func runKernel(t *testing.T, p *program, fn uintptr, traced bool) *outcome {
	t.Helper()
	w := new(world)
	var pin runtime.Pinner
	pin.Pin(w)
	defer pin.Unpin()
	h := &fuzzRun{p: p, w: w, fn: fn}
	n := 0
	for j, s := range p.Scripts {
		w.prog.Start[j] = uint32(n)
		for _, o := range s {
			w.ops[n] = cOp{Op: uint32(o.Op), A: o.A, B: o.B}
			n++
		}
		n++ // op 0 ends the script
	}
	w.prog.Fn = fn
	w.prog.Ops = uintptr(unsafe.Pointer(&w.ops[0]))
	w.prog.Tasks = uintptr(unsafe.Pointer(&w.tasks[0]))
	w.prog.Events = uintptr(unsafe.Pointer(&w.events[0]))
	w.prog.Cap, w.prog.MaxEvents = maxTasks, maxEvents

	var log bytes.Buffer
	opts := []Option{WithLog(&log), WithPoller(p.Poller)}
	if traced {
		opts = append(opts, WithTrace(io.Discard))
	}
	k := New(opts...)
	w.prog.NTasks = uint32(len(p.Roots))
	for i, r := range p.Roots {
		if tid := k.Spawn(h.newTask(i, r.Script, r.Kind)); tid != TID(i+1) {
			t.Fatalf("root %d spawned as task %d", i+1, tid)
		}
	}
	err := k.Run()
	if err != nil && err != ErrDeadlock {
		t.Fatalf("program:\n%v\nRun: %v", p, err)
	}
	checkEmpty(t, k)
	for tid := range TID(w.prog.NTasks) {
		if v, ok := k.Panic(tid + 1); ok {
			t.Fatalf("program:\n%v\ntask %d panicked: %v", p, tid+1, v)
		}
	}

	o := &outcome{Deadlock: err == ErrDeadlock}
	sc := bufio.NewScanner(&log)
	for sc.Scan() {
		var tid TID
		if _, err := fmt.Sscanf(sc.Text(), "Task %d terminated", &tid); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		o.Log = append(o.Log, tid)
	}
	if w.prog.NEvents > maxEvents {
		t.Fatalf("%d events, more than the %d a program can make", w.prog.NEvents, maxEvents)
	}
	o.Events = slices.Clone(w.events[:w.prog.NEvents])
	for i := range w.prog.NTasks {
		rec := &w.tasks[i]
		if rec.N > maxRes {
			t.Fatalf("task %d recorded %d results", i+1, rec.N)
		}
		to := taskOutcome{Script: int(rec.Script), Done: rec.State == stDone, PC: int(rec.PC),
			Res: slices.Clone(rec.Res[:rec.N])}
		na := rec.N
		if rec.State != stNew && !to.Done {
			na++ // the trap it was killed in
		}
		to.Arg = slices.Clone(rec.Arg[:na])
		o.Tasks = append(o.Tasks, to)
	}
	return o
}

// checkFacts checks what an outcome of p must satisfy whatever the order
// of events, and returns what it breaks.
func checkFacts(p *program, out *outcome) (bad []string) {
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	n := len(out.Tasks)
	if n < len(p.Roots) || n > maxTasks {
		fail("%d tasks for %d roots", n, len(p.Roots))
		return bad
	}
	// Every task ends once.
	seen := make([]int, n+1)
	for _, tid := range out.Log {
		if tid < 1 || int(tid) > n {
			fail("log names task %d of %d", tid, n)
			continue
		}
		seen[tid]++
	}
	for tid := 1; tid <= n; tid++ {
		if seen[tid] != 1 {
			fail("task %d terminated %d times", tid, seen[tid])
		}
	}
	// Each task's resumes: none, or one more than its results.
	resumes := make([]int, n)
	for _, e := range out.Events {
		if e < 0 || int(e) >= n {
			fail("event names slot %d", e)
			continue
		}
		resumes[e]++
	}
	parent := make([]int, n) // slot -> spawning TID, or -1 for roots
	for i := range len(p.Roots) {
		parent[i] = -1
	}
	killedBy := make([]int, n+1) // TID -> killer's TID
	pendingWait := make([]int64, n+1)
	pendingKill := make([]int, n+1) // TID -> killers killed before they saw the result
	for i, to := range out.Tasks {
		tid := int64(i + 1)
		started := resumes[i] > 0
		if !started && (len(to.Res) > 0 || to.Done) {
			fail("task %d: never resumed, %d results (done %v)", tid, len(to.Res), to.Done)
		}
		if to.Script < 0 || to.Script >= len(p.Scripts) {
			fail("task %d runs script %d", tid, to.Script)
			continue
		}
		ops := p.Scripts[to.Script]
		var me, child int64
		j := 0     // results consumed
		traps := 0 // of them, results of traps (a spawn over the cap makes none)
		pc := 0
		for ; pc < len(ops) && ops[pc].Op != fzEnd; pc++ {
			if j == len(to.Res) {
				break
			}
			o, r := ops[pc], to.Res[j]
			arg := int64(0)
			if j < len(to.Arg) {
				arg = to.Arg[j]
			}
			target := o.B
			switch o.A {
			case tMe:
				target = me
			case tChild:
				target = child
			}
			j++
			if r != noSpawn || o.Op != fzSpawn {
				traps++
			}
			switch o.Op {
			case fzYield, fzSleep:
				if r != 0 {
					fail("task %d op %d %v = %d", tid, pc, o, r)
				}
			case fzGetTid:
				me = r
				if r != tid {
					fail("task %d: GetTid = %d", tid, r)
				}
			case fzSpawn:
				if r == noSpawn {
					break
				}
				child = r
				if r != arg+1 || arg < int64(len(p.Roots)) || arg >= int64(n) {
					fail("task %d: spawn into slot %d = task %d", tid, arg, r)
				} else if parent[arg] != 0 {
					fail("task %d: slot %d spawned twice", tid, arg)
				} else {
					parent[arg] = int(tid)
				}
			case fzKill, fzWait:
				if arg != target {
					fail("task %d op %d %v: target %d, want %d", tid, pc, o, arg, target)
				}
				switch {
				case r != 0 && r != 1:
					fail("task %d op %d %v = %d", tid, pc, o, r)
				case o.Op == fzKill && target == tid:
					fail("task %d returned from killing itself", tid)
				case r == 1 && (target == tid || target < 1 || target > int64(n)):
					fail("task %d op %d %v = 1 for no task", tid, pc, o)
				case r == 1 && o.Op == fzKill:
					if killedBy[target] != 0 {
						fail("task %d killed by %d and %d", target, killedBy[target], tid)
					}
					killedBy[target] = int(tid)
					if out.Tasks[target-1].Done {
						fail("task %d killed %d, which finished", tid, target)
					}
				}
			}
		}
		if started && resumes[i] != traps+1 {
			fail("task %d: %d resumes for %d traps", tid, resumes[i], traps)
		}
		switch {
		case j != len(to.Res):
			fail("task %d: %d results for the ops of script %d", tid, len(to.Res), to.Script)
		case to.Done:
			if pc != to.PC || pc < len(ops) && ops[pc].Op != fzEnd {
				fail("task %d finished at op %d, ended at %d", tid, to.PC, pc)
			}
		case started:
			// Killed while suspended in the trap of op pc.
			if pc != to.PC || pc >= len(ops) || ops[pc].Op == fzEnd || len(to.Arg) != j+1 {
				fail("task %d killed at op %d of script %d (ends at %d, %d args)", tid, to.PC, to.Script, pc, len(to.Arg))
				break
			}
			o := ops[pc]
			target := o.B
			switch o.A {
			case tMe:
				target = me
			case tChild:
				target = child
			}
			if (o.Op == fzKill || o.Op == fzWait) && to.Arg[j] != target {
				fail("task %d killed in %v: target %d, want %d", tid, o, to.Arg[j], target)
			}
			switch {
			case o.Op == fzSpawn:
				if slot := to.Arg[j]; slot < int64(len(p.Roots)) || slot >= int64(n) || parent[slot] != 0 {
					fail("task %d killed in a spawn into slot %d", tid, slot)
				} else {
					parent[slot] = int(tid)
				}
			case o.Op == fzKill && target == tid:
				if killedBy[tid] != 0 {
					fail("task %d killed by %d and by itself", tid, killedBy[tid])
				}
				killedBy[tid] = int(tid)
			case o.Op == fzWait:
				pendingWait[tid] = target
			case o.Op == fzKill && target >= 1 && target <= int64(n):
				pendingKill[target]++ // it may have killed target
			}
		}
	}
	for slot := len(p.Roots); slot < n; slot++ {
		if parent[slot] == 0 {
			fail("task %d was never returned by a spawn", slot+1)
		}
	}
	// No lost wakeup: the tasks that neither finished nor were killed by
	// a KillTask that returned 1 were killed by a KillTask whose killer
	// was killed before it saw the result, or by the deadlock, each
	// waiting for another such task.
	var left []int
	isLeft := make([]bool, n+1)
	for i, to := range out.Tasks {
		if !to.Done && killedBy[i+1] == 0 {
			left = append(left, i+1)
			isLeft[i+1] = true
		}
	}
	waitsLeft := func(tid int) bool {
		w := pendingWait[tid]
		return w >= 1 && w <= int64(n) && isLeft[w]
	}
	switch {
	case !out.Deadlock:
		for _, tid := range left {
			if pendingKill[tid] == 0 {
				fail("no deadlock, but task %d neither finished nor was killed", tid)
			}
		}
	case !p.hasWait():
		fail("deadlock without a WaitTask")
	case !slices.ContainsFunc(left, waitsLeft):
		fail("deadlock, but no task left waits for another (left: %v)", left)
	default:
		for _, tid := range left {
			if pendingKill[tid] == 0 && !waitsLeft(tid) {
				fail("deadlock: task %d was not waiting for a task left (%d): lost wakeup", tid, pendingWait[tid])
			}
		}
	}
	return bad
}

// decode makes the program of a fuzz input. Every input is a program;
// missing bytes read as 0. Layout: a byte for the number of scripts and
// the poller, a byte for the number of roots, a byte per root (script,
// kind), then per script a length byte and 3 bytes per op.
func decode(data []byte) *program {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	p := &program{}
	b := next()
	ns := 1 + int(b)%maxScripts
	p.Poller = Pollers()[int(b/maxScripts)%len(Pollers())]
	nr := 1 + int(next())%maxRoots
	for range nr {
		b := next()
		p.Roots = append(p.Roots, sroot{Script: int(b&15) % ns, Kind: int(b>>4) % numKinds})
	}
	for range ns {
		n := int(next()) % (maxOps + 1)
		ops := []sop{}
		for range n {
			c, x, y := next(), next(), next()
			o := sop{Op: fzYield + sopCode(c%7)}
			switch o.Op {
			case fzSpawn:
				o.A, o.B = uint32(x)%uint32(ns), int64(y)%numKinds
			case fzKill, fzWait:
				switch x % 4 {
				case 0:
					o.B = int64(y % 16)
				case 1:
					o.A = tMe
				case 2:
					o.A = tChild
				case 3:
					o.B = 1000 + int64(y) // no such task
				}
			case fzSleep: // one in 8 sleeps for real: most programs are deterministic
				if x%8 == 7 {
					o.B = sleepUnit * (1 + int64(y%4))
				}
			}
			ops = append(ops, o)
		}
		p.Scripts = append(p.Scripts, ops)
	}
	return p
}

// sleepUnit is the step of real sleeps in fuzz programs (ns).
const sleepUnit = 10_000

// encode is the inverse of decode: decode(encode(p)) is p.
func encode(p *program) []byte {
	pi := slices.Index(Pollers(), p.Poller)
	if pi < 0 {
		panic("encode: unknown poller " + p.Poller)
	}
	out := []byte{byte(len(p.Scripts)-1) + byte(pi*maxScripts), byte(len(p.Roots) - 1)}
	for _, r := range p.Roots {
		out = append(out, byte(r.Script)|byte(r.Kind)<<4)
	}
	for _, s := range p.Scripts {
		out = append(out, byte(len(s)))
		for _, o := range s {
			var x, y byte
			switch o.Op {
			case fzSpawn:
				x, y = byte(o.A), byte(o.B)
			case fzKill, fzWait:
				switch {
				case o.A != tAbs:
					x = byte(o.A)
				case o.B >= 1000:
					x, y = 3, byte(o.B-1000)
				default:
					y = byte(o.B)
				}
			case fzSleep:
				if o.B > 0 {
					x, y = 7, byte(o.B/sleepUnit-1)
				}
			}
			out = append(out, byte(o.Op-fzYield), x, y)
		}
	}
	return out
}

// A seed program, named for the case it covers.
type fuzzSeed struct {
	name string
	p    program
}

// Shorthands for writing programs.
var (
	y, gt = sop{Op: fzYield}, sop{Op: fzGetTid}
)

func spawn(j, kind int) sop        { return sop{Op: fzSpawn, A: uint32(j), B: int64(kind)} }
func kill(a uint32, tid int64) sop { return sop{Op: fzKill, A: a, B: tid} }
func wait(a uint32, tid int64) sop { return sop{Op: fzWait, A: a, B: tid} }
func sleep(d time.Duration) sop    { return sop{Op: fzSleep, B: int64(d)} }
func ops(o ...sop) []sop           { return o }
func roots(r ...sroot) []sroot     { return r }
func root(script, kind int) sroot  { return sroot{Script: script, Kind: kind} }
func yields(n int, then ...sop) []sop {
	return append(slices.Repeat([]sop{y}, n), then...)
}

// fuzzSeeds is the seed corpus, also in testdata/fuzz/FuzzScheduler
// (written by go test -run TestFuzzCorpus -fuzzcorpus).
var fuzzSeeds = []fuzzSeed{
	{"pyos5-kill-ready", program{Poller: "select",
		Scripts: [][]sop{ops(spawn(1, kindGo), y, y, y, y, y, kill(tChild, 0)), yields(10)},
		Roots:   roots(root(0, kindStep))}},
	{"pyos6-wait-child", program{Poller: "poll",
		Scripts: [][]sop{ops(spawn(1, kindNative), wait(tChild, 0)), ops(gt, y, y, y, y)},
		Roots:   roots(root(0, kindGo))}},
	{"kill-while-waiting", program{Poller: "epoll",
		// 1 waits for 2; 3 kills 1 while it waits, then 2 ends.
		Scripts: [][]sop{ops(wait(tAbs, 2), gt), yields(4), ops(y, kill(tAbs, 1), wait(tAbs, 2))},
		Roots:   roots(root(0, kindNative), root(1, kindGo), root(2, kindStep))}},
	{"wait-self-kill-self", program{Poller: "select",
		// Wait and kill of oneself, of task 0 and of no task; the
		// waiter on the self-killer wakes.
		Scripts: [][]sop{ops(gt, wait(tMe, 0), wait(tAbs, 0), kill(tAbs, 0), wait(tAbs, 1005), kill(tAbs, 1009), y, kill(tMe, 0), y),
			ops(wait(tAbs, 1), gt)},
		Roots: roots(root(0, kindNative), root(1, kindGo), root(0, kindStep))}},
	{"chain-of-waits", program{Poller: "select",
		// Each task spawns the next kind's and waits for it; the last
		// yields.
		Scripts: [][]sop{ops(spawn(1, kindStep), wait(tChild, 0), gt), ops(spawn(2, kindNative), wait(tChild, 0)),
			ops(spawn(3, kindGo), wait(tChild, 0), y), yields(3, gt)},
		Roots: roots(root(0, kindGo))}},
	{"spawn-storm", program{Poller: "poll",
		// Every task spawns two more of each kind until the cap.
		Scripts: [][]sop{ops(spawn(0, kindGo), spawn(0, kindStep), spawn(0, kindNative), y, spawn(0, kindNative), gt)},
		Roots:   roots(root(0, kindGo), root(0, kindStep), root(0, kindNative))}},
	{"deadlock-cycle", program{Poller: "select",
		Scripts: [][]sop{ops(wait(tAbs, 2)), ops(wait(tAbs, 3), y), ops(y, wait(tAbs, 1))},
		Roots:   roots(root(0, kindGo), root(1, kindStep), root(2, kindNative))}},
	{"deadlock-after-end", program{Poller: "epoll",
		// 1 and 2 wait for each other; 3 ends normally first.
		Scripts: [][]sop{ops(y, wait(tAbs, 2)), ops(wait(tAbs, 1)), yields(5)},
		Roots:   roots(root(0, kindNative), root(1, kindNative), root(2, kindGo))}},
	{"kill-wakes-waiters-in-order", program{Poller: "select",
		// Task 2 yields; 3, 4 and 5 (one of each kind) wait for it; 1
		// kills it: they wake in the order they waited, before 1.
		Scripts: [][]sop{ops(spawn(2, kindNative), spawn(1, kindStep), spawn(1, kindNative), spawn(1, kindGo), y, y, kill(tAbs, 2), y),
			ops(wait(tAbs, 2), gt), yields(8)},
		Roots: roots(root(0, kindGo))}},
	{"kill-never-started", program{Poller: "poll",
		// A child killed before it ever ran, of each kind.
		Scripts: [][]sop{ops(spawn(1, kindGo), kill(tChild, 0), spawn(1, kindStep), kill(tChild, 0),
			spawn(1, kindNative), kill(tChild, 0), wait(tChild, 0)), ops(gt)},
		Roots: roots(root(0, kindGo), root(0, kindNative))}},
	{"native-batch-kill", program{Poller: "select",
		// Native yielders cycled in native code while a Go task kills
		// one of them and a step task waits for another.
		Scripts: [][]sop{yields(12), ops(y, y, y, kill(tAbs, 2), y, kill(tAbs, 3)), ops(wait(tAbs, 1), gt)},
		Roots:   roots(root(0, kindNative), root(0, kindNative), root(2, kindStep))}},
	{"mutual-kill", program{Poller: "epoll",
		Scripts: [][]sop{ops(y, kill(tAbs, 2), y), ops(y, kill(tAbs, 1), y)},
		Roots:   roots(root(0, kindGo), root(1, kindNative))}},
	{"sleepers", program{Poller: "epoll",
		// Real sleeps: the order depends on time.
		Scripts: [][]sop{ops(spawn(1, kindNative), sleep(20*time.Microsecond), wait(tChild, 0), spawn(1, kindGo), kill(tChild, 0)),
			ops(sleep(10*time.Microsecond), gt, sleep(30*time.Microsecond), y)},
		Roots: roots(root(0, kindStep), root(1, kindGo), root(0, kindNative))}},
	{"sleep-zero", program{Poller: "select",
		Scripts: [][]sop{ops(sleep(0), spawn(1, kindStep), sleep(0), wait(tChild, 0)), ops(sleep(0), kill(tAbs, 1))},
		Roots:   roots(root(0, kindNative))}},
}

var fuzzCorpus = flag.Bool("fuzzcorpus", false, "write the seed programs to testdata/fuzz/FuzzScheduler")

// TestFuzzCorpus checks that the seed programs round-trip through the
// fuzz input encoding and that testdata holds each one, as go test's
// corpus file; with -fuzzcorpus it writes them there.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzScheduler")
	for _, s := range fuzzSeeds {
		data := encode(&s.p)
		if got := decode(data); got.String() != s.p.String() || got.Poller != s.p.Poller {
			t.Errorf("%s: decodes to\n%v\nwant\n%v", s.name, got, &s.p)
		}
		file := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		path := filepath.Join(dir, "seed-"+s.name)
		if *fuzzCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != file {
			t.Errorf("%s: not in testdata as written (go test -run TestFuzzCorpus -fuzzcorpus): %v", path, err)
		}
	}
	// Any input: decode, encode and decode again gives the same program.
	for i := range 2000 {
		data := []byte(strconv.Itoa(i * 7919))
		for j := range i % 40 {
			data = append(data, byte(i*31+j*17))
		}
		p := decode(data)
		if q := decode(encode(p)); q.String() != p.String() || q.Poller != p.Poller {
			t.Fatalf("input %q: %v re-decodes to %v", data, p, q)
		}
	}
}

// TestFuzzChecks makes sure the checks can fail: outcomes broken on
// purpose are caught, each by the check meant for it.
func TestFuzzChecks(t *testing.T) {
	s := fuzzSeeds[1] // pyos6-wait-child: 1 waits for its child 2
	if bad := checkFacts(&s.p, runModel(&s.p)); len(bad) > 0 {
		t.Fatalf("the model's outcome breaks the facts: %v", bad)
	}
	for _, tc := range []struct {
		name, want string
		breakIt    func(o *outcome)
	}{
		{"lost task", "task 2 terminated 0 times", func(o *outcome) { o.Log = o.Log[1:] }},
		{"twice", "task 2 terminated 2 times", func(o *outcome) { o.Log = append(o.Log, 2) }},
		{"bad gettid", "task 2: GetTid = 1", func(o *outcome) { o.Tasks[1].Res[0] = 1 }},
		{"bad spawn", "spawn into slot 1 = task 3", func(o *outcome) { o.Tasks[0].Res[0] = 3 }},
		{"false deadlock", "deadlock, but no task left waits", func(o *outcome) { o.Deadlock = true }},
		{"not ended", "no deadlock, but task 1 neither", func(o *outcome) {
			o.Tasks[0].Done, o.Tasks[0].PC, o.Tasks[0].Res = false, 1, o.Tasks[0].Res[:1]
			o.Events = o.Events[:len(o.Events)-1]
		}},
		{"lost wakeup", "deadlock, but no task left waits for another (left: [1])", func(o *outcome) {
			// 1 is left waiting for 2, which ended, and Run reports a
			// deadlock.
			o.Tasks[0].Done, o.Tasks[0].PC, o.Tasks[0].Res = false, 1, o.Tasks[0].Res[:1]
			o.Events = o.Events[:len(o.Events)-1]
			o.Deadlock = true
		}},
	} {
		o := runModel(&s.p)
		tc.breakIt(o)
		bad := checkFacts(&s.p, o)
		if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, tc.want) }) {
			t.Errorf("%s: want %q among %q", tc.name, tc.want, bad)
		}
	}
}
