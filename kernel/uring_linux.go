package kernel

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is the io_uring ring itself: setup, the submission and
// completion queues with their memory-ordering rules, and the ring of
// provided buffers. uring_poller.go builds the "uring" poller on it, and
// ops.go the completion traps.
//
// The rings are shared memory between this process and the OS, each with
// one producer and one consumer (io_uring(7)):
//
//   - Submission queue: we produce. We write an entry (sqe) and its index in
//     the index array, then publish them by storing the new tail with
//     release order; the OS reads the tail with acquire order, so it sees the
//     entry. The OS consumes entries and advances the head, which we read with
//     acquire order before we reuse a slot.
//   - Completion queue: the OS produces. We read the tail with acquire order
//     (everything the OS wrote into the entries before it is visible), read
//     the entries, and store the new head with release order, which gives
//     the slots back.
//   - Provided buffers: we produce. We write a buffer's entry and publish it
//     by storing the ring's tail with release order; the OS picks buffers up
//     when a receive completes.
//
// Go's sync/atomic loads and stores are sequentially consistent, stronger
// than acquire and release: each publication above is one atomic store,
// each read of the other side's index one atomic load.

// io_uring's ABI (include/uapi/linux/io_uring.h). x/sys/unix has the
// system call numbers and nothing else of it.
const (
	iorSetupCQSize       = 1 << 3
	iorSetupCoopTaskrun  = 1 << 8
	iorSetupSingleIssuer = 1 << 12
	iorSetupDeferTaskrun = 1 << 13

	iorFeatSingleMmap = 1 << 0
	iorFeatNoDrop     = 1 << 1
	iorFeatExtArg     = 1 << 8

	iorOffSQRing = 0
	iorOffCQRing = 0x8000000
	iorOffSQEs   = 0x10000000

	iorEnterGetEvents = 1 << 0
	iorEnterExtArg    = 1 << 3

	iorOpPollAdd     = 6
	iorOpPollRemove  = 7
	iorOpAccept      = 13
	iorOpAsyncCancel = 14
	iorOpRead        = 22
	iorOpWrite       = 23
	iorOpSend        = 26
	iorOpRecv        = 27

	iosqeBufferSelect = 1 << 5

	iorRegisterPbufRing   = 22
	iorUnregisterPbufRing = 23
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// sqe is struct io_uring_sqe: 64 bytes.
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	opFlags  uint32 // poll32_events, msg_flags, accept_flags, cancel_flags
	userData uint64
	bufGroup uint16
	_        uint16
	_        int32
	_        [2]uint64
}

// cqe is struct io_uring_cqe: 16 bytes.
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// geteventsArg is struct io_uring_getevents_arg: the timeout of a wait.
type geteventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	_         uint32
	ts        uint64 // *unix.Timespec
}

// uring is one io_uring instance.
type uring struct {
	fd       int
	sqMem    []byte // the SQ ring's mapping (and the CQ's, with SINGLE_MMAP)
	cqMem    []byte // the CQ ring's own mapping, or nil
	sqeMem   []byte
	sqHead   *uint32 // the OS's
	sqTail   *uint32 // ours
	sqMask   uint32
	sqArray  []uint32
	sqes     []sqe
	cqHead   *uint32 // ours
	cqTail   *uint32 // the OS's
	cqMask   uint32
	cqes     []cqe
	tail     uint32 // our next sq tail, published by flush
	pending  uint32 // entries written and not yet passed to io_uring_enter
	features uint32
}

// uringEntries is the submission queue's size; the completion queue has
// uringCQEntries, room for a completion of every receive of ten thousand
// idle connections waking at once, and the OS keeps what overflows until
// the next wait (IORING_FEAT_NODROP, required). Both rings are mapped
// populated: about 0.5 MiB a running kernel.
const (
	uringEntries   = 4096
	uringCQEntries = 16384
)

