package kernel

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// golden holds the sample outputs of Beazley's course, byte for byte:
// the tasks' prints and the kernel's "Task N terminated" lines (WithLog)
// written to one buffer. Every task kind must reproduce them.
var golden = map[string]string{
	// pyos3.py: foo 10 times, bar 5 times (pyos2's foo and bar, ending).
	"pyos3": `I'm foo
I'm bar
I'm foo
I'm bar
I'm foo
I'm bar
I'm foo
I'm bar
I'm foo
I'm bar
I'm foo
Task 2 terminated
I'm foo
I'm foo
I'm foo
I'm foo
Task 1 terminated
`,
	// pyos4.py: GetTid.
	"pyos4": `I'm foo 1
I'm bar 2
I'm foo 1
I'm bar 2
I'm foo 1
I'm bar 2
I'm foo 1
I'm bar 2
I'm foo 1
I'm bar 2
Task 1 terminated
I'm bar 2
I'm bar 2
I'm bar 2
I'm bar 2
I'm bar 2
Task 2 terminated
`,
	// pyos5.py: NewTask and KillTask.
	"pyos5": `I'm foo 2
I'm foo 2
I'm foo 2
I'm foo 2
I'm foo 2
Task 2 terminated
main done
Task 1 terminated
`,
	// pyos6.py: WaitTask, with a foo that first traps GetTid.
	"pyos6": `Waiting for child
I'm foo 2
I'm foo 2
I'm foo 2
I'm foo 2
I'm foo 2
Task 2 terminated
Child done
Task 1 terminated
`,
}

// goldenGo are Beazley's programs as Go tasks: each spawns its tasks
// on k and prints to out.
var goldenGo = map[string]func(k *Kernel, out io.Writer){
	"pyos3": func(k *Kernel, out io.Writer) {
		loop := func(name string, n int) Task {
			return Go(func(s *Sys) {
				for range n {
					fmt.Fprintln(out, "I'm", name)
					s.Yield()
				}
			})
		}
		k.Spawn(loop("foo", 10))
		k.Spawn(loop("bar", 5))
	},
	"pyos4": func(k *Kernel, out io.Writer) {
		loop := func(name string, n int) Task {
			return Go(func(s *Sys) {
				mytid := s.GetTid()
				for range n {
					fmt.Fprintln(out, "I'm", name, mytid)
					s.Yield()
				}
			})
		}
		k.Spawn(loop("foo", 5))
		k.Spawn(loop("bar", 10))
	},
	"pyos5": func(k *Kernel, out io.Writer) {
		foo := Go(func(s *Sys) {
			mytid := s.GetTid()
			for {
				fmt.Fprintln(out, "I'm foo", mytid)
				s.Yield()
			}
		})
		k.Spawn(Go(func(s *Sys) {
			child := s.NewTask(foo)
			for range 5 {
				s.Yield()
			}
			s.KillTask(child)
			fmt.Fprintln(out, "main done")
		}))
	},
	"pyos6": func(k *Kernel, out io.Writer) {
		foo := Go(func(s *Sys) {
			mytid := s.GetTid()
			for range 5 {
				fmt.Fprintln(out, "I'm foo", mytid)
				s.Yield()
			}
		})
		k.Spawn(Go(func(s *Sys) {
			child := s.NewTask(foo)
			fmt.Fprintln(out, "Waiting for child")
			s.WaitTask(child)
			fmt.Fprintln(out, "Child done")
		}))
	},
}

