package kernel

import (
	"math"
	"time"
)

// Mailboxes: a task sends a word, with bytes if it likes, to any TID of
// its kernel or of another kernel of its group (MailSend), and a task
// takes the next message of its own mailbox (MailRecv). A mailbox holds
// at most mailCap messages: a sender finding it full waits, and so does a
// receiver finding it empty; a kernel never waits for another.
//
// A mailbox belongs to its task's kernel and is guarded by that kernel's
// mailMu, which also guards the writes of the kernel's task table, so
// that a sender on another thread can tell whether the task lives. A
// wakeup for a task of another kernel is posted to that kernel (remote),
// which applies it at its next pass, woken from its poller's wait by its
// eventfd; one whose task no longer waits (killed meanwhile) is dropped.
// No two kernels' locks are ever held at once.

// mailCap is how many messages a mailbox holds; mailMaxBytes the most
// bytes one message carries.
const (
	mailCap      = 64
	mailMaxBytes = 1 << 20
)

// taskMail is a task's side of the mail: its mailbox, and what it waits
// with.
type taskMail struct {
	q       []mail  // the mailbox: messages in order
	recv    bool    // the task waits in MailRecv for the next message
	senders []*task // tasks waiting to put a message in the full mailbox, in order
	closed  bool    // the task ended: no message is taken any more

	out mail    // MailSend waiting: the message, for the receiver's mailbox
	to  *task   // MailSend waiting: the receiver
	in  mail    // MailRecv woken: the message handed over
	buf *[]byte // MailRecv waiting: where the bytes go
	seq uint64  // the current wait's number: a wakeup of another is stale
}

type mail struct {
	word uintptr
	data []byte
}

// remoteWake is a wakeup posted to a kernel: task t, if it still waits
// in wait seq, gets result r.
type remoteWake struct {
	t   *task
	seq uint64
	r   int64
}

func (t *task) mailOf() *taskMail {
	if t.mail == nil {
		t.mail = new(taskMail)
	}
	return t.mail
}

// addTask and removeTask write the task table, under mailMu: other
// kernels read it to send mail.
func (k *Kernel) addTask(t *task) {
	k.mailMu.Lock()
	k.tasks[t.tid] = t
	k.mailMu.Unlock()
}

func (k *Kernel) removeTask(t *task) {
	k.mailMu.Lock()
	delete(k.tasks, t.tid)
	var senders []*task
	if m := t.mail; m != nil {
		m.closed = true
		senders, m.senders, m.q = m.senders, nil, nil
	}
	k.mailMu.Unlock()
	for _, s := range senders {
		s.k.post(s, s.mail.seq, 0) // the receiver ended: not delivered
	}
}

// peer is the kernel task tid lives on: this one, or one of its group.
func (k *Kernel) peer(tid TID) *Kernel {
	if k.group != nil {
		return k.group.KernelOf(tid)
	}
	return k
}

// post posts a wakeup of t (one of k's tasks) in wait seq with result r,
// and wakes k's poller if another thread posts it.
func (k *Kernel) post(t *task, seq uint64, r int64) {
	k.mailMu.Lock()
	k.postLocked(t, seq, r)
	k.mailMu.Unlock()
	if !k.onScheduler() {
		k.nudge()
	}
}

// nudge wakes k's poller for a posted wakeup, unless k spins for mail
// (spinForMail), which sees it without a system call. The post's
// remoteN.Add comes before the load of spinning, and spinForMail's store
// of spinning before its last load of remoteN (sequentially consistent
// atomics): one of the two sees the other, so no wakeup is lost.
func (k *Kernel) nudge() {
	if !k.spinning.Load() {
		k.interrupt()
	}
}

// mailSpin is how long a kernel whose tasks wait for mail spins before it
// blocks in its poller: a wakeup through the poller costs a write of the
// eventfd and a return from the wait, tens of microseconds between the
// threads of a virtual machine; a round trip of mail while both kernels
// spin costs well under one.
const mailSpin = 50 * time.Microsecond

// spinForMail spins up to mailSpin for a posted wakeup and reports
// whether one came.
func (k *Kernel) spinForMail() bool {
	k.spinning.Store(true)
	start := time.Now()
	for i := 0; ; i++ {
		if k.remoteN.Load() != 0 {
			k.spinning.Swap(false)
			return true
		}
		if i&63 == 63 && time.Since(start) > mailSpin {
			break
		}
	}
	// A swap, not a store: Go's atomics are sequentially consistent
	// anyway, but qemu-user runs arm64's store-release and load-acquire
	// as plain moves on an x86 host, which may reorder a store with the
	// load after it, and then both sides miss each other (the kernel
	// blocks, the poster skips the eventfd). A read-modify-write is a
	// full barrier everywhere; the poster's remoteN.Add is one too.
	k.spinning.Swap(false)
	return k.remoteN.Load() != 0
}

func (k *Kernel) postLocked(t *task, seq uint64, r int64) {
	k.remote = append(k.remote, remoteWake{t, seq, r})
	k.remoteN.Add(1)
}

