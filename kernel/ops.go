package kernel

import (
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The completion traps: Accept, Recv and Send as single traps. Under the
// uring poller each is one request on the ring, and the task waits for its
// completion; under select, poll and epoll the kernel emulates it: it
// makes the system call at once, and when that would block it waits for
// readiness and makes the call again, so the task sees the same single
// trap, with the same results and errors, whatever the poller.
//
// A receive may be given no buffer: the kernel then lends one of its own
// (RecvLent), chosen when the data arrives, so that a connection waiting
// for data holds no buffer at all. Under uring the lent buffers are a ring
// of provided buffers the OS picks from (IORING_REGISTER_PBUF_RING); under
// the others, a pool the kernel takes from around the read. A lent buffer
// stays the task's until its next Recv or its end.

// Buffers lent by the completion traps (RecvLent): lendSize bytes each,
// under uring lendBufs of them in the ring, mapped once per Run and
// touched only when data arrives.
const (
	lendBufs = 256
	lendSize = 64 << 10
)

// lendRing is the number of lent buffers under uring: lendBufs, but a
// variable for the tests that make them run out (export_test.go).
var lendRing = lendBufs

// ioOp is a completion trap in progress: 64 bytes, one per connection
// waiting in a Recv, so it is kept small.
type ioOp struct {
	t     *task          // the task waiting for it; nil once abandoned (killed): its completion is reaped and dropped
	buf   []byte         // Recv: where to receive (nil: lend one); Send: what to send
	dst   unsafe.Pointer // where a lent buffer's bytes go: the trap's Buf (*[]byte), or a native task's struct ck_buf (opNative)
	n     int            // Send: bytes sent so far
	fd    int32          //
	slot  uint32         // uring: index in Kernel.ops
	bid   int32          // 1 + a lent buffer the op holds (a completion that named one, or a killed sender's), or 0
	op    uint8          // OpAccept, OpRecv or OpSend
	flags uint8          // opPlain, opEmulated, opBadFD, opNative
}

const (
	opPlain    = 1 << iota // uring: not a socket: READ and WRITE instead of RECV and SEND
	opEmulated             // uring: a file that would not wait (EAGAIN): emulated as under the other pollers
	opBadFD                // uring: cancelled by the sweep, the fd having been closed
	opNative               // dst is a native task's struct ck_buf
)

func (o *ioOp) kind() Op { return Op(o.op) }

// ckBuf is struct ck_buf (corokernel.h): a native task's buffer.
type ckBuf struct {
	data uintptr
	len  uintptr
}

// cbufAt returns the struct ck_buf at p, in the native task's memory.
func cbufAt(p uintptr) *ckBuf { return (*ckBuf)(unsafe.Add(unsafe.Pointer(nil), p)) }

// bytesAt returns n bytes of native memory at p.
func bytesAt(p, n uintptr) []byte {
	if p == 0 || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), p)), n)
}

