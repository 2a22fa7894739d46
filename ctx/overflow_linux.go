package ctx

import (
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The overflow reporter: a SIGSEGV handler installed with libc sigaction
// in front of the Go runtime's (overflow_linux_*.s). When the fault comes
// from native code on the stack of the coroutine running on the faulting
// thread (its stack pointer lies in that stack or its guard region), it
// writes a line to fd 2 first: the stack's overflow line when the faulting
// address lies in the guard region, otherwise
//
//	corokernel: SIGSEGV at address 0x0000000000000010 in NAME
//
// Then it jumps to the Go runtime's handler with the same arguments, which
// reports the fault and ends the process as before: a fault in native code
// cannot be recovered. Go's own faults (nil dereferences in Go code, on
// goroutine stacks) pass through untouched and still become panics.
//
// Under a direct resume (WithDirect) the goroutine is running, not in a
// system call, so the Go runtime would take a fault in the body for one
// of its own, try to unwind the C frames as Go frames and fail with a
// traceback error that names neither the signal nor the coroutine. There
// the handler adds " (direct mode)" to the line and ends the process
// itself, with status 2, as the runtime does for a fault in C code.

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

// The pieces of the fault report, which the handler writes with write(2).
var (
	faultPrefix = "corokernel: SIGSEGV at address 0x"
	faultIn     = " in "
	faultDirect = " (direct mode)\n"
	faultEnd    = "\n"
	hexDigits   = "0123456789abcdef"
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
		nw.handler = segvHandlerAddr
		nw.flags = saSiginfo | saOnstack | saRestart
		nw.restorer = 0
		purego.SyscallN(sigaction, sigSEGV, uintptr(unsafe.Pointer(&nw)), 0)
	})
}