// applyRemote wakes the tasks posted wakeups name, those that still wait
// in the wait each names; a woken receiver gets its message's bytes.
func (k *Kernel) applyRemote() {
	k.mailMu.Lock()
	// Two lists in turn: the posters append to one while this pass reads
	// the other, and neither is allocated again.
	ws := k.remote
	k.remote, k.remoteSpare = k.remoteSpare[:0], nil
	k.remoteN.Store(0)
	k.mailMu.Unlock()
	defer func() {
		clear(ws)
		k.remoteSpare = ws[:0]
	}()
	for _, w := range ws {
		t := w.t
		if t.state != sMail || t.mail.seq != w.seq {
			continue // killed, or woken otherwise, meanwhile
		}
		m := t.mail
		if t.op == OpMailRecv && m.buf != nil {
			*m.buf = m.in.data
		}
		m.in, m.buf, m.to = mail{}, nil, nil
		if k.group != nil {
			k.nio--
			k.mailWaits--
		}
		k.wake(t, w.r)
	}
}

// mailSend is trap MailSend of t: it returns the result, or ok when t
// waits for room in a full mailbox.
func (k *Kernel) mailSend(t *task, tr Trap) (r int64, ok bool) {
	if tr.B > math.MaxInt64 {
		return int64(CodeInvalid), false // the receiver gets the word as its result
	}
	var data []byte
	if tr.Buf != nil {
		if len(*tr.Buf) > mailMaxBytes {
			return int64(CodeInvalid), false
		}
		if len(*tr.Buf) > 0 {
			data = append([]byte(nil), *tr.Buf...)
		}
	}
	dest := k.peer(TID(tr.A))
	if dest == nil || tr.A == 0 || tr.A > math.MaxInt64 {
		return 0, false
	}
	msg := mail{tr.B, data}
	dest.mailMu.Lock()
	// In the table, under the lock, is alive (its state is its own
	// kernel's to read): exit takes it out and closes its mailbox.
	rt := dest.tasks[TID(tr.A)]
	if rt == nil {
		dest.mailMu.Unlock()
		return 0, false
	}
	m := rt.mailOf()
	switch {
	case m.closed:
		dest.mailMu.Unlock()
		return 0, false
	case m.recv:
		// The receiver waits: hand the message over.
		m.recv = false
		m.in = msg
		dest.postLocked(rt, m.seq, int64(msg.word))
		dest.mailMu.Unlock()
		if dest != k {
			dest.nudge()
		}
		return 1, false
	case len(m.q) < mailCap:
		m.q = append(m.q, msg)
		dest.mailMu.Unlock()
		return 1, false
	case rt == t:
		dest.mailMu.Unlock()
		return 0, false // its own mailbox is full: it would wait for itself
	}
	// Full: wait in the receiver's list of senders.
	tm := t.mailOf()
	tm.seq++
	tm.out, tm.to = msg, rt
	m.senders = append(m.senders, t)
	t.state, t.op, t.arg = sMail, OpMailSend, tr.A
	dest.mailMu.Unlock()
	if k.group != nil {
		k.nio++ // another kernel may wake it: block in the poller, no deadlock
		k.mailWaits++
	}
	return 0, true
}

// mailRecv is trap MailRecv of t: it returns the next message's word, or
// ok when t waits for one.
func (k *Kernel) mailRecv(t *task, tr Trap) (r int64, ok bool) {
	k.mailMu.Lock()
	m := t.mailOf()
	if len(m.q) > 0 {
		msg := m.q[0]
		m.q[0] = mail{}
		m.q = m.q[1:]
		var s *task
		if len(m.senders) > 0 {
			// Room now: the first waiting sender's message goes in.
			s = m.senders[0]
			m.senders = m.senders[1:]
			m.q = append(m.q, s.mail.out)
			s.mail.out = mail{}
		}
		k.mailMu.Unlock()
		if s != nil {
			s.k.post(s, s.mail.seq, 1)
		}
		if tr.Buf != nil {
			*tr.Buf = msg.data
		}
		return int64(msg.word), false
	}
	m.seq++
	m.recv, m.buf = true, tr.Buf
	t.state, t.op, t.arg = sMail, OpMailRecv, 0
	k.mailMu.Unlock()
	if k.group != nil {
		k.nio++
		k.mailWaits++
	}
	return 0, true
}

// unwaitMail takes t out of its mail wait, for a kill.
func (k *Kernel) unwaitMail(t *task) {
	m := t.mail
	if k.group != nil {
		k.nio--
		k.mailWaits--
	}
	if t.op == OpMailRecv {
		k.mailMu.Lock()
		m.recv, m.buf = false, nil
		k.mailMu.Unlock()
		return
	}
	rt := m.to
	dest := rt.k
	dest.mailMu.Lock()
	if rm := rt.mail; rm != nil {
		for i, s := range rm.senders {
			if s == t {
				rm.senders = append(rm.senders[:i], rm.senders[i+1:]...)
				break
			}
		}
	}
	dest.mailMu.Unlock()
	m.out, m.to = mail{}, nil
}
