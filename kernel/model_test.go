package kernel

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// This file holds the reference model of the scheduler that the fuzz test
// (fuzz_test.go) checks the kernel against: Beazley's pyos (pyos7 and
// 8), written as plainly as possible, with the points where the kernel's
// documentation is more precise than pyos:
//
//   - The ready queue is a FIFO. A new task goes to its end; a task whose
//     trap does not block (Yield, GetTid, NewTask, KillTask of another
//     task or of no task, WaitTask of no task or of itself, Sleep(0)) goes
//     back to its end after the trap, NewTask's child before its parent.
//   - KillTask of another task takes it out of wherever it waits (the
//     ready queue or another task's exit waiters) and ends it at once:
//     "Task N terminated" is logged then, and its exit waiters are queued,
//     in the order they began to wait, before the killer is queued again
//     (pyos would only close the generator and let the task end when it
//     next ran).
//   - KillTask of the caller ends the caller; WaitTask of the caller
//     returns 0 at once (pyos would wait for ever).
//   - A task that ends, by finishing or by being killed, queues its exit
//     waiters with result 1.
//   - A task killed while suspended never sees the result of the trap it
//     was suspended in.
//   - When no task is ready and tasks remain, all of them wait for one
//     another: that is a deadlock (Run's ErrDeadlock), and the remaining
//     tasks are killed in increasing TID order.
//
// The model knows nothing of task kinds: Go, step and native tasks have
// the same semantics. It has no clock, so it runs only programs without
// real sleeps; Sleep(0) is Yield.

// sopCode is an operation of a fuzz script. The values are shared with
// ck_script (cdemo/c/tasks.c).
type sopCode uint32

const (
	fzYield  sopCode = iota + 1 // Yield
	fzSpawn                     // NewTask(script A, kind B); no trap once the program has maxTasks tasks
	fzKill                      // KillTask(target)
	fzWait                      // WaitTask(target)
	fzSleep                     // Sleep(B ns)
	fzGetTid                    // GetTid; remembered as "me"
	fzEnd                       // end the script here
)

// Targets of fzKill and fzWait (sop.A).
const (
	tAbs   = 0 // task B
	tMe    = 1 // the result of the caller's last GetTid (0 before one)
	tChild = 2 // the caller's last child (0 before one)
)

// Task kinds (sroot.Kind, sop.B of fzSpawn, cTask.Kind).
const (
	kindGo = iota
	kindStep
	kindNative
	numKinds
)

var kindNames = [numKinds]string{"go", "step", "native"}

// noSpawn is the result recorded for a spawn once the program has
// maxTasks tasks: the spawn makes no trap.
const noSpawn = -1000

// Limits of a program, shared with ck_script's structures.
const (
	maxScripts = 4
	maxOps     = 12 // per script
	maxRoots   = 3
	maxTasks   = 32 // tasks spawned in all, roots included
	maxRes     = 16 // results recorded per task (CK_S_MAXRES)
	maxEvents  = maxTasks * (maxOps + 1)
)

// sop is one operation of a script.
type sop struct {
	Op sopCode
	A  uint32
	B  int64
}

func (o sop) String() string {
	switch o.Op {
	case fzYield:
		return "Yield"
	case fzSpawn:
		return fmt.Sprintf("Spawn(%d,%s)", o.A, kindNames[o.B])
	case fzKill, fzWait:
		name := "Kill"
		if o.Op == fzWait {
			name = "Wait"
		}
		switch o.A {
		case tMe:
			return name + "(me)"
		case tChild:
			return name + "(child)"
		}
		return fmt.Sprintf("%s(%d)", name, o.B)
	case fzSleep:
		return fmt.Sprintf("Sleep(%d)", o.B)
	case fzGetTid:
		return "GetTid"
	case fzEnd:
		return "End"
	}
	return fmt.Sprintf("op%d", o.Op)
}

// sroot is a task spawned before Run.
type sroot struct {
	Script int
	Kind   int
}

// program is what a fuzz input decodes into: scripts, and the root tasks
// that run them.
type program struct {
	Scripts [][]sop
	Roots   []sroot
	Poller  string // the kernel's poller (the model has none)
}

func (p *program) String() string {
	var b strings.Builder
	if p.Poller != "" {
		fmt.Fprintf(&b, "poller %s\n", p.Poller)
	}
	for i, r := range p.Roots {
		fmt.Fprintf(&b, "root %d: script %d (%s)\n", i+1, r.Script, kindNames[r.Kind])
	}
	for j, s := range p.Scripts {
		fmt.Fprintf(&b, "script %d: %v\n", j, s)
	}
	return b.String()
}

// sleeps reports whether p has a real sleep (Sleep with d > 0), which
// makes the order of events depend on time.
func (p *program) sleeps() bool {
	for _, s := range p.Scripts {
		for _, o := range s {
			if o.Op == fzSleep && o.B > 0 {
				return true
			}
		}
	}
	return false
}

// hasWait reports whether p has a WaitTask: without one it cannot deadlock.
func (p *program) hasWait() bool {
	for _, s := range p.Scripts {
		for _, o := range s {
			if o.Op == fzWait {
				return true
			}
		}
	}
	return false
}

