//go:build linux

package kernel

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Hostile programs: each test here is a row of the misuse table.

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestHugeFD: a wait on an fd number far beyond anything open gets
// ErrBadFD (ErrFDSet under select, past FD_SETSIZE) at once, whatever its
// size, without growing any table.
func TestHugeFD(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		runtime.GC()
		base := rssBytes(t)
		var errs []error
		var took []time.Duration
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) {
			for _, w := range []func() error{
				func() error { return s.ReadWait(2147483646) },
				func() error { return s.ReadWait(50_000_000) },
				func() error { return s.WriteWait(1 << 62) },
				func() error { return s.WriteWait(1<<31 + 5) },
			} {
				start := time.Now()
				errs = append(errs, w())
				took = append(took, time.Since(start))
			}
		}))
		run(t, k)
		want := ErrBadFD
		if poller == "select" {
			want = ErrFDSet
		}
		for i, err := range errs {
			if err != want && !(poller == "select" && err == ErrBadFD) {
				t.Errorf("wait %d = %v, want %v", i, err, want)
			}
			if took[i] > 50*time.Millisecond {
				t.Errorf("wait %d took %v", i, took[i])
			}
		}
		if grew := rssBytes(t) - base; grew > 8<<20 && !raceEnabled() {
			t.Errorf("RSS grew by %d MiB for four bad fds", grew>>20)
		}
	})
}

// TestFDReuse: a task waits on an fd, the fd is closed and its number
// reused at once by a readable pipe; a wait on the new fd wakes, under
// every poller. Under epoll-owned the fd is closed as WithOwnedFDs
// promises, with the Close trap: the first wait then fails with ErrBadFD.
func TestFDReuse(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		r, w := pipe(t)
		var first, second error = errNotRun, errNotRun
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) { first = s.ReadWait(r) }))
		k.Spawn(Go(func(s *Sys) {
			s.Yield() // the first task now waits on r
			var p [2]int
			if poller == "epoll-owned" {
				if err := s.Close(r); err != nil {
					t.Errorf("Close(%d): %v", r, err)
				}
			} else {
				unix.Close(r)
			}
			unix.Close(w)
			if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
				t.Error(err)
				return
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			if p[0] != r {
				t.Logf("the number %d was not reused (got %d): the check is weaker", r, p[0])
			}
			unix.Write(p[1], []byte("x"))
			second = s.ReadWait(p[0])
		}))
		runWithin(t, k, 5*time.Second, "a ReadWait on the reused, readable fd never returned")
		if second != nil {
			t.Errorf("ReadWait on the new fd = %v, want nil", second)
		}
		if first != nil && first != ErrBadFD || poller == "epoll-owned" && first != ErrBadFD {
			t.Errorf("the first wait = %v, want nil or ErrBadFD (ErrBadFD after Close)", first)
		}
	})
}

// TestSleepHuge: a Sleep of 2^63 ns or more sleeps the longest
// representable time instead of returning at once; Stop ends it.
func TestSleepHuge(t *testing.T) {
	for _, a := range []uintptr{1 << 63, 1<<64 - 1} {
		woke := false
		k := New()
		k.Spawn(Step(StepFunc(func(r int64) Trap {
			if woke {
				return Exit(0)
			}
			woke = true
			return Trap{Op: OpSleep, A: a}
		})))
		done := make(chan error, 1)
		go func() { done <- k.Run() }()
		select {
		case err := <-done:
			t.Fatalf("Sleep(%#x) returned at once (Run: %v)", a, err)
		case <-time.After(100 * time.Millisecond):
		}
		k.Stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// runWithin runs k and fails the test, stopping k, if Run has not returned
// within d: what it says then is why.
func runWithin(t *testing.T, k *Kernel, d time.Duration, why string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- k.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d):
		k.Stop()
		<-done
		t.Fatal(why)
	}
}

var errNotRun = strErr("not run")

type strErr string

func (e strErr) Error() string { return string(e) }

