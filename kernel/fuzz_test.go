//go:build linux

package kernel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
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