// startOp begins completion trap tr of t. It returns ok if t now waits,
// or the result word to return at once.
func (k *Kernel) startOp(t *task, tr Trap) (r int64, ok bool) {
	fd := int(tr.A)
	if tr.A > math.MaxInt32 || fd == k.wakefd {
		return int64(CodeBadFD), false
	}
	// The task's one operation record, made on its first completion trap
	// and reused: a trap allocates nothing. (Once abandoned by a kill it
	// stays the ring's until reaped; the task never traps again.)
	if t.op0 == nil {
		t.op0 = new(ioOp)
	}
	o := t.op0
	*o = ioOp{t: t, op: uint8(tr.Op), fd: int32(fd)}
	if tr.Op != OpAccept {
		switch {
		case tr.Buf != nil:
			o.dst, o.buf = unsafe.Pointer(tr.Buf), *tr.Buf
		case tr.B != 0 && t.nat != nil:
			// data NULL: a Recv borrows a buffer (len is ignored); a
			// Send of NULL data is an error unless len is 0. A zero len
			// with data is an error for a Recv (it could never receive).
			cb := cbufAt(tr.B)
			if (cb.data == 0) != (cb.len == 0) && (tr.Op == OpSend || cb.data != 0) {
				return int64(CodeInvalid), false
			}
			o.dst, o.buf, o.flags = unsafe.Pointer(cb), bytesAt(cb.data, cb.len), opNative
		default:
			return int64(CodeInvalid), false
		}
		if tr.Op == OpRecv {
			// A Recv ends the lending of the task's last lent buffer,
			// unless it receives into that very buffer.
			if t.lent != 0 && !k.isLent(t.lent, o.buf) {
				k.giveBack(t.lent)
				t.lent = 0
			}
		} else if len(o.buf) == 0 {
			return 0, false
		}
	}
	if fd < 0 {
		return int64(CodeBadFD), false
	}
	k.seq++
	t.seq = k.seq
	if k.uring != nil {
		if err := k.submit(o); err != nil {
			return errCode(err), false
		}
		t.io = o
		t.state, t.op, t.arg = sOp, tr.Op, tr.A
		k.nio++
		k.pollSoon()
		return 0, true
	}
	r, again := k.tryOp(o)
	if !again {
		return r, false
	}
	if r, ok := k.ioWait(t, waitFor(o), fd); !ok {
		return r, false
	}
	t.io = o
	t.op = tr.Op
	return 0, true
}

// waitFor is the readiness an emulated operation waits for.
func waitFor(o *ioOp) Op {
	if o.kind() == OpSend {
		return OpWriteWait
	}
	return OpReadWait
}

// tryOp makes o's system call, for the emulation: it returns the result,
// or again when the call would block.
func (k *Kernel) tryOp(o *ioOp) (r int64, again bool) {
	for {
		var n int
		var err error
		switch o.kind() {
		case OpAccept:
			if err = ensureNonblock(int(o.fd)); err == nil {
				n, err = acceptNB(int(o.fd))
			}
			if err == unix.ECONNABORTED {
				err = unix.EAGAIN
			}
		case OpRecv:
			if o.buf != nil {
				n, err = readNB(int(o.fd), o.buf)
				break
			}
			var id int32
			if id, err = k.lend.get(); err != nil {
				break
			}
			n, err = readNB(int(o.fd), k.lend.buf(id))
			if err != nil {
				k.lend.put(id)
				break
			}
			k.lendTo(o, id+1, n)
		case OpSend:
			for o.n < len(o.buf) && err == nil {
				n, err = writeNB(int(o.fd), o.buf[o.n:])
				if err == nil {
					o.n += n
				}
			}
			n = o.n
		}
		switch err {
		case nil:
			return int64(n), false
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, true
		}
		return errnoResult(err), false
	}
}

// lendTo gives lent buffer id (1-based; 0: none, at the end of the
// stream) with n bytes received to o's task.
func (k *Kernel) lendTo(o *ioOp, id int32, n int) {
	t := o.t
	t.lent = id
	var b []byte
	if id != 0 {
		b = k.lentBuf(id)[:n]
	}
	switch {
	case o.flags&opNative != 0:
		cb := (*ckBuf)(o.dst)
		cb.data, cb.len = uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(n)
	case o.dst != nil:
		*(*[]byte)(o.dst) = b
	}
}

// opReady goes on with emulated operation o of t, whose fd is ready (r is
// 0) or failed (r < 0). It returns ok with the operation's result, or
// false when t waits again.
func (k *Kernel) opReady(t *task, o *ioOp, r int64) (int64, bool) {
	if r < 0 {
		return r, true
	}
	r, again := k.tryOp(o)
	if !again {
		return r, true
	}
	if r, ok := k.ioWait(t, waitFor(o), int(o.fd)); !ok {
		return r, true
	}
	t.op = o.kind()
	return 0, false
}

