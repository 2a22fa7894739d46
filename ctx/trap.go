package ctx

import (
	"fmt"
	"unsafe"

	"github.com/corokernel/corokernel/internal/kctx"
)

// Traps and rings are what package kernel builds native tasks from, and
// they are reached only through Kernel, whose types are internal/kctx's: a body that calls
// co->api->trap(co, op, a, b) records a trap and yields, and a ring
// resumes many such coroutines in turn without leaving native code.

var (
	trapAPI = apiTable{
		version: APIVersion,
		size:    uint32(unsafe.Sizeof(apiTable{})),
		yield:   yieldAddr,
		resume:  resumeAddr,
		current: currentAddr,
		trap:    trapAddr,
	}
)

// Kernel returns package kernel's door into this package: trapping
// coroutines and rings of them (internal/kctx says what each does). Its
// argument's type is internal to this module, so no other package can
// call it.
func Kernel(kctx.Key) kctx.API { return kernelDoor{} }

// kernelDoor is kctx.API.
type kernelDoor struct{}

func (kernelDoor) NewTrapping(fn, arg uintptr, name string, stackSize int) (kctx.Coroutine, error) {
	if stackSize == 0 {
		stackSize = DefaultStackSize
	}
	c, err := New(fn, arg, func(c *config) { c.trapping = true }, WithName(name), WithStackSize(stackSize))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (kernelDoor) Trap(c kctx.Coroutine) (uint32, uintptr, uintptr) { return c.(*Coroutine).trap() }

func (kernelDoor) NewRing() kctx.Ring { return new(ring) }

// trap returns the trap the body recorded before its last yield and
// clears it; op is 0 when the body yielded without trapping.
func (c *Coroutine) trap() (op uint32, a, b uintptr) {
	if c.l.closed.Load() {
		return 0, 0, 0
	}
	co := c.co
	op, a, b = uint32(co.trapOp), co.trapA, co.trapB
	co.trapOp, co.trapA, co.trapB = 0, 0, 0
	return op, a, b
}

// ring is kctx.Ring.
type ring struct {
	cos    []unsafe.Pointer // the records, read by goCycle
	owners []*Coroutine
	args   cycleArgs // goCycle's argument block: in the heap (a Go callback may move a goroutine stack)
}

func (r *ring) Reset() {
	clear(r.owners)
	r.cos, r.owners = r.cos[:0], r.owners[:0]
}

func (r *ring) Add(kc kctx.Coroutine, in uintptr) {
	c := kc.(*Coroutine)
	c.co.value = in
	r.cos = append(r.cos, unsafe.Pointer(c.co))
	r.owners = append(r.owners, c)
}

func (r *ring) Len() int { return len(r.cos) }

func (r *ring) At(i int) kctx.Coroutine { return r.owners[i] }

func (r *ring) Progress() (i, count int) { return int(r.args.i), int(r.args.count) }

// cycleArgs is goCycle's argument block.
type cycleArgs struct {
	ring                unsafe.Pointer
	n, start, max, pass uintptr
	i, count            uintptr
	code                int
	stop                uintptr // Stop: end the cycle before the next resume
}

func (r *ring) Stop() { r.args.stop = 1 }

func (r *ring) Cycle(start, max int, pass uint32) (i, count int, more, done bool, err error) {
	if len(r.cos) == 0 || max <= 0 {
		return start, 0, true, false, nil
	}
	if start < 0 || start >= len(r.cos) {
		return start, 0, false, false, fmt.Errorf("ctx: Cycle start %d outside a ring of %d", start, len(r.cos))
	}
	for _, c := range r.owners {
		if c.l.closed.Load() {
			return start, 0, false, false, ErrClosed
		}
	}
	a := &r.args
	*a = cycleArgs{
		ring: unsafe.Pointer(&r.cos[0]), n: uintptr(len(r.cos)),
		start: uintptr(start), max: uintptr(max), pass: uintptr(pass),
	}
	cgocall(goCycleAddr, unsafe.Pointer(a))
	i, count = int(a.i), int(a.count)
	switch a.code {
	case cycleMore:
		return i, count, true, false, nil
	case ckOK:
		return i, count, false, false, nil
	case ckDone:
		return i, count, false, true, nil
	}
	return i, count, false, false, r.owners[i].codeErr(int32(a.code))
}
