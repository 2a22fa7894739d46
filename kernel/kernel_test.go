//go:build linux

package kernel

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// run runs k and fails t if Run fails or leaves anything in k's tables.
func run(t *testing.T, k *Kernel) {
	t.Helper()
	if err := k.Run(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkEmpty(t, k)
}

// pipe returns a non-blocking pipe, closed when the test ends (closing an
// fd the test already closed is harmless there: fds are not reused
// between the test's own close and cleanup within one test).
func pipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// eachPoller runs f as a subtest for every poller.
func eachPoller(t *testing.T, f func(t *testing.T, poller string)) {
	for _, p := range []string{"select", "poll", "epoll", "epoll-owned", "uring"} {
		t.Run(p, func(t *testing.T) {
			if err := CheckPoller(strings.TrimSuffix(p, "-owned")); err != nil {
				t.Skip(err) // says why: no io_uring here, or refused
			}
			f(t, p)
		})
	}
}

// withPoller is WithPoller for eachPoller's names: "epoll-owned" is
// epoll WithOwnedFDs, whose tasks close what they waited on only through
// the kernel or just before they end.
func withPoller(name string) Option {
	if name == "epoll-owned" {
		return func(k *Kernel) {
			WithPoller("epoll")(k)
			WithOwnedFDs()(k)
		}
	}
	return WithPoller(name)
}

func TestUnknownTID(t *testing.T) {
	var got []bool
	k := New()
	k.Spawn(Go(func(s *Sys) {
		got = append(got, s.KillTask(99), s.WaitTask(99), s.KillTask(0), s.WaitTask(-1))
	}))
	var r []int64
	pc := 0
	k.Spawn(Step(StepFunc(func(res int64) Trap {
		if pc > 0 {
			r = append(r, res)
		}
		pc++
		switch pc {
		case 1:
			return KillTask(99)
		case 2:
			return WaitTask(99)
		case 3:
			return KillTask(-5)
		}
		return Exit(0)
	})))
	run(t, k)
	if !slices.Equal(got, []bool{false, false, false, false}) {
		t.Errorf("Go task: KillTask/WaitTask of unknown TIDs = %v, want all false", got)
	}
	if !slices.Equal(r, []int64{0, 0, 0}) {
		t.Errorf("step task: results %v, want 0 0 0", r)
	}
}

func TestWaitSelf(t *testing.T) {
	var got, other bool
	k := New()
	k.Spawn(Go(func(s *Sys) {
		got = s.WaitTask(s.GetTid())
		other = true
	}))
	var r int64 = -100
	pc := 0
	k.Spawn(Step(StepFunc(func(res int64) Trap {
		pc++
		switch pc {
		case 1:
			return GetTid()
		case 2:
			return WaitTask(TID(res))
		}
		r = res
		return Exit(0)
	})))
	run(t, k)
	if got || !other {
		t.Errorf("Go task: WaitTask(self) = %v, returned %v; want false, true", got, other)
	}
	if r != 0 {
		t.Errorf("step task: WaitTask(self) = %d, want 0", r)
	}
}

func TestKillSelf(t *testing.T) {
	var out bytes.Buffer
	var deferred, after bool
	var waited bool
	k := New(WithLog(&out))
	victim := k.Spawn(Go(func(s *Sys) {
		defer func() { deferred = true }()
		s.Yield()
		s.KillTask(s.GetTid())
		after = true
	}))
	k.Spawn(Go(func(s *Sys) { waited = s.WaitTask(victim) }))
	m := &killRecorder{}
	k.Spawn(Step(StepFunc(func(res int64) Trap {
		m.steps++
		switch m.steps {
		case 1:
			return GetTid()
		case 2:
			return KillTask(TID(res))
		}
		m.after = true
		return Exit(0)
	})))
	run(t, k)
	if !deferred || after {
		t.Errorf("Go task killing itself: deferred %v, ran on %v; want true, false", deferred, after)
	}
	if !waited {
		t.Error("WaitTask on a task that killed itself returned false")
	}
	if m.after {
		t.Error("step task was stepped again after killing itself")
	}
	if want := "Task 3 terminated\nTask 1 terminated\nTask 2 terminated\n"; out.String() != want {
		t.Errorf("log %q, want %q", out.String(), want)
	}
}

// killRecorder is a step machine that counts its steps and its kills.
type killRecorder struct {
	steps, kills int
	after        bool
	trap         Trap
}

func (m *killRecorder) Step(int64) Trap { m.steps++; return m.trap }
func (m *killRecorder) Kill()           { m.kills++ }

// TestKillWaiting kills tasks in each place a task can be: ready (started
// or not), sleeping, in ReadWait, in WriteWait, in WaitTask, and in a
// sub-machine call; each must vanish from every table, run its cleanup
// once, and never run again.
func TestKillWaiting(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		_, w := pipe(t)
		// Fill the pipe so that WriteWait blocks.
		for {
			if _, err := unix.Write(w, make([]byte, 65536)); err != nil {
				break
			}
		}
		r2, _ := pipe(t)
		r3, _ := pipe(t)
		var log []string
		goTask := func(name string, body func(s *Sys)) Task {
			return Go(func(s *Sys) {
				defer func() { log = append(log, name+" unwound") }()
				body(s)
				log = append(log, name+" returned")
			})
		}
		never := goTask("never", func(s *Sys) { log = append(log, "never ran") })
		yielder := goTask("yielder", func(s *Sys) {
			for {
				s.Yield()
			}
		})
		sleeper := goTask("sleeper", func(s *Sys) { s.Sleep(time.Hour) })
		reader := goTask("reader", func(s *Sys) { s.ReadWait(r3) })
		writer := goTask("writer", func(s *Sys) { s.WriteWait(w) })
		stepSleeper := &killRecorder{trap: Sleep(time.Hour)}
		stepReader := &killRecorder{trap: ReadWait(r2)}
		inner := &killRecorder{trap: ReadWait(r2)}
		outer := &killRecorder{trap: Call(Step(inner))}

		k := New(withPoller(poller))
		// A task killed before it ever ran, from the ready queue.
		var neverTID TID
		k.Spawn(Go(func(s *Sys) {
			if !s.KillTask(neverTID) {
				t.Error("KillTask of a task that never ran = false")
			}
		}))
		neverTID = k.Spawn(never)
		var waiter TID
		waiter = k.Spawn(goTask("waiter", func(s *Sys) { s.WaitTask(waiter + 1) }))
		k.Spawn(goTask("waited", func(s *Sys) { s.Sleep(time.Hour) }))
		var tids []TID
		for _, tk := range []Task{yielder, sleeper, reader, writer,
			Step(stepSleeper), Step(stepReader), Step(outer)} {
			tids = append(tids, k.Spawn(tk))
		}
		k.Spawn(Go(func(s *Sys) {
			s.Yield() // let the others block
			s.Yield()
			if n := len(k.fds[r3].r) + len(k.fds[r2].r) + len(k.fds[w].w); n != 4 {
				t.Errorf("%d tasks wait on the pipes, want 4", n)
			}
			if len(k.timers) != 3 || len(k.tasks[waiter+1].waiters) != 1 {
				t.Errorf("%d timers, %d exit waiters; want 3, 1", len(k.timers), len(k.tasks[waiter+1].waiters))
			}
			if !s.KillTask(waiter) {
				t.Error("KillTask(waiter) = false")
			}
			if n := len(k.tasks[waiter+1].waiters); n != 0 {
				t.Errorf("the killed waiter is still on the exit-wait list (%d)", n)
			}
			s.KillTask(waiter + 1)
			for _, tid := range tids {
				if !s.KillTask(tid) {
					t.Errorf("KillTask(%d) = false", tid)
				}
				if s.KillTask(tid) {
					t.Errorf("second KillTask(%d) = true", tid)
				}
			}
			if k.nio != 0 || len(k.timers) != 0 || k.ready.n != 0 {
				t.Errorf("after the kills: %d I/O waits, %d timers, %d ready; want none",
					k.nio, len(k.timers), k.ready.n)
			}
			// Only the wakeup eventfd is still watched.
			switch p := k.p.(type) {
			case *selectPoller:
				if len(p.fds) != 1 {
					t.Errorf("select poller still watches %v", p.fds)
				}
			case *pollPoller:
				if len(p.pfds) != 1 {
					t.Errorf("poll poller still watches %v", p.pfds)
				}
			case *epollPoller:
				for fd, st := range p.st {
					if st>>1 != 0 && fd != k.wakefd {
						t.Errorf("epoll still armed for fd %d", fd)
					}
				}
			}
		}))
		run(t, k)
		slices.Sort(log)
		want := []string{"reader unwound", "sleeper unwound", "waited unwound", "waiter unwound",
			"writer unwound", "yielder unwound"}
		if !slices.Equal(log, want) {
			t.Errorf("cleanup log %q, want %q", log, want)
		}
		for name, m := range map[string]*killRecorder{"sleeper": stepSleeper, "reader": stepReader,
			"inner": inner, "outer": outer} {
			if m.kills != 1 || m.steps != 1 {
				t.Errorf("step %s: %d kills, %d steps; want 1, 1", name, m.kills, m.steps)
			}
		}
	})
}

