//go:build linux

package kernel

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpsSendRecv: the completion traps move 4 MiB, far more than the
// socket buffers, between two tasks, for Go and step tasks, receiving
// into the task's buffer and into lent ones, under every poller: the same
// bytes, the end of the stream, and the same errors.
func TestOpsSendRecv(t *testing.T) {
	msg := make([]byte, 4<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, kind := range []string{"go", "go-lent", "step", "step-lent"} {
		eachPoller(t, func(t *testing.T, poller string) {
			a, b := socketpair(t)
			var got []byte
			var sent, eof, bad, invalid int64 = -100, -100, -100, -100
			k := New(withPoller(poller))
			switch kind {
			case "go", "go-lent":
				k.Spawn(Go(func(s *Sys) {
					n, err := s.Send(a, msg)
					if err != nil {
						t.Errorf("Send: %v", err)
					}
					sent = int64(n)
					unix.Shutdown(a, unix.SHUT_WR)
				}))
				k.Spawn(Go(func(s *Sys) {
					buf := make([]byte, 65536)
					for {
						var n int
						var err error
						if kind == "go-lent" {
							var b2 []byte
							b2, err = s.RecvLent(b)
							n = copy(buf, b2)
						} else {
							n, err = s.Recv(b, buf)
						}
						if err != nil {
							t.Errorf("Recv: %v", err)
							return
						}
						if n == 0 {
							eof = 0
							break
						}
						got = append(got, buf[:n]...)
					}
					if _, err := s.Recv(-1, buf); err == ErrBadFD {
						bad = int64(CodeBadFD)
					}
					if _, err := s.Recv(b, nil); err == ErrInvalid {
						invalid = int64(CodeInvalid)
					}
				}))
			default:
				pc := 0
				out := msg
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					pc++
					if pc == 1 {
						return SendOp(a, &out)
					}
					sent = r
					unix.Shutdown(a, unix.SHUT_WR)
					return Exit(0)
				})))
				own := make([]byte, 65536)
				var buf []byte
				state := 0
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					switch state {
					case 0:
						state = 1
					case 1:
						switch {
						case r == 0:
							eof, state = 0, 2
							return RecvOp(-1, &buf)
						case r > 0:
							got = append(got, buf[:r]...)
						default:
							t.Errorf("RecvOp: %v", Err(r))
							return Exit(r)
						}
					case 2:
						bad, state = r, 3
						return RecvOp(b, nil)
					case 3:
						invalid = r
						return Exit(0)
					}
					if kind == "step-lent" {
						buf = nil
					} else {
						buf = own
					}
					return RecvOp(b, &buf)
				})))
			}
			run(t, k)
			if sent != int64(len(msg)) || !bytes.Equal(got, msg) || eof != 0 {
				t.Errorf("%s: sent %d, received %d bytes (equal %v), eof %d; want %d, %d, true, 0",
					kind, sent, len(got), bytes.Equal(got, msg), eof, len(msg), len(msg))
			}
			if Code(bad) != CodeBadFD || Code(invalid) != CodeInvalid {
				t.Errorf("%s: Recv(-1) = %d, Recv(nil buffer) = %d; want CodeBadFD, CodeInvalid", kind, bad, invalid)
			}
		})
	}
}

// TestOpsAccept: AcceptOp returns connections, non-blocking and
// close-on-exec, and fails on a bad fd and on a socket that does not
// listen.
func TestOpsAccept(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		lfd, addr, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(lfd)
		a, _ := socketpair(t)
		var flags, fdflags int
		var errBad, errNotListening error
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) {
			c, err := s.Accept(lfd)
			if err != nil {
				t.Errorf("Accept: %v", err)
				return
			}
			flags, _ = unix.FcntlInt(uintptr(c), unix.F_GETFL, 0)
			fdflags, _ = unix.FcntlInt(uintptr(c), unix.F_GETFD, 0)
			unix.Close(c)
			_, errBad = s.Accept(-5)
			_, errNotListening = s.Accept(a)
		}))
		go func() {
			if c, err := net.Dial("tcp", addr); err == nil {
				time.Sleep(50 * time.Millisecond)
				c.Close()
			}
		}()
		run(t, k)
		if flags&unix.O_NONBLOCK == 0 || fdflags&unix.FD_CLOEXEC == 0 {
			t.Errorf("accepted fd: flags %#x, fd flags %#x; want O_NONBLOCK and FD_CLOEXEC", flags, fdflags)
		}
		if errBad != ErrBadFD {
			t.Errorf("Accept(-5) = %v, want ErrBadFD", errBad)
		}
		if errNotListening != ErrInvalid && !errors.Is(errNotListening, unix.EOPNOTSUPP) {
			t.Errorf("Accept on a connected socket = %v, want ErrInvalid (EINVAL) or EOPNOTSUPP", errNotListening)
		}
	})
}

