//go:build linux

package tests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/corokernel/corokernel/cdemo"
	"github.com/corokernel/corokernel/internal/cabi"
	"github.com/corokernel/corokernel/internal/echoload"
	"github.com/corokernel/corokernel/kernel"
	"golang.org/x/sys/unix"
)

// The soak test: pyos8's echo server of each task kind under each poller,
// with 1000 connections open at once (900 under select, whose fds must stay
// below FD_SETSIZE), every byte checked, while a chaos task in the same
// kernel keeps a population of other tasks of every kind and kills and
// respawns them at random. The load runs in a child process (this test
// binary again, as TestSoakLoad), so that the server's process holds only
// the server's fds: 900 connections then take 900 fds under select, not
// 1800.

// soakEnv carries the load's configuration to the child process.
const soakEnv = "CK_SOAK_LOAD"

// endLog records the TIDs of WithLog's "Task N terminated" lines. The
// kernel writes to it from the goroutine running Run; it is read after Run
// returns.
type endLog struct {
	ended map[kernel.TID]int
	bad   []string
}

func (l *endLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		var tid kernel.TID
		if _, err := fmt.Sscanf(line, "Task %d terminated", &tid); err != nil {
			l.bad = append(l.bad, line)
			continue
		}
		l.ended[tid]++
	}
	return len(p), nil
}

// Victims of the chaos task: what each one does, over and over.
const (
	vYield = iota // Yield
	vSleep        // Sleep 50 µs to 2 ms
	vPipe         // ReadWait on a pipe nobody writes to
	vWait         // WaitTask on another victim (then on no task: a Yield)
	numWhat
)

var whatNames = [numWhat]string{"yield", "sleep", "pipe", "wait"}

var soakKinds = [...]string{"go", "step", "native"}

// cVictim is struct ck_victim (cdemo/c/tasks.c).
type cVictim struct {
	Op, State uint32
	A         uintptr
	Traps     uint64
}

// victim is one task of the chaos task's population.
type victim struct {
	tid        kernel.TID
	kind, what int
	started    bool     // Go: its function ran
	ended      bool     // Go: its defers ran; step: its Kill method ran
	c          *cVictim // native (C): its record
}

// chaos is a Go task that keeps pop victims alive, of every kind and
// behaviour, and kills and respawns them at random with a seeded PRNG,
// until told to stop and at least minKills were killed; then it kills the
// rest. Each kill is checked at once: KillTask returned true, the victim
// saw its end (a Go victim's defers ran, a step victim's Kill method, a
// C victim's trap returned the killed code), and WaitTask no longer knows
// it.
type chaos struct {
	t        *testing.T
	rng      *rand.Rand
	fn       uintptr // ck_victim, or 0: native victims are cabi.TrapLoop
	pipe     int
	pop      []*victim
	all      []*victim
	kills    [len(soakKinds)][numWhat]int
	minKills int
	stop     atomic.Bool
	done     chan struct{}
	pins     runtime.Pinner
}

func newChaos(t *testing.T, seed uint64, pipe int) *chaos {
	c := &chaos{t: t, rng: rand.New(rand.NewPCG(seed, 7)), pipe: pipe, minKills: 300, done: make(chan struct{})}
	if l, err := cdemo.Load(); err == nil {
		c.fn, err = l.Sym("ck_victim")
		if err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, cdemo.ErrNoCompiler) {
		t.Fatal(err)
	} else {
		t.Logf("native victims are cabi.TrapLoop bodies (yield and sleep only), checked by the kernel's log only: %v", err)
	}
	return c
}

const chaosPop = 40

func (c *chaos) run(s *kernel.Sys) {
	defer close(c.done)
	for !c.stop.Load() || c.killed() < c.minKills {
		for len(c.pop) < chaosPop {
			c.spawn(s)
		}
		// Let the victims and the server run, then kill one.
		s.Sleep(time.Duration(c.rng.IntN(300)) * time.Microsecond)
		c.kill(s, c.rng.IntN(len(c.pop)))
	}
	for len(c.pop) > 0 {
		c.kill(s, len(c.pop)-1)
	}
}

func (c *chaos) killed() int {
	n := 0
	for _, k := range c.kills {
		for _, x := range k {
			n += x
		}
	}
	return n
}