// outcome is what a program did: the same facts, from the model or from
// the kernel.
type outcome struct {
	Tasks    []taskOutcome // by slot: task TID slot+1
	Log      []TID         // the order of "Task N terminated"
	Events   []int32       // the slot of each task resumed, in order
	Deadlock bool
}

type taskOutcome struct {
	Script int
	Done   bool    // finished its script (else killed)
	PC     int     // not done: the op it was suspended in
	Res    []int64 // result of each trap, in order
	Arg    []int64 // its target (Kill, Wait) or the child's slot (Spawn), else 0
}

func (o *outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deadlock %v, log %v\nevents %v\n", o.Deadlock, o.Log, o.Events)
	for i, t := range o.Tasks {
		fmt.Fprintf(&b, "task %d: script %d done %v pc %d res %v arg %v\n", i+1, t.Script, t.Done, t.PC, t.Res, t.Arg)
	}
	return b.String()
}

// mtask is a task of the model.
type mtask struct {
	taskOutcome
	tid       TID
	started   bool
	alive     bool
	result    int64 // the result of the trap it is suspended in
	me, child int64
	waitFor   *mtask   // in WaitTask
	waiters   []*mtask // in WaitTask on this one, in order
}

// model is the reference scheduler.
type model struct {
	p     *program
	tasks []*mtask
	ready []*mtask
	out   outcome
}

// runModel runs p in the model. p must have no real sleep.
func runModel(p *program) *outcome {
	if p.sleeps() {
		panic("model: a program with real sleeps")
	}
	m := &model{p: p}
	for _, r := range p.Roots {
		m.spawn(r.Script)
	}
	for m.alive() > 0 {
		if len(m.ready) == 0 {
			// Every task left waits for another: kill them, lowest TID first.
			m.out.Deadlock = true
			for _, t := range m.tasks {
				if t.alive {
					m.kill(t)
				}
			}
			break
		}
		t := m.ready[0]
		m.ready = m.ready[1:]
		m.resume(t)
	}
	for _, t := range m.tasks {
		m.out.Tasks = append(m.out.Tasks, t.taskOutcome)
	}
	return &m.out
}

func (m *model) alive() int {
	n := 0
	for _, t := range m.tasks {
		if t.alive {
			n++
		}
	}
	return n
}

func (m *model) spawn(script int) *mtask {
	t := &mtask{tid: TID(len(m.tasks) + 1), alive: true}
	t.Script = script
	m.tasks = append(m.tasks, t)
	m.ready = append(m.ready, t)
	return t
}

func (m *model) lookup(tid int64) *mtask {
	if tid < 1 || tid > int64(len(m.tasks)) || !m.tasks[tid-1].alive {
		return nil
	}
	return m.tasks[tid-1]
}

// resume runs t from the trap it is suspended in to its next trap.
func (m *model) resume(t *mtask) {
	if t.started {
		t.Res = append(t.Res, t.result)
		t.PC++
	}
	t.started = true
	m.out.Events = append(m.out.Events, int32(t.tid-1))
	ops := m.p.Scripts[t.Script]
	for ; t.PC < len(ops) && ops[t.PC].Op != fzEnd; t.PC++ {
		o := ops[t.PC]
		var target int64
		switch o.Op {
		case fzSpawn:
			if len(m.tasks) >= maxTasks {
				t.Res = append(t.Res, noSpawn)
				t.Arg = append(t.Arg, 0)
				continue
			}
			c := m.spawn(int(o.A))
			t.child = int64(c.tid)
			t.Arg = append(t.Arg, int64(c.tid-1))
			m.reschedule(t, int64(c.tid))
			return
		case fzKill, fzWait:
			switch o.A {
			case tMe:
				target = t.me
			case tChild:
				target = t.child
			default:
				target = o.B
			}
			t.Arg = append(t.Arg, target)
			x := m.lookup(target)
			switch {
			case x == t && o.Op == fzKill:
				m.kill(t)
			case x == nil || x == t:
				m.reschedule(t, 0)
			case o.Op == fzKill:
				m.kill(x)
				m.reschedule(t, 1)
			default:
				t.waitFor = x
				x.waiters = append(x.waiters, t)
			}
			return
		case fzGetTid:
			t.me = int64(t.tid)
			t.Arg = append(t.Arg, 0)
			m.reschedule(t, int64(t.tid))
			return
		default: // Yield, Sleep(0)
			t.Arg = append(t.Arg, 0)
			m.reschedule(t, 0)
			return
		}
	}
	t.Done = true
	m.exit(t)
}

func (m *model) reschedule(t *mtask, r int64) {
	t.result = r
	m.ready = append(m.ready, t)
}

// kill ends t wherever it is.
func (m *model) kill(t *mtask) {
	if i := slices.Index(m.ready, t); i >= 0 {
		m.ready = slices.Delete(m.ready, i, i+1)
	}
	if w := t.waitFor; w != nil {
		w.waiters = slices.DeleteFunc(w.waiters, func(x *mtask) bool { return x == t })
		t.waitFor = nil
	}
	m.exit(t)
}