// goldenStep are the same programs as step machines. Each machine keeps
// its program counter in pc, as a generator keeps its frame.
var goldenStep = map[string]func(k *Kernel, out io.Writer){
	"pyos3": func(k *Kernel, out io.Writer) {
		loop := func(name string, n int) Task {
			i := 0
			return Step(StepFunc(func(int64) Trap {
				if i == n {
					return Exit(0)
				}
				i++
				fmt.Fprintln(out, "I'm", name)
				return Yield()
			}))
		}
		k.Spawn(loop("foo", 10))
		k.Spawn(loop("bar", 5))
	},
	"pyos4": func(k *Kernel, out io.Writer) {
		k.Spawn(stepLoop(out, "foo", 5))
		k.Spawn(stepLoop(out, "bar", 10))
	},
	"pyos5": func(k *Kernel, out io.Writer) {
		pc, i := 0, 0
		var child TID
		k.Spawn(Step(StepFunc(func(r int64) Trap {
			switch pc {
			case 0:
				pc = 1
				return NewTask(stepLoop(out, "foo", -1))
			case 1:
				child, pc = TID(r), 2
				fallthrough
			case 2:
				if i < 5 {
					i++
					return Yield()
				}
				pc = 3
				return KillTask(child)
			}
			fmt.Fprintln(out, "main done")
			return Exit(0)
		})))
	},
	"pyos6": func(k *Kernel, out io.Writer) {
		pc := 0
		k.Spawn(Step(StepFunc(func(r int64) Trap {
			switch pc {
			case 0:
				pc = 1
				return NewTask(stepLoop(out, "foo", 5))
			case 1:
				pc = 2
				fmt.Fprintln(out, "Waiting for child")
				return WaitTask(TID(r))
			}
			fmt.Fprintln(out, "Child done")
			return Exit(0)
		})))
	},
}

// stepLoop is pyos4's foo as a step machine: GetTid, then n times (forever
// if n < 0) print "I'm name tid" and Yield.
func stepLoop(out io.Writer, name string, n int) Task {
	pc, i := 0, 0
	var mytid int64
	return Step(StepFunc(func(r int64) Trap {
		if pc == 0 {
			pc = 1
			return GetTid()
		}
		if pc == 1 {
			mytid, pc = r, 2
		}
		if i == n {
			return Exit(0)
		}
		i++
		fmt.Fprintln(out, "I'm", name, mytid)
		return Yield()
	}))
}

func TestGolden(t *testing.T) {
	for kind, progs := range map[string]map[string]func(*Kernel, io.Writer){
		"go":   goldenGo,
		"step": goldenStep,
	} {
		for name, want := range golden {
			t.Run(kind+"/"+name, func(t *testing.T) {
				prog := progs[name]
				if prog == nil {
					t.Fatalf("no %s version of %s", kind, name)
				}
				var out bytes.Buffer
				k := New(WithLog(&out))
				prog(k, &out)
				if err := k.Run(); err != nil {
					t.Fatalf("Run: %v", err)
				}
				if got := out.String(); got != want {
					t.Errorf("output:\n%s\nwant:\n%s", got, want)
				}
				checkEmpty(t, k)
			})
		}
	}
}

// checkEmpty fails t unless every table of k is empty: no task, nothing
// ready, waiting, sleeping or watched, and no leftover exit waiter.
func checkEmpty(t *testing.T, k *Kernel) {
	t.Helper()
	if n := k.NumTasks(); n != 0 {
		t.Errorf("%d tasks left", n)
	}
	if k.ready.n != 0 {
		t.Errorf("%d tasks left in the ready queue", k.ready.n)
	}
	for i, q := range k.ready.buf {
		if q != nil {
			t.Errorf("ready ring slot %d still holds task %d", i, q.tid)
		}
	}
	if k.undrained != 0 {
		t.Errorf("%d io_uring requests still in flight at the end of Run", k.undrained)
	}
	if k.lentLeft != 0 {
		t.Errorf("%d lent buffers not given back", k.lentLeft)
	}
	if len(k.timers) != 0 {
		t.Errorf("%d timers left", len(k.timers))
	}
	if k.nio != 0 {
		t.Errorf("%d I/O waits counted", k.nio)
	}
	for fd, w := range k.fds {
		if len(w.r)+len(w.w) != 0 {
			t.Errorf("fd %d still has waiters", fd)
		}
	}
	if k.cur != nil {
		t.Errorf("current task %d left set", k.cur.tid)
	}
}