// TestKillWakesWaiters: the tasks waiting for a killed task resume, in
// the order they waited, with WaitTask true.
func TestKillWakesWaiters(t *testing.T) {
	var out bytes.Buffer
	k := New(WithLog(&out))
	target := k.Spawn(Go(func(s *Sys) { s.Sleep(time.Hour) }))
	for i := range 3 {
		k.Spawn(Go(func(s *Sys) {
			ok := s.WaitTask(target)
			fmt.Fprintf(&out, "waiter %d: %v\n", i, ok)
		}))
	}
	k.Spawn(Go(func(s *Sys) {
		s.Yield()
		fmt.Fprintln(&out, "kill:", s.KillTask(target))
	}))
	run(t, k)
	// As in pyos, the woken waiters are queued before the killer.
	want := "Task 1 terminated\nwaiter 0: true\nTask 2 terminated\nwaiter 1: true\nTask 3 terminated\n" +
		"waiter 2: true\nTask 4 terminated\nkill: true\nTask 5 terminated\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestBadTraps(t *testing.T) {
	var res []int64
	traps := []Trap{{Op: 0}, {Op: opMax + 1}, {Op: 99, A: 1, B: 2}, NewTask(Task{}), Call(Task{})}
	i := 0
	k := New()
	k.Spawn(Step(StepFunc(func(r int64) Trap {
		if i > 0 {
			res = append(res, r)
		}
		if i == len(traps) {
			return Exit(0)
		}
		i++
		return traps[i-1]
	})))
	var gres []int64
	var tid TID = -1
	k.Spawn(Go(func(s *Sys) {
		for _, tr := range traps {
			gres = append(gres, s.Trap(tr))
		}
		gres = append(gres, s.Trap(Exit(0)))
		tid = s.NewTask(Task{})
	}))
	run(t, k)
	want := []int64{int64(CodeNoSys), int64(CodeNoSys), int64(CodeNoSys), int64(CodeInvalid), int64(CodeInvalid)}
	if !slices.Equal(res, want) {
		t.Errorf("step task: results %v, want %v", res, want)
	}
	if !slices.Equal(gres, append(want, int64(CodeInvalid))) {
		t.Errorf("Go task: results %v, want %v", gres, append(want, int64(CodeInvalid)))
	}
	if tid != 0 {
		t.Errorf("NewTask(Task{}) = %d, want 0", tid)
	}
	if k.Spawn(Task{}) != 0 || k.Spawn(Go(nil)) != 0 || k.Spawn(Step(nil)) != 0 {
		t.Error("Spawn of a zero Task returned a TID")
	}
}

