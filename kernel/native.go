package kernel

import (
	"fmt"

	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/kctx"
)

// kernelDoor is ctx's door for native tasks: trapping coroutines and
// rings of them.
var kernelDoor = ctx.Kernel(kctx.Key{})

// Native returns a stackful task whose body is native code: the C-ABI
// function
//
//	uintptr_t fn(ck_coroutine *co, uintptr_t arg);
//
// running on a coroutine of package ctx, on a stack of its own. The body
// traps with co->api->trap(co, CK_TRAP_*, a, b) (ctx/corokernel.h), from
// any depth of nested calls; the call returns the trap's result word. The
// operations and results are those of the other task kinds: CK_TRAP_NEWTASK
// takes a body function and its argument and spawns another native task.
// The task ends when fn returns.
//
// When the task is killed, the trap it is suspended in returns
// CK_TRAP_EKILLED (CodeKilled): the body should release what it holds and
// return, as a Python generator does on GeneratorExit. A body that traps
// again after that is abandoned where it stopped and its stack freed.
//
// Go code never runs on the task's stack (see package ctx); a body that
// calls back into Go must use a callback made by ctx.NewCallback. Native
// returns the zero Task if fn is 0.
func Native(fn, arg uintptr) Task {
	if fn == 0 {
		return Task{}
	}
	return Task{&nativeBody{fn: fn, arg: arg}}
}

// nativeBody is the body of a native task: a trapping ctx coroutine,
// made on the first resume, when the task has its TID for a name.
type nativeBody struct {
	fn, arg uintptr
	c       kctx.Coroutine
}

// opNoSys is the trap a native body's op that no native task may make
// (Exit, Call: step tasks only) becomes: the kernel answers CodeNoSys.
const opNoSys Op = 1<<32 - 1

func (b *nativeBody) kindName() string { return "native" }

// coroutine makes the body's coroutine if it has none yet.
func (b *nativeBody) coroutine(t *task) (kctx.Coroutine, error) {
	if b.c == nil {
		c, err := kernelDoor.NewTrapping(b.fn, b.arg, fmt.Sprintf("native task %d", t.tid), 0)
		if err != nil {
			return nil, fmt.Errorf("kernel: native task %d: %w", t.tid, err)
		}
		b.c = c
	}
	return b.c, nil
}

// resume runs the body to its next trap. A body that cannot start, or
// whose stack canary was found clobbered, panics: the scheduler ends the
// task and records the error as its panic value.
func (b *nativeBody) resume(t *task, r int64) Trap {
	c, err := b.coroutine(t)
	if err != nil {
		panic(err)
	}
	out, done, err := c.Resume(uintptr(r))
	return b.trap(out, done, err)
}

// trap is the trap the body made when its coroutine last stopped, having
// passed out (returned it, when done) or failed with err.
func (b *nativeBody) trap(out uintptr, done bool, err error) Trap {
	if err != nil {
		b.close()
		panic(err)
	}
	if done {
		b.close()
		return Trap{Op: OpExit, A: out}
	}
	op, a, x := kernelDoor.Trap(b.c)
	switch Op(op) {
	case 0: // a plain yield
		return Trap{Op: OpYield}
	case OpNewTask:
		return Trap{Op: OpNewTask, Task: Native(a, x)}
	case OpExit, OpCall:
		return Trap{Op: opNoSys, A: a, B: x}
	}
	return Trap{Op: Op(op), A: a, B: x}
}

// kill closes the body's coroutine: Close resumes a started body once
// more with the trap it waits in returning CK_ECANCELED, which is
// CodeKilled, so that it can clean up and return; if it traps again
// instead, it is abandoned. Either way its stack is freed.
func (b *nativeBody) kill(t *task) { b.close() }

// queueBorn puts the tasks spawned during a ring cycle on the ready queue,
// in the order they were spawned.
func (k *Kernel) queueBorn() {
	for _, t := range k.born {
		k.ready.push(t)
	}
	clear(k.born)
	k.born = k.born[:0]
}