// newUring sets up a ring. Its errors name the cause: io_uring_setup
// refused (ENOSYS: a kernel without it; EPERM: disabled by a seccomp
// profile or kernel.io_uring_disabled) or a kernel without what the
// kernel package needs.
func newUring() (*uring, error) {
	// The OS's work for completed requests (the receive's copy, the
	// completion) runs when this thread enters the ring to wait, in one
	// batch, rather than interrupting it: DEFER_TASKRUN (Linux 6.1), which
	// needs the ring to be entered from the thread that made it only
	// (SINGLE_ISSUER: the scheduler's locked thread makes and uses it).
	// Older kernels get COOP_TASKRUN (5.19), or neither.
	var fd int
	var err error
	var p uringParams
	for _, flags := range []uint32{iorSetupSingleIssuer | iorSetupDeferTaskrun, iorSetupCoopTaskrun, 0} {
		p = uringParams{flags: iorSetupCQSize | flags, cqEntries: uringCQEntries}
		if fd, err = uringSetup(uringEntries, &p); err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return nil, uringSetupError(err)
	}
	r := &uring{fd: fd, features: p.features}
	fail := func(err error) (*uring, error) {
		r.close()
		return nil, err
	}
	for _, f := range []struct {
		bit  uint32
		what string
	}{{iorFeatSingleMmap, "IORING_FEAT_SINGLE_MMAP (Linux 5.4)"}, {iorFeatNoDrop, "IORING_FEAT_NODROP (Linux 5.5)"}, {iorFeatExtArg, "IORING_FEAT_EXT_ARG (Linux 5.11)"}} {
		if p.features&f.bit == 0 {
			return fail(fmt.Errorf("kernel: io_uring lacks %s", f.what))
		}
	}
	sqSize := int(p.sqOff.array) + int(p.sqEntries)*4
	if cq := int(p.cqOff.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(cqe{})); cq > sqSize {
		sqSize = cq
	}
	if r.sqMem, err = unix.Mmap(fd, iorOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(fmt.Errorf("kernel: io_uring: mmap of the rings: %w", err))
	}
	if r.sqeMem, err = unix.Mmap(fd, iorOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(fmt.Errorf("kernel: io_uring: mmap of the entries: %w", err))
	}
	m := unsafe.Pointer(&r.sqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(m, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(m, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(m, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(m, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(m, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(m, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(m, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(m, p.cqOff.cqes)), p.cqEntries)
	r.tail = atomic.LoadUint32(r.sqTail)
	return r, nil
}

func uringSetup(entries uint32, p *uringParams) (int, error) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return -1, e
	}
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}

// uringSetupError says why io_uring_setup failed.
func uringSetupError(err error) error {
	switch err {
	case unix.ENOSYS:
		return fmt.Errorf("kernel: io_uring is not available: no io_uring_setup here (ENOSYS: a Linux before 5.1, or an emulator such as qemu-user that does not implement it; this package needs 5.19)")
	case unix.EPERM:
		why := "a seccomp profile (Docker's default refuses io_uring) or the sysctl kernel.io_uring_disabled"
		if b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); err == nil {
			if v := strings.TrimSpace(string(b)); v != "0" {
				why = "the sysctl kernel.io_uring_disabled is " + v
			}
		}
		return fmt.Errorf("kernel: io_uring is not available: io_uring_setup: operation not permitted (EPERM): %s", why)
	case unix.ENOMEM:
		return fmt.Errorf("kernel: io_uring: io_uring_setup: %w (locked memory limit, RLIMIT_MEMLOCK, on kernels before 5.12)", err)
	}
	return fmt.Errorf("kernel: io_uring: io_uring_setup: %w", err)
}

// uringProbe is whether io_uring works here, with the cause when not:
// one ring set up and torn down, and a provided-buffer ring registered
// (Linux 5.19), once per process.
var uringProbe = sync.OnceValue(func() error {
	// A ring is the thread's that made it (SINGLE_ISSUER): registering
	// from another thread fails with EEXIST.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := newUring()
	if err != nil {
		return err
	}
	defer r.close()
	b, err := newBufRing(r, 0, 1, 4096)
	if err != nil {
		return err
	}
	b.close(r)
	return nil
})

// get returns a zeroed entry to fill, flushing the queue to the OS first
// if it is full.
func (r *uring) get() (*sqe, error) {
	if r.tail-atomic.LoadUint32(r.sqHead) >= uint32(len(r.sqes)) {
		if _, err := r.enter(0, 0, nil); err != nil {
			return nil, err
		}
		if r.tail-atomic.LoadUint32(r.sqHead) >= uint32(len(r.sqes)) {
			return nil, unix.EBUSY
		}
	}
	i := r.tail & r.sqMask
	e := &r.sqes[i]
	*e = sqe{}
	r.sqArray[i] = i
	r.tail++
	r.pending++
	return e, nil
}

// enter publishes the entries written (release: the tail store), passes
// them to the OS and, with wait, waits until at least one completion is
// there or ts (nil: no timeout) passes. A wait cut short by a signal or
// the timeout is not an error.
func (r *uring) enter(minComplete uint32, flags uint32, ts *unix.Timespec) (int, error) {
	atomic.StoreUint32(r.sqTail, r.tail)
	submit := r.pending
	var arg geteventsArg
	argp, argsz := uintptr(0), uintptr(0)
	if flags&iorEnterGetEvents != 0 || minComplete > 0 {
		flags |= iorEnterGetEvents | iorEnterExtArg
		if ts != nil {
			arg.ts = uint64(uintptr(unsafe.Pointer(ts)))
		}
		argp, argsz = uintptr(unsafe.Pointer(&arg)), unsafe.Sizeof(arg)
	}
	n, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(submit), uintptr(minComplete), uintptr(flags), argp, argsz)
	if e != 0 {
		switch e {
		case unix.EINTR, unix.ETIME, unix.EAGAIN, unix.EBUSY:
			// Interrupted, timed out, or the OS is short of memory or
			// has completions to flush first: whatever was submitted is
			// accounted below (none on an error), the rest goes next time.
			return 0, nil
		}
		return 0, fmt.Errorf("kernel: io_uring_enter: %w", e)
	}
	r.pending -= uint32(n)
	return int(n), nil
}

// reap calls f for each completion there and gives their slots back.
func (r *uring) reap(f func(c *cqe)) int {
	head := *r.cqHead // ours: only we write it
	tail := atomic.LoadUint32(r.cqTail)
	n := 0
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		atomic.StoreUint32(r.cqHead, head+1) // the slot is ours to give back once copied
		f(&c)
		n++
	}
	return n
}

func (r *uring) close() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
	}
	unix.Close(r.fd)
}