// TestOpsPipe: the completion traps on a pipe, which is not a socket,
// blocking or not (io_uring answers EAGAIN for an O_NONBLOCK pipe; the
// kernel then waits for readiness).
func TestOpsPipe(t *testing.T) {
	for _, nonblock := range []bool{false, true} {
		eachPoller(t, func(t *testing.T, poller string) {
			var p [2]int
			flags := unix.O_CLOEXEC
			if nonblock {
				flags |= unix.O_NONBLOCK
			}
			if err := unix.Pipe2(p[:], flags); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			var got []byte
			k := New(withPoller(poller))
			k.Spawn(Go(func(s *Sys) {
				b, err := s.RecvLent(p[0])
				if err != nil {
					t.Errorf("RecvLent on a pipe: %v", err)
				}
				got = append(got, b...)
			}))
			k.Spawn(Go(func(s *Sys) {
				s.Sleep(10 * time.Millisecond)
				if _, err := s.Send(p[1], []byte("piped")); err != nil {
					t.Errorf("Send on a pipe: %v", err)
				}
			}))
			run(t, k)
			if string(got) != "piped" {
				t.Errorf("nonblock %v: received %q", nonblock, got)
			}
		})
	}
}

// TestOpsKill: a task killed while its Recv is in flight, into its own
// buffer or a lent one, or while its Send waits on a full socket: the
// request is cancelled and reaped (checkEmpty: none left in flight, every
// lent buffer back), the task's defers run, and the peer sees the
// connection closed. Data sent after the kill goes to nobody's buffer.
func TestOpsKill(t *testing.T) {
	for _, what := range []string{"recv", "recv-lent", "send"} {
		eachPoller(t, func(t *testing.T, poller string) {
			a, b := socketpair(t)
			big := make([]byte, 8<<20)
			victimBuf := make([]byte, 4096)
			unwound := false
			k := New(withPoller(poller))
			victim := k.Spawn(Go(func(s *Sys) {
				defer func() { unwound = true }()
				switch what {
				case "recv":
					s.Recv(a, victimBuf)
				case "recv-lent":
					s.RecvLent(a)
				case "send":
					s.Send(a, big)
				}
				t.Errorf("%s returned in a killed task", what)
			}))
			k.Spawn(Go(func(s *Sys) {
				s.Sleep(20 * time.Millisecond)
				if !s.KillTask(victim) {
					t.Error("KillTask: no victim")
				}
				// What arrives now must land in no buffer of the victim.
				unix.Write(b, []byte("late"))
				s.Sleep(20 * time.Millisecond)
			}))
			run(t, k)
			if !unwound {
				t.Error("the victim's defers did not run")
			}
			if !bytes.Equal(victimBuf, make([]byte, 4096)) {
				t.Errorf("%s: the killed task's buffer was written after the kill: %q", what, bytes.TrimRight(victimBuf, "\x00"))
			}
		})
	}
}

// TestOpsClosedFD: an fd closed behind a task's back while its Recv is in
// flight, and its number reused at once by a new socket that another task
// receives from: no completion goes to the wrong task. The first task
// gets ErrBadFD once the kernel sees the fd closed, or, under uring,
// whose request holds the old file open, what arrives on the old socket;
// never the new socket's bytes.
func TestOpsClosedFD(t *testing.T) {
	setSweep(t, 10*time.Millisecond)
	eachPoller(t, func(t *testing.T, poller string) {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(p[1])
		fd := p[0]
		var first error
		var firstGot, second []byte
		k := New(withPoller(poller))
		k.Spawn(Go(func(s *Sys) {
			var b []byte
			b, first = s.RecvLent(fd)
			firstGot = append(firstGot, b...)
		}))
		k.Spawn(Go(func(s *Sys) {
			s.Sleep(5 * time.Millisecond)
			unix.Close(fd) // behind the first task's back
			// The next socket gets the same number.
			q, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer unix.Close(q[0])
			defer unix.Close(q[1])
			if q[0] != fd {
				t.Logf("fd %d not reused (got %d, %d)", fd, q[0], q[1])
			}
			unix.Write(q[1], []byte("second"))
			b, err := s.RecvLent(q[0])
			if err != nil {
				t.Errorf("RecvLent on the new socket: %v", err)
			}
			second = append(second, b...)
			unix.Write(p[1], []byte("to the old socket")) // nobody's
			s.Sleep(50 * time.Millisecond)
		}))
		run(t, k)
		if first != ErrBadFD && !(poller == "uring" && first == nil && string(firstGot) == "to the old socket") {
			t.Errorf("RecvLent on an fd closed behind its back: %q, %v; want ErrBadFD", firstGot, first)
		}
		if string(second) != "second" {
			t.Errorf("the task on the reused fd received %q, want \"second\"", second)
		}
	})
}