// replayYields moves the first n ready tasks, each of which trapped Yield
// in a cycle, to the end of the ready queue.
func (k *Kernel) replayYields(n int) {
	for range n {
		t := k.ready.pop()
		t.result = 0
		k.ready.push(t)
	}
}

func (b *nativeBody) close() {
	if b.c != nil {
		b.c.Close()
		b.c = nil
	}
}

// runNativeBatch runs the native tasks at the head of the ready queue in one
// a kctx.Ring's Cycle: in native code, one after another, for as long as each
// traps Yield, without coming back to Go for every trap. Then it replays
// on the ready queue what those Yields did, so the order is exactly what
// running them one by one would give: with only native tasks ready, it
// cycles round the queue until the scheduler's budget is spent; otherwise
// it makes one pass over the native prefix. The task that stopped the
// cycle has its trap handled as usual.
// The bounds of runNativeBatch's window.
const (
	minNativeWindow = 16
	maxNativeWindow = 1 << 16
)

func (k *Kernel) runNativeBatch() {
	if k.batch == nil {
		k.batch = kernelDoor.NewRing()
	}
	r := k.batch
	r.Reset()
	// The ring holds a window of the ready queue's native prefix, not all
	// of it: a cycle stops at the first task that traps anything but
	// Yield (a Sleep, a wait), and building a ring of every ready task
	// for one resume made a queue of n such tasks cost n² (30,000 sleeping
	// tasks took 15 s). The window doubles while cycles run through it
	// and shrinks to twice what one ran when it stopped early.
	window := max(k.window, minNativeWindow)
	for i, n := 0, min(k.ready.n, k.budget, window); i < n; i++ {
		t := k.ready.at(i)
		if t.nat == nil {
			break
		}
		c, err := t.nat.coroutine(t)
		if err != nil {
			break // run makes it fail, as a task
		}
		r.Add(c, uintptr(t.result))
	}
	m := r.Len()
	if m == 0 {
		k.budget--
		k.runTask(k.ready.pop(), nil)
		return
	}
	budget := m
	if m == k.ready.n {
		budget = k.budget
	}
	cycled := false
	defer func() {
		if cycled {
			return
		}
		// A Go callback of a task in the cycle panicked (or called
		// Goexit): its coroutine is dead. Replay the Yields made before
		// it and end it with the panic recorded, as run would.
		p := recover()
		if p == nil {
			p = ErrGoexit // it goes on: schedule's deferred call goes on scheduling
		}
		_, count := r.Progress()
		k.cycling = false
		k.budget = max(k.budget-count-1, 0)
		k.replayYields(count)
		k.queueBorn()
		t := k.ready.pop()
		t.state = sRunning
		t.nat.close()
		k.crash(t, p)
	}()
	k.cycling = true
	_, count, more, done, err := r.Cycle(0, budget, uint32(OpYield))
	k.cycling = false
	cycled = true
	if count >= m {
		k.window = min(2*window, maxNativeWindow)
	} else {
		k.window = 2 * count
	}
	k.budget -= count
	if len(k.born) > 0 {
		// The last task resumed spawned tasks from a callback (and
		// stopped the cycle): the Yields before it went first, then its
		// children joined the queue, then its own trap, as one at a time.
		k.replayYields(count - 1)
		k.queueBorn()
		if more {
			k.replayYields(1)
			return
		}
	} else {
		passed := count
		if !more {
			passed--
		}
		k.replayYields(passed)
		if more {
			return
		}
	}
	t := k.ready.pop()
	b := t.nat
	t.state = sRunning
	k.cur = t                  // a panic in trap (a failed coroutine) ends t, as in run
	tr := b.trap(0, done, err) // a top-level task's exit value is not kept
	k.cur = nil
	k.runTask(t, &tr)
}
