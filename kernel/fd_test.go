package kernel

// Waits on file descriptors that are unusual: high, bad, closed while
// waited on, regular files, and one fd shared by two tasks.

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestHighFD(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < 2048 {
		lim.Cur = min(2048, lim.Max)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatalf("raising RLIMIT_NOFILE: %v", err)
		}
	}
	eachPoller(t, func(t *testing.T, poller string) {
		r, w := pipe(t)
		high, err := unix.FcntlInt(uintptr(r), unix.F_DUPFD_CLOEXEC, 1500)
		if err != nil {
			t.Fatalf("F_DUPFD: %v", err)
		}
		defer unix.Close(high)
		if _, err := unix.Write(w, []byte("x")); err != nil {
			t.Fatal(err)
		}
		var got, low error = errors.New("not run"), errors.New("not run")
		r2, w2 := pipe(t)
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) { got = s.ReadWait(high) }))
		k.Spawn(Go(func(s *Sys) { low = s.ReadWait(r2) }))
		k.Spawn(Go(func(s *Sys) { s.Yield(); unix.Write(w2, []byte("y")) }))
		run(t, k)
		want := error(nil)
		if poller == "select" {
			want = ErrFDSet
		}
		if got != want {
			t.Errorf("ReadWait(%d) = %v, want %v", high, got, want)
		}
		if low != nil {
			t.Errorf("ReadWait on a low fd beside it = %v, want nil", low)
		}
	})
}

func TestBadFD(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		r, w := pipe(t)
		// An fd number no one will reuse during the test: Run's own
		// eventfd takes the lowest free number.
		closed, err := unix.FcntlInt(uintptr(r), unix.F_DUPFD_CLOEXEC, 1000)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(closed)
		var neg, negW, cl error
		var ok error = errors.New("not run")
		var stepRes int64 = 1
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) { neg = s.ReadWait(-1) }))
		k.Spawn(Go(func(s *Sys) { negW = s.WriteWait(-7) }))
		k.Spawn(Go(func(s *Sys) { cl = s.ReadWait(closed) }))
		k.Spawn(Go(func(s *Sys) { ok = s.ReadWait(r) }))
		pc := 0
		k.Spawn(Step(StepFunc(func(res int64) Trap {
			pc++
			if pc == 1 {
				return ReadWait(closed)
			}
			stepRes = res
			return Exit(0)
		})))
		k.Spawn(Go(func(s *Sys) {
			s.Yield()
			s.Yield()
			unix.Write(w, []byte("x"))
		}))
		run(t, k)
		if neg != ErrBadFD || negW != ErrBadFD || cl != ErrBadFD {
			t.Errorf("ReadWait(-1) = %v, WriteWait(-7) = %v, ReadWait(closed) = %v; want ErrBadFD",
				neg, negW, cl)
		}
		if Code(stepRes) != CodeBadFD {
			t.Errorf("step ReadWait(closed) = %d, want CodeBadFD", stepRes)
		}
		if ok != nil {
			t.Errorf("ReadWait on a good fd beside them = %v", ok)
		}
	})
}

// TestCloseWhileWaiting closes an fd a task waits on: that task gets
// ErrBadFD, another task waiting on another fd is not disturbed.
func TestCloseWhileWaiting(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		r, _ := pipe(t)
		r2, w2 := pipe(t)
		var victim, other error = errors.New("not run"), errors.New("not run")
		k := New(withPoller(poller))
		setSweep(t, 20*time.Millisecond)
		k.Spawn(Go(func(s *Sys) { victim = s.ReadWait(r) }))
		k.Spawn(Go(func(s *Sys) { other = s.ReadWait(r2) }))
		k.Spawn(Go(func(s *Sys) {
			s.Sleep(5 * time.Millisecond) // both are blocked in the poller
			unix.Close(r)
			s.Sleep(5 * time.Millisecond)
			if poller != "epoll" {
				unix.Write(w2, []byte("x"))
				return
			}
			// epoll notices at its next sweep; the other wait goes on.
			s.Sleep(100 * time.Millisecond)
			if other == nil {
				t.Error("the other task woke before its fd was written")
			}
			unix.Write(w2, []byte("x"))
		}))
		run(t, k)
		if victim != ErrBadFD {
			t.Errorf("ReadWait on an fd closed while waited on = %v, want ErrBadFD", victim)
		}
		if other != nil {
			t.Errorf("ReadWait on another fd = %v, want nil", other)
		}
	})
}

// TestRegularFile: a regular file is always ready, under every poller
// (epoll refuses it with EPERM, which the kernel takes as ready).
func TestRegularFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eachPoller(t, func(t *testing.T, poller string) {
		var r, w error = errors.New("not run"), errors.New("not run")
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) { r = s.ReadWait(int(f.Fd())); w = s.WriteWait(int(f.Fd())) }))
		run(t, k)
		if r != nil || w != nil {
			t.Errorf("ReadWait, WriteWait on a regular file = %v, %v", r, w)
		}
	})
}

// TestSharedFD: two tasks reading the same fd are both woken.
func TestSharedFD(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		r, w := pipe(t)
		n := 0
		k := New(withPoller(poller))
		for range 2 {
			k.Spawn(Go(func(s *Sys) {
				if s.ReadWait(r) == nil {
					n++
				}
			}))
		}
		k.Spawn(Go(func(s *Sys) { s.Yield(); unix.Write(w, []byte("x")) }))
		run(t, k)
		if n != 2 {
			t.Errorf("%d of 2 readers woke", n)
		}
	})
}

