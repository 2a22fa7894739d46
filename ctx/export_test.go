package ctx

import (
	"unsafe"

	"github.com/corokernel/corokernel/internal/gocoro"
)

// FPState returns this thread's floating-point control state in the
// context frame's layout (fpState): on amd64 MXCSR without its status
// flags | the x87 control word << 32, on arm64 FPCR.
func FPState() uintptr { return uintptr(fpState()) }

// FreshStack maps a stack that no body has used, bypassing the pool: all
// its pages read zero, so StackUsed can tell what a body touched.
func FreshStack(size int) (*Stack, error) { return mapStack(size) }

// StackUsed returns how many bytes of s, counted down from its top, lie
// above its lowest non-zero word: what bodies run on it have used, the
// record at the top included.
func StackUsed(s *Stack) int {
	m := s.mem[GuardSize:]
	for i := 0; i < len(m); i += 8 {
		if *(*uint64)(unsafe.Pointer(&m[i])) != 0 {
			return len(m) - i
		}
	}
	return 0
}

// ThreadIsFresh reports whether this thread has no thread block yet: no
// coroutine has run on it.
func ThreadIsFresh() bool { return threadID() == 0 }

// CoroDetection reports whether gocoro.InGoCoroutine was calibrated, and what it
// says for the calling goroutine.
func CoroDetection() (calibrated, inCoro bool) { return gocoro.Calibrated(), gocoro.InGoCoroutine() }

// MapRecounts returns how often the mapping count was read from
// /proc/self/maps.
func MapRecounts() int {
	maps.Lock()
	defer maps.Unlock()
	return maps.recounts
}

// EntryAddrs returns the words the assembly defines with the C-ABI
// entries' addresses (record.go), by name.
func EntryAddrs() map[string]uintptr {
	return map[string]uintptr{
		"resume": resumeAddr, "yield": yieldAddr, "current": currentAddr,
		"goResume": goResumeAddr, "coEntry": coEntryAddr, "trap": trapAddr,
		"noTrap": noTrapAddr, "goCycle": goCycleAddr, "threadDestroy": threadDestroyAddr,
		"goThreadBlock": goThreadBlockAddr, "goCbUnwind": goCbUnwindAddr,
		"yieldArgs": yieldArgsAddr, "callBody": callBodyAddr, "thunkTable": thunkTableAddr,
		"yieldTable": yieldTableAddr, "segvHandler": segvHandlerAddr,
	}
}