// TestSysOutsideTask uses a task's Sys from another task, after the task
// ended, after Run returned and from another goroutine: nothing traps.
func TestSysOutsideTask(t *testing.T) {
	var saved *Sys
	var fromOther []any
	k := New()
	k.Spawn(Go(func(s *Sys) {
		saved = s
		s.Yield()
		s.Yield()
	}))
	k.Spawn(Go(func(s *Sys) {
		s.Yield()
		fromOther = append(fromOther, saved.GetTid(), saved.ReadWait(0), saved.KillTask(1), saved.WaitTask(1),
			saved.NewTask(Go(func(*Sys) {})), saved.Trap(Yield()))
		saved.Yield()
		saved.Sleep(time.Hour)
	}))
	run(t, k)
	want := []any{TID(0), ErrNotTask, false, false, TID(0), int64(CodeNotTask)}
	if !slices.Equal(fromOther, want) {
		t.Errorf("from another task: %v, want %v", fromOther, want)
	}
	check := func(where string) {
		if tid := saved.GetTid(); tid != 0 {
			t.Errorf("%s: GetTid = %d", where, tid)
		}
		if err := saved.WriteWait(1); err != ErrNotTask {
			t.Errorf("%s: WriteWait = %v", where, err)
		}
		saved.Yield()
		saved.Sleep(time.Hour)
	}
	check("after Run")
	done := make(chan bool)
	go func() { check("another goroutine"); done <- true }()
	<-done
	var nilSys *Sys
	if nilSys.GetTid() != 0 || nilSys.ReadWait(0) != ErrNotTask {
		t.Error("a nil *Sys trapped")
	}
	if k.NumTasks() != 0 {
		t.Errorf("%d tasks after all", k.NumTasks())
	}
}