func (c *chaos) spawn(s *kernel.Sys) {
	v := &victim{kind: c.rng.IntN(len(soakKinds)), what: c.rng.IntN(numWhat)}
	var tr kernel.Trap
	switch v.what {
	case vYield:
		tr = kernel.Yield()
	case vSleep:
		tr = kernel.Sleep(time.Duration(50+c.rng.IntN(1950)) * time.Microsecond)
	case vPipe:
		tr = kernel.ReadWait(c.pipe)
	case vWait:
		if len(c.pop) == 0 {
			tr = kernel.WaitTask(s.GetTid()) // the chaos task: 0 at once
		} else {
			tr = kernel.WaitTask(c.pop[c.rng.IntN(len(c.pop))].tid)
		}
	}
	var task kernel.Task
	switch soakKinds[v.kind] {
	case "go":
		task = kernel.Go(func(s *kernel.Sys) {
			v.started = true
			defer func() { v.ended = true }()
			for {
				s.Trap(tr)
			}
		})
	case "step":
		task = kernel.Step(&stepVictim{v: v, tr: tr})
	case "native":
		if c.fn != 0 {
			v.c = &cVictim{Op: uint32(tr.Op), A: tr.A}
			c.pins.Pin(v.c)
			task = kernel.Native(c.fn, uintptr(unsafe.Pointer(v.c)))
		} else {
			op := kernel.OpYield
			if v.what == vSleep {
				op = kernel.OpSleep // sleeps of 0, 1, 2, ... ns
			}
			task = kernel.Native(cabi.TrapLoop, uintptr(op))
		}
	}
	v.tid = s.NewTask(task)
	if v.tid == 0 {
		c.t.Errorf("NewTask of a %s victim failed", soakKinds[v.kind])
		return
	}
	c.pop = append(c.pop, v)
	c.all = append(c.all, v)
}

func (c *chaos) kill(s *kernel.Sys, i int) {
	v := c.pop[i]
	c.pop = append(c.pop[:i], c.pop[i+1:]...)
	name := fmt.Sprintf("%s %s victim %d", soakKinds[v.kind], whatNames[v.what], v.tid)
	if !s.KillTask(v.tid) {
		c.t.Errorf("KillTask of the live %s = false", name)
	}
	switch {
	case soakKinds[v.kind] == "go" && v.started && !v.ended:
		c.t.Errorf("%s killed, its defers did not run", name)
	case soakKinds[v.kind] == "step" && !v.ended:
		c.t.Errorf("%s killed, its Kill method did not run", name)
	case v.c != nil && v.c.State == 1:
		c.t.Errorf("%s killed, its trap did not return the killed code", name)
	}
	if s.WaitTask(v.tid) {
		c.t.Errorf("WaitTask of the killed %s = true: it is still there", name)
	}
	c.kills[v.kind][v.what]++
}

// stepVictim makes its trap for ever; Kill records the kill.
type stepVictim struct {
	v  *victim
	tr kernel.Trap
}

func (m *stepVictim) Step(int64) kernel.Trap { return m.tr }
func (m *stepVictim) Kill()                  { m.v.ended = true }

// TestSoak runs the echo server of each task kind under each poller with
// 1000 connections (900 under select) sending messages of random sizes up
// to 16 KiB, every byte checked, while the chaos task kills and respawns
// tasks of every kind in the same kernel. Afterwards no fd, goroutine or
// task is left, and every victim ended exactly once. In -short mode (the
// race run), 200 connections with fewer messages.
func TestSoak(t *testing.T) {
	warmNet(t)
	raiseNoFile(t, 4096)
	for _, kind := range []string{"go", "step", "native"} {
		for _, poller := range kernel.Pollers() {
			t.Run(kind+"/"+poller, func(t *testing.T) {
				cfg := echoload.Config{Conns: 1000, Msgs: 80, MaxSize: 16 << 10, Seed: 7}
				if poller == "select" {
					cfg.Conns = 900
				}
				if testing.Short() {
					cfg.Conns, cfg.Msgs = 200, 10
				}
				soak(t, echoServer(t, kind), poller, cfg)
			})
		}
	}
}

