package kernel

// How tasks end: exit, kill, a panic, and the kernel's end killing what
// is left.

import (
	"fmt"
	"slices"
)

// kill ends t wherever it is: pyos's KillTask, which closes the generator.
// Its body's cleanup runs now (a Go task's defers) and it never runs again.
func (k *Kernel) kill(t *task) {
	if t.state == sDying || t.state == sDead {
		return
	}
	k.unwait(t)
	t.state = sDying
	if k.trace != nil {
		k.traceEnd(t, "killed")
	}
	t.body.kill(t)
	for i := len(t.stack) - 1; i >= 0; i-- {
		t.stack[i].kill(t)
	}
	k.exit(t)
}

// exit removes an ended task and wakes the tasks waiting for it.
func (k *Kernel) exit(t *task) {
	if t.waited && k.keeps && t.fd < len(k.fds) && k.fds[t.fd].want() == 0 {
		// Its fd may be closed by now, behind the kernel's back, and its
		// number reused: its kept registration (WithOwnedFDs) is dropped.
		k.p.watch(t.fd, 0)
	}
	k.removeTask(t)
	k.ntasks.Add(-1)
	t.state = sDead
	k.releaseLent(t)
	t.setBody(nil)
	t.stack = nil
	if k.log != nil {
		fmt.Fprintf(k.log, "Task %d terminated\n", t.tid)
	}
	for _, w := range t.waiters {
		w.waitFor = nil
		k.wake(w, 1)
	}
	t.waiters = nil
}

// crash ends t, whose body panicked with p while it ran, and records p.
func (k *Kernel) crash(t *task, p any) {
	k.recordPanic(t, p)
	// The callers of the panicking sub-machine clean up as if killed.
	for i := len(t.stack) - 1; i >= 0; i-- {
		t.stack[i].kill(t)
	}
	k.exit(t)
}

func (k *Kernel) recordPanic(t *task, p any) {
	k.panics[t.tid] = p
	if k.trace != nil {
		k.traceEnd(t, fmt.Sprintf("panic: %v", p))
	}
}

// killAll kills every task, lowest TID first, for Stop and kernel faults.
func (k *Kernel) killAll() {
	for len(k.tasks) > 0 {
		// Empty the ready queue first: removing tasks one by one from
		// its middle would be quadratic.
		for k.ready.n > 0 {
			k.ready.pop().state = sRunning
		}
		tids := make([]TID, 0, len(k.tasks))
		for tid := range k.tasks {
			tids = append(tids, tid)
		}
		slices.Sort(tids)
		for _, tid := range tids {
			if t := k.tasks[tid]; t != nil {
				k.kill(t)
			}
		}
	}
	for k.ready.n > 0 {
		k.ready.pop()
	}
	k.budget = 0
}
