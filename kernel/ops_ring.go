package kernel

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// The completion traps on the uring poller's ring: the requests in flight
// by slot, their completions, and what a kill, a closed fd or the
// kernel's end does to them.

// completer is the poller's side of the completion traps (the uring
// poller's): it queues requests on its ring and lends its buffers.
type completer interface {
	// submitOp queues o's request with user data ud.
	submitOp(o *ioOp, ud uint64) error
	// cancelOp cancels the request with user data ud: the cancel is
	// submitted at once, so that the OS writes no more into the
	// request's buffer from then on (its completion comes later).
	cancelOp(ud uint64) error
	// lentBuf returns provided buffer id's bytes; giveBack puts it back
	// in the ring for the OS to fill again.
	lentBuf(id uint16) []byte
	giveBack(id uint16)
	// lendable returns how many buffers the ring holds now, as far as
	// the completions reaped tell; lentOut how many are out of it (held
	// by tasks or requests, or in the OS's hands for a completion not yet
	// reaped).
	lendable() int
	lentOut() int
	// onDone sets what the poller's wait calls for each completion of a
	// kernel operation.
	onDone(f func(ud uint64, res int32, flags uint32))
}

// User data of the ring's requests: a poll request has the fd in the low
// 32 bits and its generation above; a kernel operation has opTag, its
// slot's generation and its slot; requests whose completion means nothing
// (removals, cancels) have ignoreTag.
const (
	opTag     = 1 << 63
	ignoreTag = 1 << 62
)

// A completion's flags: IORING_CQE_F_BUFFER, and the provided buffer's id
// above cqeBufferShift.
const (
	cqeFBuffer     = 1 << 0
	cqeBufferShift = 16
)

// userData is o's user data: opTag, its slot's generation and the slot.
func (k *Kernel) userData(o *ioOp) uint64 {
	return opTag | uint64(k.opGens[o.slot]&(1<<30-1))<<32 | uint64(o.slot)
}

// submit gives o a slot and queues its request.
func (k *Kernel) submit(o *ioOp) error {
	if n := len(k.freeOps); n > 0 {
		o.slot = k.freeOps[n-1]
		k.freeOps = k.freeOps[:n-1]
	} else {
		o.slot = uint32(len(k.ops))
		k.ops = append(k.ops, nil)
		k.opGens = append(k.opGens, 0)
	}
	k.opGens[o.slot]++
	k.ops[o.slot] = o
	if err := k.uring.submitOp(o, k.userData(o)); err != nil {
		k.freeOp(o)
		return err
	}
	return nil
}

// resubmit queues o's request again (the rest of a Send, a Recv as a read).
func (k *Kernel) resubmit(o *ioOp) {
	if err := k.uring.submitOp(o, k.userData(o)); err != nil {
		k.opDone(k.userData(o), -int32(errnoOf(err)), 0)
	}
}

func (k *Kernel) freeOp(o *ioOp) {
	if o.bid != 0 {
		k.giveBack(o.bid)
		o.bid = 0
	}
	if k.ops[o.slot] == o {
		k.ops[o.slot] = nil
		k.freeOps = append(k.freeOps, o.slot)
	}
}

// cancelOp queues the cancel of o's request.
func (k *Kernel) cancelOp(o *ioOp) {
	k.uring.cancelOp(k.userData(o))
}

// opDone handles the completion of the request with user data ud: result
// res (a count, or -errno) and flags (IORING_CQE_F_BUFFER with the
// provided buffer's id).
func (k *Kernel) opDone(ud uint64, res int32, flags uint32) {
	slot := uint32(ud)
	if int(slot) >= len(k.ops) {
		return
	}
	o := k.ops[slot]
	if o == nil || k.userData(o) != ud {
		return // a stale completion: never another request's
	}
	if flags&cqeFBuffer != 0 {
		o.bid = int32(flags>>cqeBufferShift) + 1
	}
	t := o.t
	if t == nil {
		k.freeOp(o) // abandoned: reaped, its buffers go back
		return
	}
	r := int64(res)
	switch {
	case res == -int32(unix.ENOTSOCK) && o.flags&opPlain == 0 && o.kind() != OpAccept:
		o.flags |= opPlain // a pipe or a file: read(2) and write(2) semantics
		k.resubmit(o)
		return
	case res == -int32(unix.EAGAIN):
		// A file that is O_NONBLOCK (io_uring then does not wait for
		// it): wait for readiness and make the call, as the other
		// pollers do.
		k.freeOp(o)
		o.flags |= opEmulated
		if r, ok := k.ioWait(t, waitFor(o), int(o.fd)); !ok {
			t.io = nil
			k.nio--
			k.woken = append(k.woken, wakeup{t, r})
			return
		}
		k.nio-- // ioWait counted the wait again
		t.op = o.kind()
		return
	case res == -int32(unix.ENOBUFS) && o.kind() == OpRecv && o.buf == nil:
		// The ring was empty when the data came: the receive waits for
		// a buffer to come back (retryStarved, after each poll and at
		// each giveBack).
		k.enobufs++
		k.starved = append(k.starved, o)
		return
	case o.kind() == OpSend && res > 0 && o.n+int(res) < len(o.buf):
		o.n += int(res)
		k.resubmit(o)
		return
	case res == -int32(unix.ECANCELED) && o.flags&opBadFD != 0:
		r = int64(CodeBadFD)
	case o.kind() == OpSend && res >= 0:
		r = int64(o.n + int(res))
	case o.kind() == OpRecv && res >= 0 && o.buf == nil:
		id := o.bid
		o.bid = 0
		k.lendTo(o, id, int(res))
	}
	t.io = nil
	k.freeOp(o)
	k.nio--
	k.woken = append(k.woken, wakeup{t, r})
}

