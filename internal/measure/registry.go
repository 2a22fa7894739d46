package measure

import (
	"fmt"
	"github.com/corokernel/corokernel/internal/buses"
	"maps"
	"os/exec"
	"slices"
	"time"

	"github.com/corokernel/corokernel"
	"github.com/corokernel/corokernel/ctx"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/corokernel/corokernel/internal/kctx"
	"github.com/corokernel/corokernel/kernel"
)

// Config is what the registry needs from the packages that use it.
type Config struct {
	// LoadC loads cdemo's C library (cdemo.Load) for the C rows; an
	// error wrapping ErrUnavailable makes them rows that say why.
	LoadC func() (CLib, error)
	// EchoServers are the kernel's echo servers by task kind, as
	// corokernel's -tasks flag names them.
	EchoServers map[string]EchoServer
	// EchoServersOps are the same servers on the completion traps
	// (Accept, RecvLent, Send), which the uring rows run.
	EchoServersOps map[string]EchoServer
	// BusesFeedSize is the size of the bus-feed contest's feed (default
	// BusesFeedSize).
	BusesFeedSize int64
	// BusesChild makes the child process of the bus feed's "stages
	// process" row (corokernel buses -stages child); without it the row
	// says it cannot run.
	BusesChild func(buses.Filter) *exec.Cmd
}

// An EchoServer returns the constructor of an echo server task on a
// listening fd, or why there is none here (the native server needs cdemo's
// C library): an error wrapping ErrUnavailable for a missing C compiler.
type EchoServer func() (func(fd int) kernel.Task, error)

// Kinds of mechanism.
const (
	stackfulNative   = "stackful, native"
	stacklessNative  = "stackless, native"
	stackfulGo       = "stackful, Go"
	stacklessGo      = "stackless, Go"
	stackfulNativeGo = "stackful, native, driven from Go"
)

// generators are cdemo's benchmark generators (cdemo.Generators), each
// yielding 0, 1, 2, ...
var generators = []struct{ name, kind, what string }{
	{"static", stacklessNative, "Tatham's static variables (one instance per program)"},
	{"ccr", stacklessNative, "Tatham's ccr macros, the state in a 16-byte struct"},
	{"pt-switch", stacklessNative, "a protothread, switch/__LINE__ local continuations"},
	{"pt-goto", stacklessNative, "a protothread, computed-goto local continuations"},
	{"ctx-native", stackfulNative, "a ctx coroutine with a C body, resumed from C"},
}

// pollerKinds say how each poller scales.
var pollerKinds = map[string]string{
	"select": "select(2): scans every fd",
	"poll":   "poll(2): scans every fd",
	"epoll":  "epoll(7): ready fds only",
	"uring":  "io_uring(7) poll requests: ready fds only",
}

// taskKind is the Kind of the echo server rows of a task kind.
func taskKind(name string) string {
	for _, k := range TaskKinds {
		if k.Name == name {
			return k.Kind
		}
	}
	return "kernel task"
}

