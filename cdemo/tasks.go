package cdemo

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