// dropStarved takes o off the starved list, reporting whether it was
// there (then nothing of it is in flight).
func (k *Kernel) dropStarved(o *ioOp) bool {
	if i := slices.Index(k.starved, o); i >= 0 {
		k.starved = slices.Delete(k.starved, i, i+1)
		return true
	}
	return false
}

// retryStarved submits again the oldest receives that found no buffer,
// as many as the ring holds buffers now (more would only starve again).
func (k *Kernel) retryStarved() {
	n := min(len(k.starved), k.uring.lendable())
	if n == 0 {
		return
	}
	retry := slices.Clone(k.starved[:n])
	k.starved = slices.Delete(k.starved, 0, n)
	for _, o := range retry {
		k.resubmit(o)
	}
}

// sweepOps cancels the requests whose fd is no longer open: a request
// holds its file, so closing the fd alone never completes it. The task
// gets CodeBadFD.
func (k *Kernel) sweepOps() {
	for _, o := range k.ops {
		if o != nil && o.t != nil && o.flags&opBadFD == 0 && !fdOpen(int(o.fd)) {
			k.failOp(o)
		}
	}
}

// closeOps ends the requests in flight on fd, which the Close trap is
// about to close, as sweepOps does those of a closed fd: their tasks get
// CodeBadFD (through k.woken, or the cancelled request's completion).
func (k *Kernel) closeOps(fd int) {
	for _, o := range k.ops {
		if o != nil && o.t != nil && o.flags&opBadFD == 0 && int(o.fd) == fd {
			k.failOp(o)
		}
	}
}

// failOp ends request o, whose fd is gone, with CodeBadFD: a receive
// that waits for a lent buffer at once, any other by cancelling it.
func (k *Kernel) failOp(o *ioOp) {
	o.flags |= opBadFD
	if k.dropStarved(o) {
		t := o.t
		t.io = nil
		k.freeOp(o)
		k.nio--
		k.woken = append(k.woken, wakeup{t, int64(CodeBadFD)})
		return
	}
	k.cancelOp(o)
}

// opsInFlight counts the requests not yet reaped.
func (k *Kernel) opsInFlight() int {
	n := 0
	for _, o := range k.ops {
		if o != nil {
			n++
		}
	}
	return n
}

// errnoOf returns err's errno, or EIO.
func errnoOf(err error) unix.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

// drainOps waits, at the kernel's end, until every request still in
// flight has completed (each was cancelled when its task was killed):
// until then the OS may still write into a buffer of one. It gives up
// after drainTimeout, which only a request that ignores its cancel could
// make it reach.
func (k *Kernel) drainOps() {
	if k.uring == nil {
		return
	}
	deadline := time.Now().Add(drainTimeout)
	for k.opsInFlight() > 0 && time.Now().Before(deadline) {
		k.p.wait(10*time.Millisecond, nil)
	}
	k.woken = k.woken[:0]
	k.undrained = k.opsInFlight()
	k.lentLeft = k.uring.lentOut()
	clear(k.ops)
	k.ops, k.opGens, k.freeOps, k.starved = k.ops[:0], k.opGens[:0], k.freeOps[:0], nil
	k.uring = nil
}

const drainTimeout = 2 * time.Second

// reapOp waits until o's completion has been reaped, after its cancel:
// for a request that waits for data (the usual case) the cancel completes
// it at once. Readiness events that arrive meanwhile are kept for the
// next poll.
func (k *Kernel) reapOp(o *ioOp) {
	deadline := time.Now().Add(drainTimeout)
	for k.ops[o.slot] == o && time.Now().Before(deadline) {
		evs, err := k.p.wait(10*time.Millisecond, k.heldEvs)
		k.heldEvs = evs
		if err != nil {
			break
		}
	}
}

// dropWoken takes t's pending wakeup out of k.woken.
func (k *Kernel) dropWoken(t *task) {
	k.woken = slices.DeleteFunc(k.woken, func(w wakeup) bool { return w.t == t })
}