// Mechanisms returns the rows of the comparison in report order: switch
// costs, I/O waits, echo throughput.
func Mechanisms(c Config) []Mechanism {
	loadC := c.LoadC
	if loadC == nil {
		loadC = func() (CLib, error) { return nil, Unavailable("no C library loader") }
	}
	b := boost()
	boostWhat := "boost.context"
	if b.version != "" {
		boostWhat += " " + b.version
	}
	ms := []Mechanism{
		{
			Name: "Go function call", Kind: "call, Go",
			What: "a call and return of a Go function that is not inlined",
			Run:  FuncCall,
		},
		{
			Name: "cgocall", Kind: "call, Go to C",
			What: "runtime.cgocall of libc abs: onto the system stack and back, no switch",
			Run:  Cgocall,
		},
		{
			Name: "ctx native loop", Kind: stackfulNative,
			What: "two contexts ping-pong with ck_jump_context in native code, N round trips per cgocall",
			Run:  NativeLoop,
			Memory: func(n int) (float64, error) {
				return fcontextBytes(corokernel.MakeContextFn, corokernel.JumpContextFn, n)
			},
		},
		{
			Name: "boost.context", Kind: stackfulNative,
			What:  "the same native loop with " + boostWhat + " jump_fcontext",
			Avail: func() error { return b.err },
			Run:   Boost,
			Memory: func(n int) (float64, error) {
				return fcontextBytes(b.make, b.jump, n)
			},
		},
		{
			Name: "ctx native loop, flags differ", Kind: stackfulNative,
			What: "the ctx native loop with the two contexts' MXCSR status flags different (one side did inexact arithmetic): " +
				"on Intel the switch loads only the control bits, and only when they differ; on AMD, where loading costs nothing extra, it loads always",
			Run: NativeLoopFlagsDiffer,
		},
		{
			Name: "boost.context, flags differ", Kind: stackfulNative,
			What:  "boost.context with the status flags different: it restores the whole MXCSR, and on Intel the next STMXCSR waits",
			Avail: func() error { return b.err },
			Run:   BoostFlagsDiffer,
		},
		{
			Name: "ucontext", Kind: stackfulNative,
			What:   "the same native loop with glibc swapcontext, which saves the signal mask with a system call",
			Avail:  func() error { _, err := ucontextFuncs(); return err },
			Run:    Ucontext,
			Memory: ucontextBytes,
		},
		{
			Name: "ctx go-driven", Kind: stackfulNativeGo,
			What: "Coroutine.Resume from Go (one cgocall), the body yields back",
			Run:  GoDriven,
			Memory: func(n int) (float64, error) {
				return ctxBytes(n, plain(cabi.Count, 0))
			},
		},
		{
			Name: "ctx go-direct", Kind: stackfulNativeGo,
			What: "Coroutine.Resume in direct mode (WithDirect: no cgocall), the body yields back",
			Run:  GoDirect,
		},
		{
			Name: "ctx c-resume", Kind: stackfulNative,
			What: "ck_resume from native code (a loop in assembly), the body yields back: go-driven without Go",
			Run:  CResume,
		},
		{
			Name: "ctx ring", Kind: stackfulNative,
			What: "kctx.Ring Cycle: a trap and the switch to the next coroutine (a ring of one), in native code",
			Run:  func(n int) (time.Duration, error) { return Cycle(1, n) },
			Memory: func(n int) (float64, error) {
				return ctxBytes(n, func() (kctx.Coroutine, error) {
					return door.NewTrapping(cabi.TrapLoop, 1, "trap loop", ctx.MinStackSize)
				})
			},
		},
		{
			Name: "iter.Pull", Kind: stackfulGo,
			What:   "next and yield of the runtime's coroutine",
			Run:    Pull,
			Memory: pullBytes,
		},
		{
			Name: "goroutine+channel", Kind: stackfulGo,
			What:   "a request and a reply over unbuffered channels to another goroutine",
			Run:    Channel,
			Memory: channelBytes,
		},
		{
			Name: "Go step function", Kind: stacklessGo,
			What:   "a call of the generator written as a Go state machine (a method, not inlined)",
			Run:    GoStep,
			Memory: stepBytes,
		},
	}
	for _, g := range generators {
		m := Mechanism{
			Name: "C " + g.name, Kind: g.kind,
			What:  "cdemo's generator, resumed in a C loop (N per call from Go): " + g.what,
			Avail: func() error { _, err := loadC(); return err },
			Run: func(n int) (time.Duration, error) {
				l, err := loadC()
				if err != nil {
					return 0, err
				}
				return Generator(l, g.name, n)
			},
		}
		if g.kind == stackfulNative {
			m.Memory = func(n int) (float64, error) {
				l, err := loadC()
				if err != nil {
					return 0, err
				}
				body, err := l.Sym("co_ctx_native")
				if err != nil {
					return 0, err
				}
				return ctxBytes(n, plain(body, 0))
			}
		}
		ms = append(ms, m)
	}
	for _, k := range TaskKinds {
		ms = append(ms, Mechanism{
			Name: "kernel " + k.Name + " task", Kind: k.Kind,
			What:   "a Yield trap and the reschedule, one task ready",
			Run:    func(n int) (time.Duration, error) { return KernelTrap(k.Yielder, n) },
			Memory: func(n int) (float64, error) { return taskBytes(k, n) },
		})
	}
	for i := range ms {
		ms[i].Section = Switch
	}

	for _, p := range kernel.Pollers() {
		for _, idle := range []int{10, 100, 1000} {
			ms = append(ms, Mechanism{
				Name: fmt.Sprintf("%s, %d idle fds", p, idle), Section: IOWait, Kind: pollerKinds[p],
				What: fmt.Sprintf("a byte through a pipe: write, ReadWait, read, while %d tasks wait on idle fds", idle),
				Run:  func(n int) (time.Duration, error) { return Poll(p, idle, n) },
			})
		}
	}

	const load = "16 KiB messages on 200 connections, every byte checked"
	for _, name := range slices.Sorted(maps.Keys(c.EchoServers)) {
		kind := taskKind(name)
		server := c.EchoServers[name]
		ms = append(ms, Mechanism{
			Name: "echo " + name + " tasks", Section: Throughput, Kind: kind, Bytes: EchoSize,
			What:  "pyos8's echo server as " + name + " tasks, epoll: " + load,
			Avail: func() error { _, err := server(); return err },
			Run: func(n int) (time.Duration, error) {
				s, err := server()
				if err != nil {
					return 0, err
				}
				return Echo(s, "epoll", n)
			},
		})
	}
	for _, name := range slices.Sorted(maps.Keys(c.EchoServersOps)) {
		kind := taskKind(name)
		server := c.EchoServersOps[name]
		ms = append(ms, Mechanism{
			Name: "echo " + name + " tasks, uring", Section: Throughput, Kind: kind, Bytes: EchoSize,
			What:  "the echo server as " + name + " tasks on the completion traps (Accept, RecvLent, Send: io_uring requests), uring: " + load,
			Avail: func() error { return uringAvail(server) },
			Run: func(n int) (time.Duration, error) {
				s, err := server()
				if err != nil {
					return 0, err
				}
				return Echo(s, "uring", n)
			},
		})
	}
	ms = append(ms, Mechanism{
		Name: "echo gnet 1 loop", Section: Throughput, Kind: "event loop", Bytes: EchoSize,
		What:  "gnet (peers/gnet, a process of its own), one event loop: " + load,
		Avail: GnetAvail,
		Run: func(n int) (time.Duration, error) {
			s, err := StartGnet(1)
			if err != nil {
				return 0, err
			}
			defer s.Stop()
			return echoLoad(s.Addr, n)
		},
	})
	ms = append(ms, Mechanism{
		Name: "echo net", Section: Throughput, Kind: "goroutine per connection", Bytes: EchoSize, Baseline: true,
		What: "package net, a goroutine per connection: " + load,
		Run:  NetEcho,
	})

	const c10kLoad = "1 KiB messages on 10,000 connections open at once, every byte checked"
	const idle = "; memory: bytes held per idle connection (each echoed 100 bytes, then left open)"
	for _, name := range slices.Sorted(maps.Keys(c.EchoServers)) {
		kind := taskKind(name)
		server := c.EchoServers[name]
		start := func() (*Server, error) {
			s, err := server()
			if err != nil {
				return nil, err
			}
			return StartKernel(s, "epoll")
		}
		ms = append(ms, Mechanism{
			Name: "c10k " + name + " tasks", Section: C10K, Kind: kind, Bytes: C10KSize,
			What:   "pyos8's echo server as " + name + " tasks, epoll: " + c10kLoad + idle,
			Avail:  func() error { _, err := server(); return err },
			Run:    func(n int) (time.Duration, error) { return ManyConnsEcho(start, C10KConns, n) },
			Memory: func(n int) (float64, error) { return IdleConnBytes(start, n) },
		})
	}
	for _, name := range slices.Sorted(maps.Keys(c.EchoServersOps)) {
		kind := taskKind(name)
		server := c.EchoServersOps[name]
		start := func() (*Server, error) {
			s, err := server()
			if err != nil {
				return nil, err
			}
			return StartKernel(s, "uring")
		}
		ms = append(ms, Mechanism{
			Name: "c10k " + name + " tasks, uring", Section: C10K, Kind: kind, Bytes: C10KSize,
			What:   "the echo server as " + name + " tasks on the completion traps, uring: " + c10kLoad + idle,
			Avail:  func() error { return uringAvail(server) },
			Run:    func(n int) (time.Duration, error) { return ManyConnsEcho(start, C10KConns, n) },
			Memory: func(n int) (float64, error) { return IdleConnBytes(start, n) },
		})
	}
	ms = append(ms, Mechanism{
		Name: "c10k net", Section: C10K, Kind: "goroutine per connection", Bytes: C10KSize, Baseline: true,
		What:   "package net, a goroutine per connection: " + c10kLoad + idle,
		Run:    func(n int) (time.Duration, error) { return ManyConnsEcho(StartNet, C10KConns, n) },
		Memory: func(n int) (float64, error) { return IdleConnBytes(StartNet, n) },
	})
	size := c.BusesFeedSize
	if size <= 0 {
		size = BusesFeedSize
	}
	ms = append(ms, busesMechanisms(size, loadC, c.BusesChild)...)

	for _, l := range []struct {
		name, what string
		run        func(pull bool, n int) (time.Duration, error)
	}{
		{"sqlite", "one row of a select from an in-memory table (sqlite3_exec's row callback)", SqliteEvents},
		{"zlib", "one in() or out() of inflateBack over 1 MB in 4 KiB chunks (kilobytes of inflating each)", ZlibEvents},
	} {
		ms = append(ms,
			Mechanism{Name: l.name + " push", Section: CLibs, Kind: "purego callbacks",
				What: l.what + ", pushed to a Go callback",
				Run:  func(n int) (time.Duration, error) { return l.run(false, n) }},
			Mechanism{Name: l.name + " pull", Section: CLibs, Kind: stackfulNativeGo,
				What: l.what + ", pulled: a ctx loop over a yield function",
				Run:  func(n int) (time.Duration, error) { return l.run(true, n) }})
	}
	ms = append(ms,
		Mechanism{Name: "loop start: ctx.Calls", Section: CLibs, Kind: stackfulNativeGo,
			What: "a whole pull loop over a C function that calls back once (libc's bsearch of one element)", Run: LoopStart},
		Mechanism{Name: "loop start: iter.Pull", Section: CLibs, Kind: stackfulGo, Baseline: true,
			What: "iter.Pull, one next and stop of a one-element sequence", Run: LoopStartPull})
	return ms
}

// uringAvail says why a uring row cannot run here: no io_uring (the
// cause), or no server (the native one needs a C compiler).
func uringAvail(server EchoServer) error {
	if err := kernel.CheckPoller("uring"); err != nil {
		return Unavailable(err.Error())
	}
	_, err := server()
	return err
}