// lentBuf returns lent buffer id's bytes (1-based id).
func (k *Kernel) lentBuf(id int32) []byte {
	if k.uring != nil {
		return k.uring.lentBuf(uint16(id - 1))
	}
	return k.lend.buf(id - 1)
}

// isLent reports whether b lies in lent buffer id.
func (k *Kernel) isLent(id int32, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	l := k.lentBuf(id)
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(l)))
	return p >= lo && p < lo+uintptr(len(l))
}

// giveBack returns lent buffer id (1-based) to the kernel.
func (k *Kernel) giveBack(id int32) {
	if k.uring != nil {
		k.uring.giveBack(uint16(id - 1))
		k.retryStarved()
		return
	}
	k.lend.put(id - 1)
}

// abandonOp takes t out of its completion trap, for a kill: under uring
// the request is cancelled and its completion reaped before the kill goes
// on, so that the task's buffer (its own, a native task's stack, a lent
// one a Send uses) is never written or reused while the OS may still
// write into it or read from it.
func (k *Kernel) abandonOp(t *task) {
	o := t.io
	t.io = nil
	o.t = nil
	if t.lent != 0 && o.kind() == OpSend {
		o.bid, t.lent = t.lent, 0
	}
	k.nio--
	if k.dropStarved(o) {
		k.freeOp(o)
		return
	}
	k.cancelOp(o)
	k.reapOp(o)
}

// releaseLent gives back what an ended task still holds.
func (k *Kernel) releaseLent(t *task) {
	if t.lent != 0 {
		k.giveBack(t.lent)
		t.lent = 0
	}
}

// lendPool is the emulation's lent buffers: chunks of lendChunk buffers
// of lendSize bytes, mapped outside the Go heap (native tasks keep their
// address) as more are needed at once, and reused.
type lendPool struct {
	chunks [][]byte
	free   []int32
}

const lendChunk = 64

func (p *lendPool) get() (int32, error) {
	if len(p.free) == 0 {
		m, err := lendMem(lendChunk * lendSize)
		if err != nil {
			return 0, err // ENOMEM: the Recv fails with it
		}
		base := int32(len(p.chunks) * lendChunk)
		p.chunks = append(p.chunks, m)
		for i := lendChunk - 1; i >= 0; i-- {
			p.free = append(p.free, base+int32(i))
		}
	}
	id := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return id, nil
}

func (p *lendPool) put(id int32) { p.free = append(p.free, id) }

func (p *lendPool) buf(id int32) []byte {
	c := p.chunks[id/lendChunk]
	i := int(id%lendChunk) * lendSize
	return c[i : i+lendSize : i+lendSize]
}

// release gives the pool's buffers back (the kernel's end).
func (p *lendPool) release() {
	for _, c := range p.chunks {
		lendMemDone(c)
	}
	p.chunks, p.free = nil, nil
}

// Lent buffers live in mappings outside the Go heap (a native task keeps
// their address) that are never unmapped: a Go task that kept a lent
// slice past its end (against RecvOp's rule) reads other bytes or zeros,
// never a fault. A kernel's end gives its mappings back here, their pages
// returned to the system (MADV_DONTNEED: they read zero), for the next
// kernel to take.
var lendMaps struct {
	sync.Mutex
	free map[int][][]byte // by size
}

// lendMem returns a mapping of n bytes, a free one if there is one.
func lendMem(n int) ([]byte, error) {
	lendMaps.Lock()
	defer lendMaps.Unlock()
	if l := lendMaps.free[n]; len(l) > 0 {
		m := l[len(l)-1]
		lendMaps.free[n] = l[:len(l)-1]
		return m, nil
	}
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
}

// lendMemDone gives mapping m back, its pages to the system.
func lendMemDone(m []byte) {
	unix.Madvise(m, unix.MADV_DONTNEED)
	lendMaps.Lock()
	defer lendMaps.Unlock()
	if lendMaps.free == nil {
		lendMaps.free = map[int][][]byte{}
	}
	lendMaps.free[len(m)] = append(lendMaps.free[len(m)], m)
}