// TestOpsIdleHoldNoBuffer: tasks waiting in RecvLent hold no lent buffer:
// under uring every provided buffer stays in the ring, under the others
// the pool is not even touched.
func TestOpsIdleHoldNoBuffer(t *testing.T) {
	eachPoller(t, func(t *testing.T, poller string) {
		const n = 200
		k := New(withPoller(poller))
		var fds []int
		for range n {
			a, b := socketpair(t)
			fds = append(fds, b)
			k.Spawn(Go(func(s *Sys) { s.RecvLent(a) }))
		}
		var held int
		k.Spawn(Go(func(s *Sys) {
			s.Sleep(20 * time.Millisecond)
			held = k.lentNow()
			for _, b := range fds {
				unix.Shutdown(b, unix.SHUT_WR)
			}
		}))
		run(t, k)
		if held != 0 {
			t.Errorf("%d idle tasks in RecvLent hold %d lent buffers, want 0", n, held)
		}
	})
}

// TestCheckPoller: unknown names are refused with the list; uring is
// refused only with a cause; auto always works and runs tasks.
func TestCheckPoller(t *testing.T) {
	if err := CheckPoller("kqueue"); err == nil {
		t.Error("CheckPoller(kqueue) = nil")
	}
	if err := CheckPoller("auto"); err != nil {
		t.Errorf("CheckPoller(auto) = %v", err)
	}
	err := CheckPoller("uring")
	if err != nil {
		t.Logf("uring here: %v", err)
		for _, want := range []string{"io_uring"} {
			if !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("CheckPoller(uring) = %v: does not say %q", err, want)
			}
		}
	}
	a, b := socketpair(t)
	k := New(WithPoller("auto"))
	var got []byte
	k.Spawn(Go(func(s *Sys) { got, _ = s.RecvLent(a); got = append([]byte(nil), got...) }))
	unix.Write(b, []byte("auto"))
	run(t, k)
	if string(got) != "auto" {
		t.Errorf("auto poller: received %q", got)
	}
	k = New(WithPoller("kqueue"))
	k.Spawn(Go(func(s *Sys) {}))
	if err := k.Run(); err == nil {
		t.Error("Run with poller kqueue succeeded")
	}
}

// TestUringSetupErrors: the causes io_uring_setup's errors are reported
// with.
func TestUringSetupErrors(t *testing.T) {
	for errno, want := range map[unix.Errno]string{
		unix.ENOSYS: "no io_uring_setup",
		unix.EPERM:  "not permitted",
		unix.ENOMEM: "RLIMIT_MEMLOCK",
	} {
		if got := uringSetupError(errno).Error(); !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("%v: %q, want it to say %q", errno, got, want)
		}
	}
	_ = fmt.Sprint
	_ = os.Getpid
}

// TestOpsStarved: 40 connections echo at once through two lent buffers
// (under uring: receives find the ring empty, ENOBUFS, and are retried as
// buffers come back); every byte comes back.
func TestOpsStarved(t *testing.T) {
	setLendRing(t, 2)
	eachPoller(t, func(t *testing.T, poller string) {
		const conns, rounds = 40, 20
		k := New(withPoller(poller))
		var peers []int
		for range conns {
			a, b := socketpair(t)
			peers = append(peers, b)
			k.Spawn(Go(func(s *Sys) {
				for {
					buf, err := s.RecvLent(a)
					if err != nil || len(buf) == 0 {
						return
					}
					if _, err := s.Send(a, buf); err != nil {
						return
					}
				}
			}))
		}
		bad := 0
		k.Spawn(Go(func(s *Sys) {
			for r := range rounds {
				for i, b := range peers {
					unix.Write(b, []byte(fmt.Sprintf("%03d:%03d", i, r)))
				}
				for i, b := range peers {
					want := fmt.Sprintf("%03d:%03d", i, r)
					got := make([]byte, 0, 7)
					for len(got) < 7 {
						buf, err := s.RecvLent(b)
						if err != nil || len(buf) == 0 {
							t.Errorf("peer %d: %v", i, err)
							return
						}
						got = append(got, buf...)
					}
					if string(got) != want {
						bad++
					}
				}
			}
			for _, b := range peers {
				unix.Shutdown(b, unix.SHUT_WR)
			}
		}))
		run(t, k)
		if bad != 0 {
			t.Errorf("%d echoes wrong", bad)
		}
		if poller == "uring" && k.enobufs == 0 {
			t.Error("no receive found the ring empty: the test does not test starving")
		}
		t.Logf("%d receives found no buffer", k.enobufs)
	})
}
