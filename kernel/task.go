package kernel

// TID is a task identifier. The kernel numbers tasks from 1 in the order
// they are spawned; 0 is never a task.
type TID int

// A Task is code the kernel can run: a stackful Go function (see Go), a
// stackless step machine (see Step) or a C function on a coroutine stack
// of its own (see Native). Tasks never see the kernel; their
// only interface to it is the Trap. The zero Task is not a valid task.
//
// A Task value is meant to be spawned (or called, for step sub-machines)
// once. Spawning the same value twice makes two tasks share one body, as
// two Python tasks would share one generator object.
type Task struct {
	b body
}

// body is a kind of task as the scheduler sees it. Every kind (Go, step
// and native tasks) implements it; the scheduler knows nothing else about
// a task's code, except that runNativeBatch batches native tasks' resumes in a
// ring cycle (native.go).
type body interface {
	// resume runs the body until its next trap and returns that trap.
	// r is the result word of the trap the body is suspended in (0 on the
	// first resume; the exit value of a sub-machine after OpCall). A body
	// that has ended returns a trap with Op OpExit and its exit value in
	// A, and is not resumed again.
	resume(t *task, r int64) Trap

	// kill ends a suspended body that has not ended. It runs the body's
	// cleanup (a Go task's defers, a step machine's Kill method) but never
	// lets it trap. The scheduler calls it at most once, never while the
	// body runs, and never after resume reported OpExit.
	kill(t *task)
}

// state is where a task is in the scheduler.
type state uint8

const (
	sReady   state = iota + 1 // in the ready queue
	sRunning                  // being resumed, or its trap being handled
	sWait                     // in WaitTask: on waitFor's waiters list
	sIO                       // in ReadWait or WriteWait: on fds[fd]
	sSleep                    // in Sleep: in the timer heap
	sOp                       // in a completion trap (Accept, Recv, Send) on the ring: io in flight
	sMail                     // in MailRecv (its mailbox empty) or MailSend (the receiver's full)
	sDying                    // being killed: its cleanup runs
	sDead                     // ended
)

// task is the kernel's record of one task: pyos's Task object.
type task struct {
	k      *Kernel
	tid    TID
	state  state
	body   body        // the body that runs now: the task's or a sub-machine's
	step   Stepper     // body's machine if body is a step body, else nil
	sys    *Sys        // body if it is a Go body, else nil
	nat    *nativeBody // body if it is a native body, else nil
	stack  []body      // callers suspended in OpCall (Beazley's trampoline)
	result int64       // result word of the trap it is suspended in (pyos's sendval)

	// The blocking trap it waits in, for the trace and for kill.
	op  Op
	arg uintptr

	waitFor *task     // sWait: the task waited for
	waiters []*task   // tasks in WaitTask on this one (pyos's exit_waiting)
	fd      int       // sIO: the fd waited on
	write   bool      // sIO: WriteWait rather than ReadWait
	waited  bool      // fd is the last fd it waited on, not closed through the kernel since
	when    int64     // sSleep: deadline, kernel clock (ns)
	seq     uint64    // sSleep: tie-break: FIFO among equal deadlines; sIO: when the wait began
	hidx    int       // sSleep: index in the timer heap
	io      *ioOp     // the completion trap it waits in (sOp, or sIO when the kernel emulates it)
	op0     *ioOp     // the record its completion traps use, made on the first
	lent    int32     // 1 + the buffer a RecvLent lent it, or 0
	mail    *taskMail // its mailbox and mail waits (mail.go), made on first use
}

// setBody makes b the body that runs now.
func (t *task) setBody(b body) {
	t.body, t.step, t.sys, t.nat = b, nil, nil, nil
	switch b := b.(type) {
	case *stepBody:
		t.step = b.m
	case *Sys:
		t.sys = b
	case *nativeBody:
		t.nat = b
	}
}

// queue is the ready queue: a FIFO of tasks in a power-of-two ring buffer.
type queue struct {
	buf  []*task
	head int
	n    int
}

func (q *queue) push(t *task) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = t
	q.n++
}

func (q *queue) pop() *task {
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return t
}

// at returns the i'th task from the head, without removing it.
func (q *queue) at(i int) *task { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *queue) grow() {
	n := 2 * len(q.buf)
	if n == 0 {
		n = 64
	}
	buf := make([]*task, n)
	for i := 0; i < q.n; i++ {
		buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = buf, 0
}

// remove deletes t from the queue, keeping the others in order.
// It is linear in the queue length; only KillTask uses it.
func (q *queue) remove(t *task) bool {
	mask := len(q.buf) - 1
	for i := 0; i < q.n; i++ {
		if q.buf[(q.head+i)&mask] != t {
			continue
		}
		for j := i; j < q.n-1; j++ {
			q.buf[(q.head+j)&mask] = q.buf[(q.head+j+1)&mask]
		}
		q.buf[(q.head+q.n-1)&mask] = nil
		q.n--
		return true
	}
	return false
}

// timers is a min-heap of sleeping tasks ordered by (when, seq).
type timers []*task

func (h timers) less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}

func (h timers) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}

func (h timers) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h timers) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *timers) push(t *task) {
	t.hidx = len(*h)
	*h = append(*h, t)
	h.up(t.hidx)
}

// remove deletes the task at index i and returns it.
func (h *timers) remove(i int) *task {
	old := *h
	n := len(old) - 1
	t := old[i]
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		h.down(i)
		h.up(i)
	}
	t.hidx = -1
	return t
}
