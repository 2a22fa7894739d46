//go:build linux

package kernel

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketpair returns a connected pair of non-blocking stream sockets,
// closed when the test ends.
func socketpair(t *testing.T) (a, b int) {
	t.Helper()
	p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	return p[0], p[1]
}

// TestSendRecv sends a buffer much larger than the socket buffers from one
// task to another, with the step sub-machines and with the Go functions,
// and checks the bytes, the EOF and the error results.
func TestSendRecv(t *testing.T) {
	msg := make([]byte, 4<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	for _, kind := range []string{"go", "step"} {
		eachPoller(t, func(t *testing.T, poller string) {
			a, b := socketpair(t)
			var got []byte
			var sent, eof, bad int64 = -100, -100, -100
			k := New(withPoller(poller))
			if kind == "go" {
				k.Spawn(Go(func(s *Sys) {
					n, err := GoSend(s, a, msg)
					if err != nil {
						t.Errorf("GoSend: %v", err)
					}
					sent = int64(n)
					unix.Shutdown(a, unix.SHUT_WR)
				}))
				k.Spawn(Go(func(s *Sys) {
					buf := make([]byte, 65536)
					for {
						n, err := GoRecv(s, b, buf)
						if err != nil {
							t.Errorf("GoRecv: %v", err)
						}
						if n == 0 {
							eof = 0
							break
						}
						got = append(got, buf[:n]...)
					}
					_, err := GoRecv(s, -1, buf)
					if err != ErrBadFD {
						t.Errorf("GoRecv(-1) = %v, want ErrBadFD", err)
					}
					bad = int64(CodeBadFD)
				}))
			} else {
				pc := 0
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					pc++
					if pc == 1 {
						return Call(Send(a, msg))
					}
					sent = r
					unix.Shutdown(a, unix.SHUT_WR)
					return Exit(0)
				})))
				buf := make([]byte, 65536)
				started, done := false, false
				k.Spawn(Step(StepFunc(func(r int64) Trap {
					switch {
					case !started:
						started = true
					case done:
						bad = r
						return Exit(0)
					case r == 0:
						eof, done = 0, true
						return Call(Recv(-1, buf))
					case r > 0:
						got = append(got, buf[:r]...)
					default:
						t.Errorf("Recv: %v", Err(r))
						return Exit(r)
					}
					return Call(Recv(b, buf))
				})))
			}
			run(t, k)
			if sent != int64(len(msg)) || !bytes.Equal(got, msg) || eof != 0 {
				t.Errorf("%s: sent %d, received %d bytes (equal %v), eof %d; want %d, %d, true, 0",
					kind, sent, len(got), bytes.Equal(got, msg), eof, len(msg), len(msg))
			}
			if Code(bad) != CodeBadFD {
				t.Errorf("%s: Recv(-1) = %d, want CodeBadFD", kind, bad)
			}
		})
	}
}

// TestEchoServerEnds closes the listener under a running echo server: the
// server task ends.
func TestEchoServerEnds(t *testing.T) {
	for kind, server := range map[string]func(int) Task{"go": GoEchoServer, "step": StepEchoServer, "go-ops": GoEchoServerOps, "step-ops": StepEchoServerOps} {
		eachPoller(t, func(t *testing.T, poller string) {
			lfd, _, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			k := New(withPoller(poller), WithLog(&out))
			setSweep(t, 10*time.Millisecond)
			k.Spawn(server(lfd))
			k.Spawn(Go(func(s *Sys) {
				s.Sleep(5 * time.Millisecond)
				unix.Close(lfd)
			}))
			run(t, k)
			if out.String() != "Task 2 terminated\nTask 1 terminated\n" {
				t.Errorf("%s: log %q", kind, out.String())
			}
		})
	}
}

// TestEchoServerStop: Stop ends the server and its connections, whose
// peers see the connections closed.
func TestEchoServerStop(t *testing.T) {
	for kind, server := range map[string]func(int) Task{"go": GoEchoServer, "step": StepEchoServer, "go-ops": GoEchoServerOps, "step-ops": StepEchoServerOps} {
		eachPoller(t, func(t *testing.T, poller string) {
			lfd, addr, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			k := New(withPoller(poller))
			k.Spawn(server(lfd))
			done := make(chan error)
			go func() { done <- k.Run() }()
			var conns []net.Conn
			for i := range 5 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				msg := strings.Repeat("x", i+1)
				io.WriteString(c, msg)
				buf := make([]byte, len(msg))
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
					t.Fatalf("%s: echo %q, %v", kind, buf, err)
				}
				conns = append(conns, c)
			}
			k.Stop()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			for i, c := range conns {
				if n, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("%s: connection %d after Stop: read %d, %v; want EOF", kind, i, n, err)
				}
			}
			if fdOpen(lfd) {
				t.Errorf("%s: listener fd %d still open", kind, lfd)
			}
			checkEmpty(t, k)
		})
	}
}

func TestListen(t *testing.T) {
	fd, addr, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Errorf("bound address %q", addr)
	}
	for _, bad := range []string{"localhost:99999", "no-such-host.invalid:80", "127.0.0.1", "", addr} {
		if fd, _, err := Listen(bad); err == nil {
			unix.Close(fd)
			t.Errorf("Listen(%q) succeeded", bad)
		}
	}
	if fd6, addr6, err := Listen("[::1]:0"); err == nil {
		unix.Close(fd6)
		if !strings.HasPrefix(addr6, "[::1]:") {
			t.Errorf("IPv6 bound address %q", addr6)
		}
	}
}