// bufRing is a ring of provided buffers (IORING_REGISTER_PBUF_RING): n
// buffers of size bytes in one mapping, which the OS picks from when a
// receive made with IOSQE_BUFFER_SELECT gets data. A buffer is the
// OS's while it is in the ring, and ours from the completion that names
// it until we put it back.
type bufRing struct {
	group   uint16
	ring    []byte // n entries of struct io_uring_buf {addr u64, len u32, bid u16, resv u16}; the tail is the first entry's resv
	mem     []byte // the buffers
	size    int
	mask    uint16
	tailPtr *uint16
	tail    uint16

	// The OS takes buffers from the ring in the order they were put
	// there, so a ring of every buffer would cycle through all of them and
	// touch all their pages. Only active of them are in the ring; the rest
	// wait in spare, last in first out, and go in as the OS takes buffers:
	// the pages in use stay about as many as the buffers in use at once.
	inRing, active int
	spare          []uint16
}

// bufRegister is struct io_uring_buf_reg.
type bufRegister struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	_           [3]uint64
}

// newBufRing maps n (a power of two) buffers of size bytes and registers
// them as buffer group group, every buffer in the ring.
func newBufRing(r *uring, group uint16, n, size int) (*bufRing, error) {
	ring, err := unix.Mmap(-1, 0, n*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("kernel: io_uring: mmap of the buffer ring: %w", err)
	}
	mem, err := lendMem(n * size)
	if err != nil {
		unix.Munmap(ring)
		return nil, fmt.Errorf("kernel: io_uring: mmap of the buffers: %w", err)
	}
	reg := bufRegister{ringAddr: uint64(uintptr(unsafe.Pointer(&ring[0]))), ringEntries: uint32(n), bgid: group}
	// Made and used on one thread (SINGLE_ISSUER): the caller's is locked.
	if _, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), iorRegisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); e != 0 {
		unix.Munmap(ring)
		lendMemDone(mem)
		if e == unix.EINVAL {
			return nil, errors.New("kernel: io_uring lacks IORING_REGISTER_PBUF_RING (Linux 5.19)")
		}
		return nil, fmt.Errorf("kernel: io_uring: register the buffer ring: %w", e)
	}
	b := &bufRing{group: group, ring: ring, mem: mem, size: size, mask: uint16(n - 1),
		tailPtr: (*uint16)(unsafe.Pointer(&ring[14])), active: min(n, lendActive)}
	for i := n - 1; i >= b.active; i-- {
		b.spare = append(b.spare, uint16(i))
	}
	for i := range b.active {
		b.put(uint16(i))
	}
	b.publish()
	return b, nil
}

// lendActive is how many lent buffers stay in the ring (bufRing.active).
const lendActive = 32

// taken records that the OS took a buffer from the ring (a completion
// named it), and puts a spare one in.
func (b *bufRing) taken() {
	b.inRing--
	if n := len(b.spare); n > 0 {
		id := b.spare[n-1]
		b.spare = b.spare[:n-1]
		b.put(id)
		b.publish()
	}
}

// giveBack takes back a buffer the OS had filled: into the ring if it
// has fewer than active, else to the spares.
func (b *bufRing) giveBack(id uint16) {
	if b.inRing >= b.active {
		b.spare = append(b.spare, id)
		return
	}
	b.put(id)
	b.publish()
}

// buf returns buffer id's bytes.
func (b *bufRing) buf(id uint16) []byte {
	return b.mem[int(id)*b.size : (int(id)+1)*b.size : (int(id)+1)*b.size]
}

// put writes buffer id's entry at the tail; publish makes the entries
// written visible to the OS.
func (b *bufRing) put(id uint16) {
	e := unsafe.Pointer(&b.ring[int(b.tail&b.mask)*16])
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&b.mem[int(id)*b.size])))
	*(*uint32)(unsafe.Add(e, 8)) = uint32(b.size)
	*(*uint16)(unsafe.Add(e, 12)) = id
	b.tail++
	b.inRing++
}

func (b *bufRing) publish() {
	// A 16-bit release store: the tail shares its word with the first
	// entry's bid, which only we write, and only before we publish it.
	w := (*uint32)(unsafe.Pointer(&b.ring[12]))
	old := atomic.LoadUint32(w)
	atomic.StoreUint32(w, old&0xffff|uint32(b.tail)<<16)
}

func (b *bufRing) close(r *uring) {
	reg := bufRegister{bgid: b.group}
	unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), iorUnregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	unix.Munmap(b.ring)
	lendMemDone(b.mem)
}
