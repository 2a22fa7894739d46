package kernel

// A Stepper is the body of a stackless step task: a state machine the
// kernel drives one trap at a time. Step receives the result word of the
// machine's previous trap (0 the first time, and after a sub-machine call
// the sub-machine's exit value) and returns the next trap. Returning
// Exit(v) ends the machine with exit value v.
//
// If a Stepper also has a method Kill(), the kernel calls it when the task
// is killed, so that the machine can release what it holds (close its fds,
// for example); Kill must not trap. A killed machine is never stepped
// again. A machine that ends with Exit is not killed.
type Stepper interface {
	Step(result int64) Trap
}

// The StepFunc type is an adapter to use an ordinary function as a
// Stepper, as http.HandlerFunc is for handlers.
type StepFunc func(result int64) Trap

// Step calls f(result).
func (f StepFunc) Step(result int64) Trap { return f(result) }

// Step returns a stackless task that runs machine m. Its traps are the same
// as a Go task's, made by returning them (see the trap constructors such
// as Yield, GetTid and NewTask); Call(t) runs the step task t as a
// sub-machine on the same task, the trampoline of pyos8. A step task that
// panics is ended like a Go task that panics. Step returns the zero Task
// if m is nil.
func Step(m Stepper) Task {
	if m == nil {
		return Task{}
	}
	return Task{&stepBody{m}}
}

// stepBody is the body of a step task.
type stepBody struct {
	m Stepper
}

func (b *stepBody) resume(t *task, r int64) Trap { return b.m.Step(r) }

func (b *stepBody) kill(t *task) {
	if k, ok := b.m.(interface{ Kill() }); ok {
		k.Kill()
	}
}
