package ctx

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// C library entry points the assembly calls, looked up once with dlsym.
// The assembly reads these variables directly.
var (
	pthreadGetspecific uintptr
	pthreadSetspecific uintptr
	libcCalloc         uintptr
	libcFree           uintptr
	libcSigaltstack    uintptr
	libcErrnoLocation  uintptr // int *(*)(void): this thread's errno (0: not read)
	tlsKey             uintptr // pthread_key_t of the per-thread block
)

// libc is the handle of the C library, for this package and its tests.
var libc uintptr

func libcName() string {
	if runtime.GOOS == "darwin" {
		return "/usr/lib/libSystem.B.dylib"
	}
	return "libc.so.6"
}

func init() {
	var err error
	libc, err = purego.Dlopen(libcName(), purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		panic(fmt.Sprintf("ctx: cannot load the C library: %v", err))
	}
	pthreadGetspecific = mustSym("pthread_getspecific")
	pthreadSetspecific = mustSym("pthread_setspecific")
	libcCalloc = mustSym("calloc")
	libcFree = mustSym("free")
	libcSigaltstack = mustSym("sigaltstack")
	errnoName := "__errno_location"
	if runtime.GOOS == "darwin" {
		errnoName = "__error"
	}
	libcErrnoLocation, _ = purego.Dlsym(libc, errnoName)
	// The key's destructor (threadDestroy) frees a thread's block, and the
	// signal stack it may have installed, when the thread exits.
	var key uint64
	if r, _, _ := purego.SyscallN(mustSym("pthread_key_create"), uintptr(unsafe.Pointer(&key)), threadDestroyAddr); r != 0 {
		panic(fmt.Sprintf("ctx: pthread_key_create failed: errno %d", r))
	}
	tlsKey = uintptr(key)
}

func mustSym(name string) uintptr {
	p, err := purego.Dlsym(libc, name)
	if err != nil {
		panic(fmt.Sprintf("ctx: %s not found in the C library: %v", name, err))
	}
	return p
}