func soak(t *testing.T, newServer func(int) kernel.Task, poller string, cfg echoload.Config) {
	fds0, gs0 := countFDs(t), runtime.NumGoroutine()

	lfd, addr, err := kernel.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	log := &endLog{ended: make(map[kernel.TID]int)}
	k := kernel.New(kernel.WithPoller(poller), kernel.WithLog(log))
	server := k.Spawn(newServer(lfd))
	c := newChaos(t, cfg.Seed, p[0])
	defer c.pins.Unpin()
	chaosTID := k.Spawn(kernel.Go(c.run))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()

	cfg.Addr = addr
	st, err := runLoad(t, cfg)
	c.stop.Store(true)
	if err != nil {
		t.Errorf("load: %v", err)
	}
	want := int64(cfg.Conns * cfg.Msgs)
	if st.Msgs != want || st.Errors != 0 {
		t.Errorf("load: %d messages checked, %d errors; want %d, 0", st.Msgs, st.Errors, want)
	}
	select {
	case <-c.done:
	case <-time.After(time.Minute):
		t.Fatal("the chaos task did not end within a minute of the load's end")
	}
	k.Stop()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	unix.Close(p[0])
	unix.Close(p[1])

	kills := c.killed()
	t.Logf("%s, %d conns: %d msgs, %.1f MB each way in %v (%.0f MB/s); %d tasks killed and respawned by chaos (%.0f/s)",
		poller, cfg.Conns, st.Msgs, float64(st.Bytes)/1e6, st.Duration.Round(time.Millisecond),
		float64(st.Bytes)/1e6/st.Duration.Seconds(), kills, float64(kills)/st.Duration.Seconds())

	if n := k.NumTasks(); n != 0 {
		t.Errorf("%d tasks left after Run", n)
	}
	if len(log.bad) > 0 {
		t.Errorf("log lines that are not task ends: %q", log.bad)
	}
	// Every victim was killed by the chaos task and ended exactly once,
	// as did the server and the chaos task.
	if kills < c.minKills || kills != len(c.all) {
		t.Errorf("%d victims killed of %d spawned, want all and at least %d", kills, len(c.all), c.minKills)
	}
	for i, k := range c.kills {
		for j, n := range k {
			if n == 0 {
				t.Errorf("no %s %s victim was killed", soakKinds[i], whatNames[j])
			}
		}
	}
	for _, v := range c.all {
		if n := log.ended[v.tid]; n != 1 {
			t.Errorf("victim %d (%s %s) ended %d times", v.tid, soakKinds[v.kind], whatNames[v.what], n)
		}
	}
	for name, tid := range map[string]kernel.TID{"server": server, "chaos task": chaosTID} {
		if n := log.ended[tid]; n != 1 {
			t.Errorf("the %s (task %d) ended %d times", name, tid, n)
		}
	}
	if fds := countFDs(t); fds != fds0 {
		t.Errorf("%d fds open after the run, %d before", fds, fds0)
	}
	gs := runtime.NumGoroutine()
	for i := 0; i < 500 && gs > gs0; i++ {
		time.Sleep(10 * time.Millisecond)
		gs = runtime.NumGoroutine()
	}
	if gs > gs0 {
		t.Errorf("%d goroutines after the run, %d before", gs, gs0)
	}
}