// TestOwnedFDs: WithOwnedFDs keeps an epoll registration across waits: a
// task that waits on its fd again after each message makes no epoll_ctl
// call for it, where a kernel without the promise re-arms it on every
// wait. A registration reported while nobody waits is dropped, and the
// task's end drops its last.
func TestOwnedFDs(t *testing.T) {
	const waits = 100
	for _, owned := range []bool{false, true} {
		opts := []Option{WithPoller("epoll")}
		if owned {
			opts = append(opts, WithOwnedFDs())
		}
		k := New(opts...)
		r, w := pipe(t)
		ctls := func() int { return k.p.(*epollPoller).ctls }
		var during, idle int
		k.Spawn(Go(func(s *Sys) {
			var b [1]byte
			before := ctls()
			for range waits {
				unix.Write(w, []byte("x"))
				if err := s.ReadWait(r); err != nil {
					t.Error(err)
					return
				}
				unix.Read(r, b[:])
			}
			during = ctls() - before
			// Readable with nobody waiting: reported once, then dropped.
			unix.Write(w, []byte("y"))
			s.Sleep(20 * time.Millisecond)
			idle = ctls() - before - during
		}))
		run(t, k)
		if owned && (during > 1 || idle != 1) {
			t.Errorf("WithOwnedFDs: %d epoll_ctl calls for %d waits (want at most 1), %d for the unwaited event (want 1)", during, waits, idle)
		}
		if !owned && during < waits {
			t.Errorf("without WithOwnedFDs: %d epoll_ctl calls for %d waits, want one per wait", during, waits)
		}
	}
}

// TestCloseTrap: Close (Go) and CloseOp (step) close an fd through the
// kernel: the other tasks waiting on it get ErrBadFD at once, under every
// poller; a second close, a negative fd or the kernel's own fds (its
// eventfd, the poller's epoll instance or io_uring ring) get ErrBadFD /
// CodeBadFD, and those stay open.
func TestCloseTrap(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		var p [2]int // not pipe(t): its cleanup would close the numbers again
		if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r, w := p[0], p[1]
		defer unix.Close(w)
		var q [2]int // the step task's
		if err := unix.Pipe2(q[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(q[1])
		k := New(withPoller(poller))
		var waited, first, again error = errNotRun, errNotRun, errNotRun
		k.Spawn(Go(func(s *Sys) { waited = s.ReadWait(r) }))
		k.Spawn(Go(func(s *Sys) {
			s.Yield() // the first task waits on r now
			first, again = s.Close(r), s.Close(r)
			if fdOpen(r) {
				t.Error("Close left the fd open")
			}
			if err := s.Close(k.wakefd); err != ErrBadFD {
				t.Errorf("Close of the kernel's eventfd = %v, want ErrBadFD", err)
			}
			for fd := range 4096 { // epoll's instance, uring's ring
				if k.p.own(fd) {
					if err := s.Close(fd); err != ErrBadFD || !fdOpen(fd) {
						t.Errorf("Close of the poller's fd %d = %v (open after: %v), want ErrBadFD", fd, err, fdOpen(fd))
					}
					if err := s.ReadWait(fd); err != ErrBadFD {
						t.Errorf("ReadWait on the poller's fd %d = %v, want ErrBadFD", fd, err)
					}
				}
			}
		}))
		var stepR []int64
		pc := 0
		k.Spawn(Step(StepFunc(func(res int64) Trap {
			if pc++; pc > 1 {
				stepR = append(stepR, res)
			}
			switch pc {
			case 1:
				return CloseOp(q[0])
			case 2:
				return CloseOp(-1)
			}
			return Exit(0)
		})))
		runWithin(t, k, 5*time.Second, "a task waiting on a closed fd never woke")
		if waited != ErrBadFD || first != nil || again != ErrBadFD {
			t.Errorf("waiter %v, Close %v, Close again %v; want ErrBadFD, nil, ErrBadFD", waited, first, again)
		}
		if !slices.Equal(stepR, []int64{0, int64(CodeBadFD)}) {
			t.Errorf("CloseOp(fd), CloseOp(-1) = %v, want [0 %d]", stepR, CodeBadFD)
		}
	})
}

// TestCloseOps: Close of an fd another task has a completion trap in
// flight on (a Recv) ends that trap with ErrBadFD at once, under every
// poller: under uring by cancelling the request, not at the next sweep of
// closed fds (an hour away here).
func TestCloseOps(t *testing.T) {
	setSweep(t, time.Hour)
	eachPoller(t, func(t *testing.T, poller string) {
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(sp[1])
		k := New(withPoller(poller))
		var recvErr, closeErr error = errNotRun, errNotRun
		k.Spawn(Go(func(s *Sys) {
			_, recvErr = s.Recv(sp[0], make([]byte, 16))
		}))
		k.Spawn(Go(func(s *Sys) {
			s.Yield() // the receiver waits now
			closeErr = s.Close(sp[0])
		}))
		runWithin(t, k, 5*time.Second, "a Recv on an fd closed through the kernel never ended")
		if recvErr != ErrBadFD || closeErr != nil {
			t.Errorf("Recv %v, Close %v; want ErrBadFD, nil", recvErr, closeErr)
		}
	})
}