// TestUnwindingTraps: while a killed Go task unwinds, its defers can still
// spawn and kill tasks; a blocking trap unwinds further.
func TestUnwindingTraps(t *testing.T) {
	var out bytes.Buffer
	var log []string
	k := New(WithLog(&out))
	var child TID
	victim := k.Spawn(Go(func(s *Sys) {
		child = s.NewTask(Go(func(s *Sys) {
			defer func() { log = append(log, "child unwound") }()
			s.Sleep(time.Hour)
		}))
		defer func() {
			log = append(log, fmt.Sprint("kill child: ", s.KillTask(child)))
			log = append(log, fmt.Sprint("tid: ", s.GetTid()))
			s.NewTask(Go(func(s *Sys) { log = append(log, "orphan ran") }))
		}()
		defer func() {
			s.Yield() // blocking: unwinds on
			log = append(log, "after Yield")
		}()
		s.Sleep(time.Hour)
	}))
	k.Spawn(Go(func(s *Sys) { s.Yield(); s.KillTask(victim) }))
	run(t, k)
	want := []string{"child unwound", "kill child: true", "tid: 1", "orphan ran"}
	if !slices.Equal(log, want) {
		t.Errorf("log %q, want %q", log, want)
	}
}

func TestTrampoline(t *testing.T) {
	// add(x, y) is Beazley's trampoline example; twice(x) calls it, and main
	// calls twice: three machines deep.
	add := func(x, y int64) Task {
		return Step(StepFunc(func(int64) Trap { return Exit(x + y) }))
	}
	twice := func(x int64) Task {
		pc := 0
		return Step(StepFunc(func(r int64) Trap {
			pc++
			switch pc {
			case 1:
				return Call(add(x, x))
			case 2:
				return Yield() // a trap from inside a sub-machine
			}
			return Exit(2 * x)
		}))
	}
	var got []int64
	pc := 0
	k := New()
	k.Spawn(Step(StepFunc(func(r int64) Trap {
		pc++
		if pc > 1 {
			got = append(got, r)
		}
		switch pc {
		case 1:
			return Call(add(2, 2))
		case 2:
			return Call(twice(21))
		case 3:
			return GetTid()
		}
		return Exit(0)
	})))
	var fromGo int64
	k.Spawn(Go(func(s *Sys) { fromGo = s.Trap(Call(twice(5))) }))
	run(t, k)
	if !slices.Equal(got, []int64{4, 42, 1}) {
		t.Errorf("results %v, want 4 42 1", got)
	}
	if fromGo != 10 {
		t.Errorf("Go task calling a sub-machine got %d, want 10", fromGo)
	}
}

