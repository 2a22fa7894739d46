package measure

import (
	"iter"
	"runtime"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
)

// This file measures what a pull loop costs to start: one operation is a
// whole loop over a C function that calls back once, from the loop's
// creation to its end.

// LoopStart runs n whole ctx.Calls loops over libc's bsearch of a
// one-element array, which calls its comparator, a yield function, exactly
// once: the coroutine's creation, two resumes, the callback and the
// close.
func LoopStart(n int) (time.Duration, error) {
	bsearch, err := libcSym("bsearch")
	if err != nil {
		return 0, err
	}
	key, elem := new(int32), new(int32)
	var pin runtime.Pinner
	pin.Pin(key)
	pin.Pin(elem)
	defer pin.Unpin()
	args := []uintptr{uintptr(unsafe.Pointer(key)), uintptr(unsafe.Pointer(elem)), 1, 4, ctx.YieldFunc()}
	start := time.Now()
	for range n {
		for call, err := range ctx.Calls(bsearch, args...) {
			if err != nil {
				return 0, err
			}
			call.Return(0)
		}
	}
	return time.Since(start), nil
}

// LoopStartPull runs n whole iter.Pull loops of a one-element sequence:
// iter.Pull, one next and the stop.
func LoopStartPull(n int) (time.Duration, error) {
	seq := func(yield func(int) bool) { yield(1) }
	start := time.Now()
	for range n {
		next, stop := iter.Pull(iter.Seq[int](seq))
		v, _ := next()
		sink += uintptr(v)
		stop()
	}
	return time.Since(start), nil
}