// exit ends t and wakes its exit waiters.
func (m *model) exit(t *mtask) {
	t.alive = false
	m.out.Log = append(m.out.Log, t.tid)
	for _, w := range t.waiters {
		w.waitFor = nil
		m.reschedule(w, 1)
	}
	t.waiters = nil
}

// TestModel checks the model itself on programs whose outcome is worked
// out by hand from pyos's rules.
func TestModel(t *testing.T) {
	y, gt, end := sop{Op: fzYield}, sop{Op: fzGetTid}, sop{Op: fzEnd}
	spawn := func(j int) sop { return sop{Op: fzSpawn, A: uint32(j)} }
	kill := func(a uint32, b int64) sop { return sop{Op: fzKill, A: a, B: b} }
	wait := func(a uint32, b int64) sop { return sop{Op: fzWait, A: a, B: b} }
	for _, tc := range []struct {
		name string
		p    program
		want outcome
	}{{
		// pyos5: main spawns foo, yields 5 times (foo runs 5 times), kills it.
		name: "pyos5",
		p: program{
			Scripts: [][]sop{{spawn(1), y, y, y, y, y, kill(tChild, 0)}, {gt, y, y, y, y, y, y, y, y, y}},
			Roots:   []sroot{{0, kindGo}},
		},
		want: outcome{
			Log:    []TID{2, 1},
			Events: []int32{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0},
			Tasks: []taskOutcome{
				{Script: 0, Done: true, PC: 7, Res: []int64{2, 0, 0, 0, 0, 0, 1}, Arg: []int64{1, 0, 0, 0, 0, 0, 2}},
				{Script: 1, PC: 5, Res: []int64{2, 0, 0, 0, 0}, Arg: []int64{0, 0, 0, 0, 0, 0}},
			},
		},
	}, {
		// pyos6: main waits for a child that yields 5 times.
		name: "pyos6",
		p: program{
			Scripts: [][]sop{{spawn(1), wait(tChild, 0)}, {gt, y, y, y, y}},
			Roots:   []sroot{{0, kindStep}},
		},
		want: outcome{
			Log:    []TID{2, 1},
			Events: []int32{0, 1, 0, 1, 1, 1, 1, 1, 0},
			Tasks: []taskOutcome{
				{Script: 0, Done: true, PC: 2, Res: []int64{2, 1}, Arg: []int64{1, 2}},
				{Script: 1, Done: true, PC: 5, Res: []int64{2, 0, 0, 0, 0}, Arg: []int64{0, 0, 0, 0, 0}},
			},
		},
	}, {
		// Wait and kill of oneself and of no task; then the kill ends
		// the task, so the ops after it never run.
		name: "self",
		p: program{
			Scripts: [][]sop{{gt, wait(tMe, 0), wait(tAbs, 9), kill(tAbs, 0), kill(tMe, 0), y}},
			Roots:   []sroot{{0, kindNative}},
		},
		want: outcome{
			Log:    []TID{1},
			Events: []int32{0, 0, 0, 0, 0},
			Tasks:  []taskOutcome{{Script: 0, PC: 4, Res: []int64{1, 0, 0, 0}, Arg: []int64{0, 1, 9, 0, 1}}},
		},
	}, {
		// Two waiters on task 3, which task 4 kills: 3 is logged at the
		// kill, its waiters are queued in the order they waited, then
		// the killer.
		name: "kill wakes waiters",
		p: program{
			Scripts: [][]sop{{wait(tAbs, 3)}, {y, y, y}, {y, kill(tAbs, 3)}},
			Roots:   []sroot{{0, kindGo}, {0, kindGo}, {1, kindGo}, {2, kindGo}},
		},
		want: outcome{
			Log:    []TID{3, 1, 2, 4},
			Events: []int32{0, 1, 2, 3, 2, 3, 0, 1, 3},
			Tasks: []taskOutcome{
				{Script: 0, Done: true, PC: 1, Res: []int64{1}, Arg: []int64{3}},
				{Script: 0, Done: true, PC: 1, Res: []int64{1}, Arg: []int64{3}},
				{Script: 1, PC: 1, Res: []int64{0}, Arg: []int64{0, 0}},
				{Script: 2, Done: true, PC: 2, Res: []int64{0, 1}, Arg: []int64{0, 3}},
			},
		},
	}, {
		// A cycle of waits: a deadlock, the tasks killed lowest TID first.
		name: "deadlock",
		p: program{
			Scripts: [][]sop{{wait(tAbs, 2), end, y}, {wait(tAbs, 1)}},
			Roots:   []sroot{{0, kindGo}, {1, kindNative}},
		},
		want: outcome{
			Deadlock: true,
			Log:      []TID{1, 2},
			Events:   []int32{0, 1},
			Tasks: []taskOutcome{
				{Script: 0, Arg: []int64{2}},
				{Script: 1, Arg: []int64{1}},
			},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := runModel(&tc.p)
			if fmt.Sprint(got) != fmt.Sprint(&tc.want) {
				t.Errorf("model:\n%v\nwant:\n%v", got, &tc.want)
			}
		})
	}
}
