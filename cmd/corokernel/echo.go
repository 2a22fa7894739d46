package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// echoServers maps each -tasks value to the echo server of that task kind.
// A new kind of task adds its server here.
var echoServers = map[string]measure.EchoServer{
	"go":     ready(kernel.GoEchoServer),
	"step":   ready(kernel.StepEchoServer),
	"native": nativeEchoServer,
}

// echoServersOps are the same servers on the completion traps (Accept,
// Recv into a lent buffer, Send: one trap each), which -io ops selects.
var echoServersOps = map[string]measure.EchoServer{
	"go":     ready(kernel.GoEchoServerOps),
	"step":   ready(kernel.StepEchoServerOps),
	"native": nativeEchoServerOps,
}

func ready(s func(fd int) kernel.Task) measure.EchoServer {
	return func() (func(fd int) kernel.Task, error) { return s, nil }
}

// nativeEchoServer is pyos8's server in C (cdemo/c/tasks.c), built with
// $CC on first use.
func nativeEchoServer() (func(fd int) kernel.Task, error) {
	fn, err := cdemo.EchoServer()
	if errors.Is(err, cdemo.ErrNoCompiler) {
		return nil, measure.Unavailable(err.Error())
	}
	if err != nil {
		return nil, err
	}
	return func(fd int) kernel.Task { return kernel.Native(fn, uintptr(fd)) }, nil
}

// nativeEchoServerOps is the server on the completion traps in C (cdemo/c/tasks.c), built with
// $CC on first use.
func nativeEchoServerOps() (func(fd int) kernel.Task, error) {
	fn, err := cdemo.EchoServerOps()
	if errors.Is(err, cdemo.ErrNoCompiler) {
		return nil, measure.Unavailable(err.Error())
	}
	if err != nil {
		return nil, err
	}
	return func(fd int) kernel.Task { return kernel.Native(fn, uintptr(fd)) }, nil
}

// echoMain is "corokernel echo": pyos8's echo server, run until SIGINT or
// SIGTERM, which stop the kernel: every task is killed, the listener and
// the connections are closed, and the command exits with status 0.
func echoMain(args []string, stdout, stderr io.Writer) int {
	kinds := slices.Sorted(maps.Keys(echoServers))
	fs := flag.NewFlagSet("corokernel echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:45000", "listen on `ip:port` (port 0 picks one)")
	tasks := fs.String("tasks", "go", "task `kind` of the server: "+strings.Join(kinds, ", "))
	poller := fs.String("poller", "select", "how the kernel waits for I/O: select, poll, epoll, uring (io_uring) or auto (uring where it works, else epoll)")
	kernels := fs.Int("kernels", 1, "how many kernels serve, each on its own thread and SO_REUSEPORT socket (0: one per CPU, GOMAXPROCS)")
	ioMode := fs.String("io", "auto", "the server's I/O: ready (ReadWait, then the system call), ops (the completion traps Accept, Recv, Send) or auto (ops under uring, else ready)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: corokernel echo [-addr ip:port] [-tasks %s] [-poller select|poll|epoll|uring|auto] [-io ready|ops|auto] [-kernels N]\n",
			strings.Join(kinds, "|"))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "corokernel echo: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if *kernels < 0 || *kernels > 1024 {
		return bad("-kernels %d: want 0 (one per CPU) to 1024", *kernels)
	}
	server, ok := echoServers[*tasks]
	if !ok {
		return bad("unknown -tasks %q (want %s)", *tasks, strings.Join(kinds, ", "))
	}
	if err := kernel.CheckPoller(*poller); err != nil {
		if !slices.Contains([]string{"select", "poll", "epoll", "uring", "auto"}, *poller) {
			return bad("unknown -poller %q (want select, poll, epoll, uring or auto)", *poller)
		}
		fmt.Fprintf(stderr, "corokernel echo: -poller %s: %v\n", *poller, err)
		return 1
	}
	switch *ioMode {
	case "auto":
		*ioMode = "ready"
		if *poller == "uring" || *poller == "auto" && kernel.CheckPoller("uring") == nil {
			*ioMode = "ops"
		}
	case "ready", "ops":
	default:
		return bad("unknown -io %q (want ready, ops or auto)", *ioMode)
	}
	if *ioMode == "ops" {
		server = echoServersOps[*tasks]
	}

	newServer, err := server()
	if err != nil {
		fmt.Fprintf(stderr, "corokernel echo: -tasks %s: %v\n", *tasks, err)
		return 1
	}
	n := *kernels
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	// One kernel per -kernels, each with its own SO_REUSEPORT socket on
	// the address (one kernel: a plain socket, as before).
	var fds []int
	var bound string
	if n == 1 {
		fd, b, err := kernel.Listen(*addr)
		fds, bound = []int{fd}, b
		if err != nil {
			fmt.Fprintf(stderr, "corokernel echo: %v\n", err)
			return 1
		}
	} else if fds, bound, err = kernel.ListenGroup(*addr, n); err != nil {
		fmt.Fprintf(stderr, "corokernel echo: %v\n", err)
		return 1
	}
	// The echo servers close what they wait on just before their tasks
	// end: WithOwnedFDs' promise (under epoll, one epoll_ctl less per
	// message).
	k := kernel.NewGroup(n, kernel.WithPoller(*poller), kernel.WithOwnedFDs())
	for i, fd := range fds {
		k.SpawnOn(i, newServer(fd))
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sig:
			k.Stop()
		case <-done:
		}
	}()

	fmt.Fprintf(stderr, "corokernel echo: %s tasks, %s poller, %s I/O, %d kernel(s), listening on %s\n", *tasks, *poller, *ioMode, n, bound)
	if err := k.Run(); err != nil {
		fmt.Fprintf(stderr, "corokernel echo: %v\n", err)
		return 1
	}
	return 0
}
