package cdemo

import (
	"io"
	"sync"
	"unsafe"

	"github.com/corokernel/corokernel/ctx"
)

// EchoServer returns the C function pointer of ck_echo_server (c/tasks.c):
// pyos8's echo server as the body of a native kernel task, written as
// blocking-style C whose Accept, Recv and Send trap from nested calls.
// Run it with kernel.Native(fn, uintptr(listenFd)) on a non-blocking
// listening socket, which it owns (as kernel.GoEchoServer does).
func EchoServer() (uintptr, error) {
	l, err := Load()
	if err != nil {
		return 0, err
	}
	return l.Sym("ck_echo_server")
}

// EchoServerOps returns the C function pointer of ck_echo_server_ops
// (c/tasks.c): the echo server on the completion traps (CK_TRAP_ACCEPT,
// CK_TRAP_RECV into a lent buffer, CK_TRAP_SEND), as kernel.GoEchoServerOps
// is for Go tasks. Run it as EchoServer's.
func EchoServerOps() (uintptr, error) {
	l, err := Load()
	if err != nil {
		return 0, err
	}
	return l.Sym("ck_echo_server_ops")
}

// The C tasks of c/tasks.c print through a struct ck_out, whose write
// function is a Go callback; there is one, shared by every task.
var out struct {
	once  sync.Once
	err   error
	mu    sync.Mutex
	w     io.Writer
	ckOut struct{ write uintptr } // struct ck_out: a global, so it never moves
}

// PrintTo makes the C tasks' output go to w from now on and returns the
// argument the tasks take (kernel.Native(fn, arg)): a pointer to their
// struct ck_out. Writes are serialised. The error is the callback's, if
// none could be made.
func PrintTo(w io.Writer) (arg uintptr, err error) {
	out.once.Do(func() {
		out.ckOut.write, out.err = ctx.NewCallback(func(p *byte, n uintptr) {
			out.mu.Lock()
			defer out.mu.Unlock()
			if out.w != nil {
				out.w.Write(unsafe.Slice(p, n))
			}
		})
	})
	if out.err != nil {
		return 0, out.err
	}
	out.mu.Lock()
	out.w = w
	out.mu.Unlock()
	return uintptr(unsafe.Pointer(&out.ckOut)), nil
}
