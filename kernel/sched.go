package kernel

// The scheduler: Run, the goroutine it runs on, and the main loop that
// alternates between ready tasks and the poller (pyos's mainloop).

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Run runs the tasks until none is left, or until Stop. It returns an error
// only for a fault of the kernel itself (the poller failed, an unknown
// poller name) or for ErrDeadlock; tasks that panic or fail traps do not
// make it fail. When it returns an error it has killed the remaining tasks.
//
// The scheduler runs on a goroutine of its own, locked to its OS thread:
// native tasks are C code whose frames may hold thread-owned state (a
// mutex, TLS, errno) and are never resumed on another thread (ctx binds
// each to the thread it first ran on); Go tasks are the runtime's
// coroutines (iter.Pull), which must always be switched to from the
// thread, and with the lock count, they were made with; and an io_uring
// ring made for one thread (IORING_SETUP_SINGLE_ISSUER) is entered from
// that thread only. The poller is made and closed there too. A panic
// outside any task goes on in Run's goroutine.
func (k *Kernel) Run() error {
	k.spawnMu.Lock()
	if !k.running.CompareAndSwap(false, true) {
		k.spawnMu.Unlock()
		return ErrRunning
	}
	k.spawnMu.Unlock()
	done := make(chan loopResult, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := k.start(); err != nil {
			k.killAll()
			k.end(true)
			done <- loopResult{err: err}
			return
		}
		k.schedule(done)
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// end marks the kernel not running, unless tasks that other goroutines
// spawned are waiting and neither force nor Stop says to end anyway; it
// reports whether it did. Waiting tasks join k.tasks either way (a
// stopped kernel's next Run kills them). After it, Spawn adds tasks
// directly again.
func (k *Kernel) end(force bool) bool {
	k.spawnMu.Lock()
	defer k.spawnMu.Unlock()
	more := len(k.inbox) > 0
	k.drainLocked()
	if more && !force && !k.stopped.Load() {
		return false
	}
	k.running.Store(false)
	return true
}

// loopResult is how the scheduler's goroutine ended.
type loopResult struct {
	err   error
	panic any
}

// schedule runs the loop until no task is left (and no other goroutine
// spawned one as the last ended), releases what start made, and sends
// the result. A task's runtime.Goexit, which no recover stops, unwinds it
// after loop has ended the task: the deferred call then goes on
// scheduling from there, on the same goroutine and thread, and the
// goroutine ends only when the scheduler does.
func (k *Kernel) schedule(done chan<- loopResult) {
	k.schedTID.Store(int64(gettid()))
	finished := false
	defer func() {
		if finished {
			return
		}
		if p := recover(); p != nil {
			k.schedTID.Store(0)
			k.shutdown()
			done <- loopResult{panic: p}
			return
		}
		k.schedule(done) // Goexit
	}()
	var err error
	for {
		for len(k.tasks) > 0 || k.pending.Load() != 0 {
			if err = k.mainLoop(); err != nil {
				k.killAll()
				break
			}
		}
		if k.end(err != nil) {
			break
		}
		// Tasks were spawned from elsewhere as the last one ended.
	}
	finished = true
	k.schedTID.Store(0)
	k.shutdown()
	done <- loopResult{err: err}
}

// start makes the poller and the wakeup fd Stop writes to.
func (k *Kernel) start() error {
	p, limit, err := newPoller(k.pollerName, k.ownedFDs)
	if err != nil {
		return err
	}
	efd, wfd, err := newWaker()
	if err != nil {
		p.close()
		return fmt.Errorf("kernel: cannot make the wakeup fd: %w", err)
	}
	if err := p.watch(efd, evRead); err != nil {
		p.close()
		unix.Close(efd)
		return fmt.Errorf("kernel: cannot watch the wakeup eventfd %d: %w", efd, err)
	}
	k.p, k.fdLimit, k.epoch = p, limit, time.Now()
	k.keeps = false
	if kp, ok := p.(interface{ keeps() bool }); ok {
		k.keeps = kp.keeps()
	}
	k.uring = nil
	if c, ok := p.(completer); ok {
		k.uring = c
		c.onDone(k.opDone)
	}
	k.sweepEvery, k.nextSweep = 0, 0
	if k.pollerName != "select" && k.pollerName != "poll" {
		k.sweepEvery = int64(sweepInterval)
		k.nextSweep = k.sweepEvery
	}
	k.wakeMu.Lock()
	k.wakefd, k.wakew = efd, wfd
	k.wakeMu.Unlock()
	k.budget = 0
	return nil
}

// shutdown releases what start made. No task is left, so no fd is watched
// but the eventfd.
func (k *Kernel) shutdown() {
	k.wakeMu.Lock()
	unix.Close(k.wakefd)
	if k.wakew != k.wakefd {
		unix.Close(k.wakew)
	}
	k.wakefd, k.wakew = -1, -1
	k.wakeMu.Unlock()
	k.lentLeft = 0
	k.drainOps()
	k.p.close()
	k.lentLeft += len(k.lend.chunks)*lendChunk - len(k.lend.free)
	k.lend.release()
	k.p = nil
	k.fds = nil
	k.evs = nil
}

// mainLoop is the scheduler's main loop: pyos's mainloop. It returns early,
// with a nil error, after a step body panicked, so that Run can call it
// again with the panic handled.
func (k *Kernel) mainLoop() (err error) {
	defer func() {
		if k.cur == nil {
			return // no panic, or one outside any task: let it go on
		}
		t := k.cur
		k.cur = nil
		p := recover()
		if p == nil {
			p = ErrGoexit // it goes on: schedule's deferred call goes on scheduling
		}
		k.crash(t, p)
	}()
	for len(k.tasks) > 0 || k.pending.Load() != 0 {
		if k.pending.Load() != 0 {
			k.drain()
		}
		if k.remoteN.Load() != 0 {
			k.applyRemote()
		}
		if k.budget == 0 || k.ready.n == 0 {
			// pyos7's I/O polling task, folded into the loop: poll once per
			// pass over the tasks that were ready, without blocking
			// while tasks are ready.
			k.budget = k.ready.n
			if k.ready.n == 0 || k.nio > 0 || len(k.timers) > 0 {
				if err := k.poll(); err != nil {
					return err
				}
				k.budget = k.ready.n
			} else {
				// Nothing to poll for: look for Stop less often. A
				// task that starts waiting cuts the pass short (see
				// pollSoon).
				k.budget = max(k.budget, idleBudget)
			}
			if k.stopped.Load() {
				k.killAll()
				return nil
			}
			continue
		}
		if k.ready.at(0).nat != nil && k.trace == nil {
			k.runNativeBatch() // with the trace on, one trap at a time
			continue
		}
		k.budget--
		k.runTask(k.ready.pop(), nil)
	}
	return nil
}

// sweepInterval is how often the epoll kernel checks the fds waited on
// (a variable for the tests: export_test.go).
var sweepInterval = time.Second

// idleBudget is how many tasks the kernel runs between looks at Stop when
// no task waits for I/O or a timer.
const idleBudget = 64

// pollSoon makes the scheduler poll after one pass over the ready tasks,
// as pyos7's I/O polling task would, once a task waits for I/O or a timer.
func (k *Kernel) pollSoon() {
	k.budget = min(k.budget, k.ready.n)
}