// TestGoexitInTask: runtime.Goexit in a Go task's or a step task's body
// (t.FailNow in a test does it) ends that task, recorded as ErrGoexit;
// Run returns and the other tasks run to their ends, on the scheduler's
// one thread (its goroutine goes on scheduling from the Goexit's deferred
// call: Go tasks are coroutines tied to that thread).
func TestGoexitInTask(t *testing.T) {
	var order []string
	tids := map[int]bool{}
	k := New()
	g := k.Spawn(Go(func(s *Sys) {
		s.Yield()
		runtime.Goexit()
	}))
	pc := 0
	st := k.Spawn(Step(StepFunc(func(r int64) Trap {
		pc++
		if pc == 2 {
			runtime.Goexit()
		}
		return Yield()
	})))
	k.Spawn(Go(func(s *Sys) {
		for i := range 5 {
			order = append(order, strconv.Itoa(i))
			tids[unix.Gettid()] = true
			s.Yield()
		}
	}))
	runWithin(t, k, 5*time.Second, "Run did not return")
	for _, tid := range []TID{g, st} {
		if p, ok := k.Panic(tid); !ok || p != ErrGoexit {
			t.Errorf("task %d: Panic = %v, %v; want ErrGoexit", tid, p, ok)
		}
	}
	if got := strings.Join(order, ""); got != "01234" || len(tids) != 1 {
		t.Errorf("the other task ran %q on %d threads, want 01234 on one", got, len(tids))
	}
	checkEmpty(t, k)
}

// TestSpawnConcurrent: goroutines feed tasks into a running kernel with
// Spawn; every task runs once, TIDs are unique, and NumTasks is safe to
// read meanwhile.
func TestSpawnConcurrent(t *testing.T) {
	const feeders, each = 4, 500
	var ran atomic.Int64
	k := New(WithPoller("epoll"))
	k.Spawn(Go(func(s *Sys) { // keeps the kernel alive until all have run
		for ran.Load() < feeders*each {
			s.Sleep(time.Millisecond)
		}
	}))
	done := make(chan error, 1)
	go func() { done <- k.Run() }()
	var mu sync.Mutex
	tids := map[TID]bool{}
	var wg sync.WaitGroup
	for range feeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tid := k.Spawn(Go(func(s *Sys) {
					if i%2 == 0 {
						s.Yield()
					}
					ran.Add(1)
				}))
				_ = k.NumTasks()
				mu.Lock()
				if tids[tid] || tid == 0 {
					t.Errorf("TID %d handed out twice", tid)
				}
				tids[tid] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		k.Stop()
		t.Fatalf("Run did not end: %d of %d tasks ran", ran.Load(), feeders*each)
	}
	if ran.Load() != feeders*each || k.NumTasks() != 0 {
		t.Fatalf("%d tasks ran, %d left; want %d and 0", ran.Load(), k.NumTasks(), feeders*each)
	}
}

// TestBlockingFD: GoSend and GoRecv, and the Send and Recv sub-machines,
// on a pipe the caller forgot to make non-blocking: the kernel makes it
// non-blocking instead of freezing every task in a blocking write.
func TestBlockingFD(t *testing.T) {
	for _, kind := range []string{"go", "step"} {
		t.Run(kind, func(t *testing.T) {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil { // blocking
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			msg := make([]byte, 1<<20)
			for i := range msg {
				msg[i] = byte(i * 7)
			}
			var got []byte
			var sent int64
			k := New(WithPoller("poll"))
			if kind == "go" {
				k.Spawn(Go(func(s *Sys) {
					n, err := GoSend(s, p[1], msg)
					if err != nil {
						t.Error(err)
					}
					sent = int64(n)
					unix.Close(p[1])
				}))
				k.Spawn(Go(func(s *Sys) {
					buf := make([]byte, 4096)
					for {
						n, err := GoRecv(s, p[0], buf)
						if err != nil || n == 0 {
							return
						}
						got = append(got, buf[:n]...)
					}
				}))
			} else {
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					if sent == 0 {
						sent = -1
						return Call(Send(p[1], msg))
					}
					sent = r
					unix.Close(p[1])
					return Exit(0)
				})))
				buf := make([]byte, 4096)
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					if r > 0 {
						got = append(got, buf[:r]...)
					} else if r < 0 || (r == 0 && len(got) > 0) {
						return Exit(0)
					}
					return Call(Recv(p[0], buf))
				})))
			}
			runWithin(t, k, 10*time.Second, "the kernel froze on a blocking pipe")
			if sent != int64(len(msg)) || string(got) != string(msg) {
				t.Fatalf("sent %d, received %d bytes (equal: %v); want %d", sent, len(got), string(got) == string(msg), len(msg))
			}
		})
	}
}