func TestSleep(t *testing.T) {
	var order []time.Duration
	k := New()
	start := time.Now()
	for _, d := range []time.Duration{30, 10, 20, 0, -5} {
		d *= time.Millisecond
		k.Spawn(Go(func(s *Sys) {
			s.Sleep(d)
			if e := time.Since(start); e < d {
				t.Errorf("Sleep(%v) returned after %v", d, e)
			}
			order = append(order, d)
		}))
	}
	run(t, k)
	want := []time.Duration{0, -5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	if !slices.Equal(order, want) {
		t.Errorf("wake order %v, want %v", order, want)
	}
}

func TestTrace(t *testing.T) {
	var tr bytes.Buffer
	r, w := pipe(t)
	k := New(WithTrace(&tr))
	k.Spawn(Go(func(s *Sys) {
		yielded := false
		child := s.NewTask(Step(StepFunc(func(int64) Trap {
			if !yielded {
				yielded = true
				return Yield()
			}
			return Exit(7)
		})))
		s.WaitTask(child)
		s.ReadWait(-1)
		s.Sleep(time.Millisecond)
		unix.Write(w, []byte("x"))
		s.ReadWait(r)
		s.Trap(Trap{Op: 42, A: 3})
		s.KillTask(s.GetTid())
	}))
	run(t, k)
	want := `[1] NewTask(step) = 2
[2] Yield() = 0
[2] Exit(7)
[2] +++ exited +++
[1] WaitTask(2) = 1
[1] ReadWait(-1) = -9 EBADF
[1] Sleep(1ms) = 0
[1] ReadWait(` + fmt.Sprint(r) + `) = 0
[1] Op(42)(0x3) = -38 ENOSYS
[1] GetTid() = 1
[1] KillTask(1) = 1
[1] +++ killed +++
`
	if tr.String() != want {
		t.Errorf("trace:\n%s\nwant:\n%s", tr.String(), want)
	}
}

// TestKillBack: a killed task's defers kill its killer, which unwinds in
// turn; each ends once.
func TestKillBack(t *testing.T) {
	var out bytes.Buffer
	var log []string
	k := New(WithLog(&out))
	var a, b TID
	a = k.Spawn(Go(func(s *Sys) {
		defer func() { log = append(log, "a unwound") }()
		s.Yield()
		s.KillTask(b)
		log = append(log, "a went on")
	}))
	b = k.Spawn(Go(func(s *Sys) {
		defer func() { log = append(log, fmt.Sprint("b killed a: ", s.KillTask(a))) }()
		s.Sleep(time.Hour)
	}))
	run(t, k)
	want := []string{"a unwound", "b killed a: true"}
	if !slices.Equal(log, want) {
		t.Errorf("log %q, want %q", log, want)
	}
	if want := "Task 1 terminated\nTask 2 terminated\n"; out.String() != want {
		t.Errorf("kernel log %q, want %q", out.String(), want)
	}
}

// TestWaitNeverOpenedFD waits on an fd below FD_SETSIZE that was never
// open: select(2) ignores such bits beyond the process's fd table and would
// block for ever; every poller must answer EBADF at once.
func TestWaitNeverOpenedFD(t *testing.T) {
	for _, p := range Pollers() {
		t.Run(p, func(t *testing.T) {
			k := New(WithPoller(p))
			var rerr, werr error
			k.Spawn(Go(func(s *Sys) {
				rerr, werr = s.ReadWait(1000), s.WriteWait(1001)
			}))
			if err := k.Run(); err != nil {
				t.Fatal(err)
			}
			if rerr != ErrBadFD || werr != ErrBadFD {
				t.Fatalf("ReadWait(1000), WriteWait(1001) = %v, %v; want ErrBadFD", rerr, werr)
			}
			checkEmpty(t, k)
		})
	}
}
