package ctx

import (
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The overflow reporter: a SIGSEGV handler installed with libc sigaction
// in front of the Go runtime's. When the faulting address lies in the guard
// page of the coroutine running on the faulting thread, it writes that
// stack's header line to fd 2 (overflow_linux_*.s). In every case it then
// jumps to the Go runtime's handler with the same arguments, which reports
// the fault and ends the process as before: a guard page hit in native code
// cannot be recovered. Go's own faults (nil dereferences in Go code) pass
// through untouched and still become panics.

// sigactionT is glibc's struct sigaction, the same on amd64 and arm64.
type sigactionT struct {
	handler  uintptr
	mask     [16]uint64
	flags    int32
	_        int32
	restorer uintptr
}

const (
	sigSEGV    = 11
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
	sigDefault = 0
	sigIgnore  = 1
)

var (
	overflowOnce sync.Once
	// oldSegvHandler is the handler the assembly chains to.
	oldSegvHandler uintptr
)

func installOverflowReporter() {
	overflowOnce.Do(func() {
		sigaction := mustSym("sigaction")
		var old sigactionT
		if r, _, _ := purego.SyscallN(sigaction, sigSEGV, 0, uintptr(unsafe.Pointer(&old))); r != 0 {
			return
		}
		if old.handler == sigDefault || old.handler == sigIgnore {
			return // no Go handler to chain to: leave the default alone
		}
		oldSegvHandler = old.handler
		nw := old
		nw.handler = entries[eSegvHandler]
		nw.flags = saSiginfo | saOnstack | saRestart
		nw.restorer = 0
		purego.SyscallN(sigaction, sigSEGV, uintptr(unsafe.Pointer(&nw)), 0)
	})
}