// TestWakeOrder: many tasks whose fds become ready in one poll wake in the
// order their waits began, under every poller, so a program prints the
// same lines whatever the poller.
func TestWakeOrder(t *testing.T) {
	const n = 64
	perm := make([]int, n) // the order the waits begin
	for i := range perm {
		perm[i] = (i*37 + 11) % n
	}
	var want strings.Builder
	for _, i := range perm {
		fmt.Fprintf(&want, "%d\n", i)
	}
	outs := map[string]string{}
	eachPoller(t, func(t *testing.T, poller string) {
		var fds [n][2]int
		for i := range fds {
			fds[i][0], fds[i][1] = pipe(t)
		}
		var out strings.Builder
		k := New(withPoller(poller))
		for _, i := range perm {
			k.Spawn(Go(func(s *Sys) {
				if err := s.ReadWait(fds[i][0]); err != nil {
					t.Error(err)
				}
				fmt.Fprintf(&out, "%d\n", i)
			}))
		}
		k.Spawn(Go(func(s *Sys) {
			s.Yield() // every reader waits now
			for i := n - 1; i >= 0; i-- {
				unix.Write(fds[(i*5)%n][1], []byte("x"))
			}
		}))
		run(t, k)
		outs[poller] = out.String()
		if out.String() != want.String() {
			t.Errorf("wake order under %s:\n%s\nwant the order the waits began:\n%s", poller, out.String(), want.String())
		}
	})
	if outs["select"] != outs["poll"] || outs["poll"] != outs["epoll"] || (outs["uring"] != "" && outs["uring"] != outs["epoll"]) {
		t.Error("the pollers printed different lines")
	}
}

// TestListenHostName: Listen resolves a host name.
func TestListenHostName(t *testing.T) {
	fd, bound, err := Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if !strings.HasPrefix(bound, "127.0.0.1:") && !strings.HasPrefix(bound, "[::1]:") {
		t.Fatalf("localhost bound to %q", bound)
	}
	if _, _, err := Listen("no-such-host.invalid:0"); err == nil {
		t.Fatal("an unknown host name was accepted")
	}
}

// killSpawner is a step task whose Kill spawns a task, as a killed task's
// cleanup may.
type killSpawner struct {
	k     *Kernel
	spawn func() Task
}

func (m *killSpawner) Step(int64) Trap { return Yield() }
func (m *killSpawner) Kill()           { m.k.Spawn(m.spawn()) }

// TestSpawnFromKill: a task spawned by a killed step task's Kill joins the
// ready queue at once, as pyos's sched.new and a Go task's NewTask put it
// there: ahead of the killer, which pyos's KillTask reschedules after
// closing the victim. A Spawn on the scheduler's own thread is never left
// waiting in the inbox for other goroutines' (which put it behind).
func TestSpawnFromKill(t *testing.T) {
	var order []string
	k := New()
	victim := k.Spawn(Step(&killSpawner{k: k, spawn: func() Task {
		return Go(func(s *Sys) { order = append(order, "child") })
	}}))
	k.Spawn(Go(func(s *Sys) {
		s.KillTask(victim)
		order = append(order, "killer")
		s.Yield()
		order = append(order, "killer'")
	}))
	runWithin(t, k, 5*time.Second, "Run did not return")
	if got := strings.Join(order, " "); got != "child killer killer'" {
		t.Fatalf("order %q, want \"child killer killer'\"", got)
	}
}