// TestSoakSelectLimit checks the select poller at FD_SETSIZE with the
// echo server of each task kind: a connection whose fd is at or above 1024
// gets ErrFDSet (CodeFDSet) from its ReadWait and is closed; the others
// are served. The fds are laid out first, so that exactly which
// connections are served is known: the kernel starts (its own fds low),
// then the test holds `served` free fds, dials all the connections (which
// wait in the listener's backlog), and fills every other fd below 1024.
// Then it frees the held fds and starts the server: the first `served`
// connections it accepts (in the order they were dialled) get those fds,
// and every later one an fd of 1024 or more. The kernel's trace must show
// each of those failing its ReadWait with ERANGE, and nothing else fail;
// the clients of the first connections get their echo back, the others
// see the connection closed without a byte.
func TestSoakSelectLimit(t *testing.T) {
	const served, refused = 8, 24
	const fdSetSize = 1024
	warmNet(t)
	raiseNoFile(t, fdSetSize+2*(served+refused)+64)
	for _, kind := range []string{"go", "step", "native"} {
		t.Run(kind, func(t *testing.T) {
			newServer := echoServer(t, kind)
			fds0 := countFDs(t)
			lfd, addr, err := kernel.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			dupLow := func() int {
				fd, err := unix.FcntlInt(uintptr(null), unix.F_DUPFD_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				return fd
			}

			// The kernel runs first, its gate task waiting on the pipe,
			// so that its own fds are below the ones laid out next.
			var trace bytes.Buffer
			k := kernel.New(kernel.WithPoller("select"), kernel.WithTrace(&trace))
			heldCh := make(chan []int, 1)
			k.Spawn(kernel.Go(func(s *kernel.Sys) {
				if err := s.ReadWait(p[0]); err != nil {
					t.Errorf("gate: %v", err)
				}
				for _, fd := range <-heldCh { // sent before the gate opened
					unix.Close(fd)
				}
				s.NewTask(newServer(lfd))
			}))
			done := make(chan error, 1)
			go func() { done <- k.Run() }()

			var held []int
			for range served {
				held = append(held, dupLow())
			}
			conns := make([]net.Conn, served+refused)
			for i := range conns {
				conns[i], err = net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
			}
			var fill []int
			for {
				fd := dupLow()
				if fd >= fdSetSize {
					unix.Close(fd)
					break
				}
				fill = append(fill, fd)
			}
			for _, fd := range held {
				if fd >= fdSetSize {
					t.Fatalf("held fd %d: the process has too many fds open to lay them out", fd)
				}
			}
			heldCh <- held
			unix.Write(p[1], []byte{1}) // open the gate

			rng := rand.New(rand.NewPCG(1, 2))
			for i, c := range conns {
				c.SetDeadline(time.Now().Add(time.Minute))
				msg := make([]byte, 1+rng.IntN(4000))
				for j := range msg {
					msg[j] = byte(rng.Uint32())
				}
				if _, err := c.Write(msg); err != nil && i < served {
					t.Errorf("conn %d: write: %v", i, err)
				}
				back := make([]byte, len(msg))
				n, err := io.ReadFull(c, back)
				switch {
				case i < served && err != nil:
					t.Errorf("conn %d (served): read %d of %d bytes: %v", i, n, len(msg), err)
				case i < served && !bytes.Equal(back, msg):
					t.Errorf("conn %d (served): the echo differs", i)
				case i >= served && (n != 0 || !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET)):
					t.Errorf("conn %d (fd over the limit): read %d bytes, %v; want the connection closed", i, n, err)
				}
			}
			for _, c := range conns {
				c.Close()
			}
			for _, fd := range fill {
				unix.Close(fd)
			}
			unix.Close(null)
			k.Stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			unix.Close(p[0])
			unix.Close(p[1])
			if n := k.NumTasks(); n != 0 {
				t.Errorf("%d tasks left after Run", n)
			}

			// The trace: every ReadWait on an fd >= 1024 failed with ERANGE,
			// one per refused connection; no other wait failed.
			re := regexp.MustCompile(`^\[\d+\] (ReadWait|WriteWait)\((\d+)\) = (-?\d+)`)
			// The connections below the limit had exactly the held fds.
			over := 0
			low := map[int]bool{}
			for _, line := range strings.Split(trace.String(), "\n") {
				m := re.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				fd, _ := strconv.Atoi(m[2])
				r, _ := strconv.Atoi(m[3])
				if fd < fdSetSize && fd != lfd && fd != p[0] {
					low[fd] = true
				}
				switch {
				case fd >= fdSetSize && r == int(kernel.CodeFDSet):
					over++
				case fd >= fdSetSize:
					t.Errorf("a wait on fd %d >= FD_SETSIZE: %q", fd, line)
				case r < 0 && r != int(kernel.CodeKilled):
					t.Errorf("a wait failed: %q", line)
				}
			}
			for _, fd := range held {
				delete(low, fd)
			}
			if len(low) > 0 {
				t.Errorf("connections were served on fds %v, not held for them: another fd was closed while the test laid them out", low)
			}
			if over != refused {
				t.Errorf("%d waits failed with ERANGE, want %d (one per connection over the limit)", over, refused)
			}
			t.Logf("%d connections served with fds below %d, %d refused with %v", served, fdSetSize, over, kernel.ErrFDSet)
			if fds := countFDs(t); fds != fds0 {
				t.Errorf("%d fds open after the run, %d before", fds, fds0)
			}
		})
	}
}
