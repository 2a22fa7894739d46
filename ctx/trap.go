package ctx

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Traps and rings are what package kernel builds native tasks from: a body
// that calls co->api->trap(co, op, a, b) records a trap and yields, and a
// Ring resumes many such coroutines in turn without leaving native code.

var (
	trapAPI = apiTable{
		version: APIVersion,
		size:    uint32(unsafe.Sizeof(apiTable{})),
		yield:   entries[eYield],
		resume:  entries[eResume],
		current: entries[eCurrent],
		trap:    entries[eTrap],
	}
	goCycleFn = entries[eGoCycle]
)

// Trapping gives the coroutine the trapping API table: its body's
// co->api->trap(co, op, a, b) records the trap, yields 0, and returns the
// word the next Resume passes. Without this option trap returns -1 at once.
func Trapping() Option { return func(c *config) { c.trapping = true } }

// Trap returns the trap the body recorded before its last yield and clears
// it; op is 0 when the body yielded without trapping.
func (c *Coroutine) Trap() (op uint32, a, b uintptr) {
	if c.l.closed.Load() {
		return 0, 0, 0
	}
	co := c.co
	op, a, b = uint32(co.trapOp), co.trapA, co.trapB
	co.trapOp, co.trapA, co.trapB = 0, 0, 0
	return op, a, b
}

// A Ring is a sequence of coroutines that Cycle resumes in turn, in native
// code, for as long as each one traps with the same passing op: one
// cgocall for a whole round of a scheduler's ready queue.
type Ring struct {
	cos    []unsafe.Pointer // the records, read by goCycle
	owners []*Coroutine
	args   *cycleArgs // goCycle's argument block: in the heap, since a Go callback may move a goroutine stack
}

// Reset empties the ring, keeping its storage.
func (r *Ring) Reset() {
	clear(r.owners)
	r.cos, r.owners = r.cos[:0], r.owners[:0]
}

// Add appends c to the ring; the first resume Cycle makes of it passes in.
func (r *Ring) Add(c *Coroutine, in uintptr) {
	c.co.value = in
	r.cos = append(r.cos, unsafe.Pointer(c.co))
	r.owners = append(r.owners, c)
}

// Len returns the number of coroutines in the ring.
func (r *Ring) Len() int { return len(r.cos) }

// At returns the i'th coroutine of the ring.
func (r *Ring) At(i int) *Coroutine { return r.owners[i] }

// cycleArgs is struct cycle of goCycle.
type cycleArgs struct {
	ring                unsafe.Pointer
	n, start, max, pass uintptr
	i, count            uintptr
	code                int
}

// Cycle resumes the ring's coroutines in order from index start, round the
// ring, as long as each one traps with op pass (its trap is consumed), and
// at most max times in all. A coroutine's first resume passes the word
// given to Add, the later ones 0, the result of a passing trap. It returns the index i
// where it stopped and the number of resumes made. With more set, the
// budget ran out and i is the next coroutine to run; otherwise ring[i],
// the count'th resume, did something else: it trapped with another op or
// yielded (read it with Trap), returned (its Status is Dead), or failed
// (err, as from Resume).
func (r *Ring) Cycle(start, max int, pass uint32) (i, count int, more bool, err error) {
	if len(r.cos) == 0 || max <= 0 {
		return start, 0, true, nil
	}
	if start < 0 || start >= len(r.cos) {
		return start, 0, false, fmt.Errorf("ctx: Cycle start %d outside a ring of %d", start, len(r.cos))
	}
	for _, c := range r.owners {
		if c.l.closed.Load() {
			return start, 0, false, ErrClosed
		}
	}
	if r.args == nil {
		r.args = new(cycleArgs)
	}
	a := r.args
	*a = cycleArgs{
		ring: unsafe.Pointer(&r.cos[0]), n: uintptr(len(r.cos)),
		start: uintptr(start), max: uintptr(max), pass: uintptr(pass),
	}
	cgocall(goCycleFn, unsafe.Pointer(a))
	runtime.KeepAlive(r)
	i, count = int(a.i), int(a.count)
	switch a.code {
	case cycleMore:
		return i, count, true, nil
	case ckOK, ckDone:
		return i, count, false, nil
	}
	return i, count, false, r.owners[i].codeErr(int32(a.code))
}
