package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/echoload"
	"github.com/corokernel/corokernel/internal/measure"
	"github.com/corokernel/corokernel/kernel"
)

// echoServer returns the echo server of a task kind: pyos8's server as Go
// tasks, as step tasks, or as native tasks (C, built by cdemo; skipped,
// saying so, when there is no C compiler); with "-ops", the same on the
// completion traps (Accept, RecvLent, Send).
func echoServer(t testing.TB, kind string) func(fd int) kernel.Task {
	switch kind {
	case "go":
		return kernel.GoEchoServer
	case "step":
		return kernel.StepEchoServer
	case "go-ops":
		return kernel.GoEchoServerOps
	case "step-ops":
		return kernel.StepEchoServerOps
	}
	newC := cdemo.EchoServer
	if kind == "native-ops" {
		newC = cdemo.EchoServerOps
	}
	fn, err := newC()
	if errors.Is(err, cdemo.ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return func(fd int) kernel.Task { return kernel.Native(fn, uintptr(fd)) }
}

// TestEcho runs pyos8's echo server, for each task kind and poller, with
// readiness waits and with the completion traps (-ops), under
// 200 connections x 200 messages of random sizes up to 64 KiB, every byte
// checked; afterwards no fd, goroutine or task may be left.
func TestEcho(t *testing.T) {
	warmNet(t)
	for _, kind := range []string{"go", "step", "native", "go-ops", "step-ops", "native-ops"} {
		for _, poller := range kernel.Pollers() {
			t.Run(kind+"/"+poller, func(t *testing.T) {
				cfg := echoload.Config{Conns: 200, Msgs: 200, MaxSize: 64 << 10, Seed: 4}
				if testing.Short() {
					// The same paths with a lighter load (the race and
					// arm64 runs).
					cfg.Conns, cfg.Msgs = 50, 40
				}
				echo(t, echoServer(t, kind), poller, cfg)
			})
		}
	}
}

// echo serves cfg's load with the server made by newServer under poller
// and checks that everything is released afterwards.
func echo(t *testing.T, newServer func(int) kernel.Task, poller string, cfg echoload.Config) {
	fds0, gs0 := countFDs(t), runtime.NumGoroutine()

	lfd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := kernel.New(kernel.WithPoller(poller))
	k.Spawn(newServer(lfd))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()

	cfg.Addr = addr
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := echoload.Run(ctx, cfg)
	if err != nil {
		t.Errorf("load: %v", err)
	}
	want := int64(cfg.Conns * cfg.Msgs)
	if st.Msgs != want || st.Errors != 0 {
		t.Errorf("load: %d messages checked, %d errors; want %d, 0", st.Msgs, st.Errors, want)
	}
	t.Logf("%s: %d msgs, %.1f MB each way in %v (%.0f MB/s)", poller, st.Msgs,
		float64(st.Bytes)/1e6, st.Duration.Round(time.Millisecond), float64(st.Bytes)/1e6/st.Duration.Seconds())

	k.Stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := k.NumTasks(); n != 0 {
		t.Errorf("%d tasks left after Run", n)
	}
	if fds := countFDs(t); fds != fds0 {
		t.Errorf("%d fds open after the run, %d before", fds, fds0)
	}
	// Goroutines of the load and of Run exit after they report; give
	// them the time to be gone.
	gs := runtime.NumGoroutine()
	for i := 0; i < 500 && gs > gs0; i++ {
		time.Sleep(10 * time.Millisecond)
		gs = runtime.NumGoroutine()
	}
	if gs > gs0 {
		t.Errorf("%d goroutines after the run, %d before", gs, gs0)
	}
}

// countFDs returns the number of fds open in the process.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // less the one ReadDir opened
}

// warmNet makes the net package open its own long-lived fds (the runtime's
// netpoller) before the tests count fds.
func warmNet(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	l.Close()
}

// TestEchoServerDrainsQueue: connections already waiting in the listening
// socket's queue are all accepted before the server waits on it again, for
// every task kind (kernel/echo.go says why: with a wait per accept,
// TestC10K's handshakes overflowed the queue under poll and were reset).
// The trap trace counts the server's waits on the listening fd.
func TestEchoServerDrainsQueue(t *testing.T) {
	const conns = 32
	for _, kind := range []string{"go", "step", "native"} {
		t.Run(kind, func(t *testing.T) {
			server := echoServer(t, kind)
			lfd, addr, err := kernel.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			clients, err := measure.Dial(addr, conns) // queued before the kernel runs
			if err != nil {
				t.Fatal(err)
			}
			defer clients.Close()
			var trace bytes.Buffer
			k := kernel.New(kernel.WithTrace(&trace))
			k.Spawn(server(lfd))
			done := make(chan error, 1)
			go func() { done <- k.Run() }()
			err = clients.Echo([]byte("x"))
			k.Stop()
			if rerr := <-done; rerr != nil {
				t.Errorf("Run: %v", rerr)
			}
			if err != nil {
				t.Fatal(err)
			}
			waits := strings.Count(trace.String(), fmt.Sprintf(" ReadWait(%d) =", lfd))
			if waits < 1 || waits > 3 {
				t.Errorf("%d waits on the listening fd for %d queued connections, want 1 to 3:\n%s", waits, conns, trace.String())
			}
		})
	}
}
