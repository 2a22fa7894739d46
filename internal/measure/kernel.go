package measure

import (
	"context"
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/corokernel/corokernel/internal/echoload"
	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// A TaskKind is one kind of kernel task, as the report measures it.
type TaskKind struct {
	Name    string                  // as corokernel's -tasks flag names it
	Kind    string                  // stackful or stackless, native or Go
	Yielder func(n int) kernel.Task // a task that yields n times, then exits
	Sleeper func() kernel.Task      // a task that sleeps for an hour
	// RSS: its memory is mostly stacks outside the Go heap, measured as
	// resident memory.
	RSS bool
}

// TaskKinds are the kernel's kinds of task, in report order. A new kind
// adds itself here.
var TaskKinds = []TaskKind{
	{Name: "step", Kind: stacklessGo, Yielder: stepYielder, Sleeper: stepSleeper},
	{Name: "go", Kind: stackfulGo, Yielder: goYielder, Sleeper: goSleeper},
	{Name: "native", Kind: stackfulNative, Yielder: nativeYielder, Sleeper: nativeSleeper, RSS: true},
}

// nativeYielder and nativeSleeper run C-ABI bodies from internal/cabi, so
// the native rows need no C compiler.
func nativeYielder(n int) kernel.Task { return kernel.Native(cabi.YieldN, uintptr(n)) }

// sleepHour is cabi.Trap1's {op, a}: Sleep for an hour. A global never
// moves, so native code may keep its address.
var sleepHour = [2]uintptr{uintptr(kernel.OpSleep), uintptr(time.Hour)}

func nativeSleeper() kernel.Task {
	return kernel.Native(cabi.Trap1, uintptr(unsafe.Pointer(&sleepHour)))
}

func stepYielder(n int) kernel.Task {
	return kernel.Step(kernel.StepFunc(func(int64) kernel.Trap {
		if n == 0 {
			return kernel.Exit(0)
		}
		n--
		return kernel.Yield()
	}))
}

func stepSleeper() kernel.Task {
	return kernel.Step(kernel.StepFunc(func(int64) kernel.Trap { return kernel.Sleep(time.Hour) }))
}

func goYielder(n int) kernel.Task {
	return kernel.Go(func(s *kernel.Sys) {
		for range n {
			s.Yield()
		}
	})
}

func goSleeper() kernel.Task {
	return kernel.Go(func(s *kernel.Sys) { s.Sleep(time.Hour) })
}

// KernelTrap runs a kernel whose one task, made by yielder, traps Yield
// n times: one operation is a trap and the reschedule that follows.
func KernelTrap(yielder func(n int) kernel.Task, n int) (time.Duration, error) {
	k := kernel.New()
	k.Spawn(yielder(n))
	start := time.Now()
	err := k.Run()
	return time.Since(start), err
}

// Poll makes n I/O round trips through the kernel's named poller while
// idle tasks wait in ReadWait on idle fds: a step task writes a byte to
// a pipe, waits in ReadWait until it is readable, and reads it.
func Poll(poller string, idle, n int) (time.Duration, error) {
	a, err := pipe()
	if err != nil {
		return 0, err
	}
	defer unix.Close(a[0])
	defer unix.Close(a[1])
	p, err := pipe()
	if err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	k := kernel.New(kernel.WithPoller(poller))
	for range idle {
		fd, err := unix.FcntlInt(uintptr(p[0]), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		defer unix.Close(fd)
		k.Spawn(kernel.Step(kernel.StepFunc(func(int64) kernel.Trap { return kernel.ReadWait(fd) })))
	}
	// The active task runs first after every idle task waits.
	var (
		start, end time.Time
		failed     error
		buf        = []byte{0}
		i          = -1
	)
	k.Spawn(kernel.Step(kernel.StepFunc(func(r int64) kernel.Trap {
		if i < 0 {
			start = time.Now()
		} else if r < 0 {
			failed = fmt.Errorf("kernel: ReadWait: %w", kernel.Err(r))
		} else if _, err := unix.Read(a[0], buf); err != nil {
			failed = fmt.Errorf("reading the pipe: %w", err)
		}
		i++
		if i == n || failed != nil {
			end = time.Now()
			k.Stop()
			return kernel.Exit(0)
		}
		if _, err := unix.Write(a[1], buf); err != nil {
			failed = fmt.Errorf("writing the pipe: %w", err)
		}
		return kernel.ReadWait(a[0])
	})))
	if err := k.Run(); err != nil {
		return 0, err
	}
	return end.Sub(start), failed
}

// pipe returns a non-blocking pipe, closed on exec.
func pipe() (p [2]int, err error) {
	if err := unix.Pipe(p[:]); err != nil {
		return p, err
	}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return p, err
		}
	}
	return p, nil
}

// Echo load: EchoConns connections each send messages of EchoSize bytes.
const (
	EchoConns = 200
	EchoSize  = 16 << 10
)

// Echo serves the echo protocol with the kernel's server made by server,
// on the named poller, and echoes n messages of EchoSize bytes through it
// over EchoConns connections, checking every byte.
func Echo(server func(fd int) kernel.Task, poller string, n int) (time.Duration, error) {
	fd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	k := kernel.New(kernel.WithPoller(poller), kernel.WithOwnedFDs()) // as StartKernel
	k.Spawn(server(fd))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()
	d, err := echoLoad(addr, n)
	k.Stop()
	if rerr := <-done; err == nil {
		err = rerr
	}
	return d, err
}

// NetEcho is Echo with a goroutine-per-connection server of package net.
func NetEcho(n int) (time.Duration, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	stop := echoload.Serve(l, netEchoBuf, nil)
	d, err := echoLoad(l.Addr().String(), n)
	stop()
	return d, err
}

// netEchoBuf is the read buffer of each connection of the net server.
const netEchoBuf = 64 << 10

// echoLoad echoes at least n messages of EchoSize bytes over EchoConns
// connections to addr (the same number on each) and returns the time n of
// them took.
func echoLoad(addr string, n int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return loadOn(ctx, addr, EchoConns, EchoSize, n)
}

// loadOn echoes at least n messages of size bytes over conns connections
// to addr, all open at once (the same number of messages on each), and
// returns the time n of them took.
func loadOn(ctx context.Context, addr string, conns, size, n int) (time.Duration, error) {
	msgs := max((n+conns-1)/conns, 1)
	st, err := echoload.Run(ctx, echoload.Config{
		Addr: addr, Conns: conns, Msgs: msgs,
		MinSize: size, MaxSize: size, Seed: 1,
	})
	if err != nil {
		return 0, err
	}
	total := msgs * conns
	if st.Msgs != int64(total) {
		return 0, fmt.Errorf("echoload: %d messages echoed, want %d", st.Msgs, total)
	}
	return st.Duration * time.Duration(n) / time.Duration(total), nil
}
