package kernel

// The kernel's own life: a panicking task, Stop, deadlock, a bad poller
// name, Run while running.

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPanic(t *testing.T) {
	var out bytes.Buffer
	var deferred, waited, after bool
	var stepWaited int64
	k := New(WithLog(&out))
	bad := k.Spawn(Go(func(s *Sys) {
		defer func() { deferred = true }()
		s.Yield()
		panic("boom")
	}))
	badStep := k.Spawn(Step(StepFunc(func(int64) Trap { panic(fmt.Errorf("step boom")) })))
	k.Spawn(Go(func(s *Sys) { waited = s.WaitTask(bad) }))
	pc := 0
	k.Spawn(Step(StepFunc(func(r int64) Trap {
		pc++
		if pc == 1 {
			return WaitTask(badStep + 10) // not yet spawned: 0
		}
		stepWaited = r
		return Exit(0)
	})))
	// A sub-machine that panics: its caller's Kill runs.
	caller := &killRecorder{trap: Call(Step(StepFunc(func(int64) Trap { panic(42) })))}
	subTID := k.Spawn(Step(caller))
	k.Spawn(Go(func(s *Sys) {
		s.Yield()
		s.Yield()
		s.Yield()
		after = true
	}))
	run(t, k)
	if v, ok := k.Panic(bad); !ok || v != "boom" || !deferred {
		t.Errorf("Panic(%d) = %v, %v; deferred %v; want boom, true, true", bad, v, ok, deferred)
	}
	if v, ok := k.Panic(badStep); !ok || fmt.Sprint(v) != "step boom" {
		t.Errorf("Panic(%d) = %v, %v; want step boom", badStep, v, ok)
	}
	if v, ok := k.Panic(subTID); !ok || v != 42 || caller.kills != 1 {
		t.Errorf("Panic(%d) = %v, %v, caller killed %d times; want 42, true, 1", subTID, v, ok, caller.kills)
	}
	if _, ok := k.Panic(bad + 2); ok {
		t.Error("Panic reports a panic for a task that returned")
	}
	if !waited || !after || stepWaited != 0 {
		t.Errorf("waiter resumed %v, other task finished %v, step wait %d", waited, after, stepWaited)
	}
	if !strings.Contains(out.String(), "Task 1 terminated\n") || !strings.Contains(out.String(), "Task 2 terminated\n") {
		t.Errorf("log %q lacks the panicking tasks", out.String())
	}
}

// TestStop stops a kernel from another goroutine while its tasks block on
// I/O, sleep, wait for each other and spin through Yield.
func TestStop(t *testing.T) {
	for _, spin := range []bool{false, true} {
		eachPoller(t, func(t *testing.T, poller string) {
			r, _ := pipe(t)
			var mu sync.Mutex
			unwound := 0
			gotask := func(body func(s *Sys)) Task {
				return Go(func(s *Sys) {
					defer func() { mu.Lock(); unwound++; mu.Unlock() }()
					body(s)
				})
			}
			k := New(withPoller(poller))
			started := make(chan bool)
			k.Spawn(gotask(func(s *Sys) { close(started); s.ReadWait(r) }))
			k.Spawn(gotask(func(s *Sys) { s.Sleep(time.Hour) }))
			k.Spawn(gotask(func(s *Sys) { s.WaitTask(2) }))
			k.Spawn(Step(&killRecorder{trap: ReadWait(r)}))
			n := 4
			if spin {
				k.Spawn(gotask(func(s *Sys) {
					for {
						s.Yield()
					}
				}))
				n++
			}
			go func() { <-started; k.Stop() }()
			run(t, k)
			if unwound != n-1 {
				t.Errorf("%d Go tasks unwound, want %d", unwound, n-1)
			}
		})
	}
	// Stop before Run: Run kills the tasks at once.
	k := New()
	ran := false
	k.Spawn(Go(func(s *Sys) { ran = true }))
	k.Stop()
	run(t, k)
	if ran {
		t.Error("a task ran on a kernel stopped before Run")
	}
}

func TestDeadlock(t *testing.T) {
	unwound := 0
	k := New()
	k.Spawn(Go(func(s *Sys) { defer func() { unwound++ }(); s.WaitTask(2) }))
	k.Spawn(Go(func(s *Sys) { defer func() { unwound++ }(); s.WaitTask(1) }))
	if err := k.Run(); err != ErrDeadlock {
		t.Errorf("Run = %v, want ErrDeadlock", err)
	}
	if unwound != 2 {
		t.Errorf("%d tasks unwound, want 2", unwound)
	}
	checkEmpty(t, k)
}

func TestUnknownPoller(t *testing.T) {
	k := New(WithPoller("kqueue"))
	ran := false
	k.Spawn(Go(func(s *Sys) { ran = true }))
	err := k.Run()
	if err == nil || !strings.Contains(err.Error(), `unknown poller "kqueue"`) {
		t.Errorf("Run = %v, want an unknown poller error", err)
	}
	if ran || k.NumTasks() != 0 {
		t.Errorf("task ran %v, %d tasks left", ran, k.NumTasks())
	}
}

func TestRunWhileRunning(t *testing.T) {
	var err error
	k := New()
	k.Spawn(Go(func(s *Sys) { err = k.Run() }))
	run(t, k)
	if err != ErrRunning {
		t.Errorf("Run inside Run = %v, want ErrRunning", err)
	}
}
